"""The dataset as STAC (stac/collection.json, stac/items.parquet), checked offline with the libraries people
load it with: stac-pydantic validates the Collection and every Item, pystac reads them back (with its
projection and raster extensions), stac-geoparquet reads the Items; every Item agrees with the index row
and the files it points at. The JSON schemas of STAC and its extensions cannot be fetched here (see README)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from geetiles.export.stac import write_stac
from geetiles.export.stac.collection import item_times, source_dates
from geetiles.export.stac.items import item_batches, item_dict
from tests.export.test_stage_identifiers import _export
from tests.hostile import PLAIN, hostile_tiles

pystac = pytest.importorskip("pystac")
stac_pydantic = pytest.importorskip("stac_pydantic")
stac_geoparquet_arrow = pytest.importorskip("stac_geoparquet.arrow")


def items_of(root: Path) -> list[dict]:
    return list(stac_geoparquet_arrow.stac_table_to_items(pq.read_table(root / "stac" / "items.parquet")))


def index_rows(root: Path) -> dict[str, dict]:
    return {row["identifier"]: row for row in pq.read_table(root / "chips.parquet").to_pylist()}


def test_the_collection_validates_and_describes_the_index(exported_demo):
    path = exported_demo / "stac" / "collection.json"
    document = json.loads(path.read_text())
    stac_pydantic.Collection.model_validate(document)
    collection = pystac.Collection.from_file(str(path))
    index = pq.read_table(exported_demo / "chips.parquet")
    meta = json.loads(index.schema.metadata[b"geetiles"])
    boxes = index["bbox"].to_pylist()
    expected = [
        min(b["xmin"] for b in boxes),
        min(b["ymin"] for b in boxes),
        max(b["xmax"] for b in boxes),
        max(b["ymax"] for b in boxes),
    ]
    assert collection.extent.spatial.bboxes == [expected]
    assert collection.license == meta["config"]["export"]["license"]
    assert collection.summaries.get_list("geetiles:split") == meta["splits"]
    assert sorted(collection.summaries.get_list("ml-aoi:split")) == sorted(
        {"train": "train", "val": "validate", "test": "test"}[s] for s in meta["splits"]
    )
    assert [c["value"] for c in collection.summaries.get_list("classification:classes")] == [
        c["code"] for c in meta["labels"]["classes"]
    ]
    assert collection.summaries.get_list("geetiles:image_bands") == meta["images"]["bands"]
    assert document["geetiles:chips"] == index.num_rows
    assert (path.parent / document["assets"]["items"]["href"]).resolve() == (exported_demo / "stac/items.parquet")
    assert document["assets"]["items"]["roles"] == ["stac-items"]


def test_every_item_validates_and_matches_its_index_row_and_files(exported_demo):
    import rasterio
    from affine import Affine
    from pystac.extensions.projection import ProjectionExtension
    from pystac.extensions.raster import RasterExtension

    rows = index_rows(exported_demo)
    items = items_of(exported_demo)
    assert sorted(i["id"] for i in items) == sorted(rows)
    for document in items:
        stac_pydantic.Item.model_validate(document)
        item = pystac.Item.from_dict(document)
        row = rows[item.id]
        projection = ProjectionExtension.ext(item)
        assert projection.code == row["crs"] and projection.shape == [row["height"], row["width"]]
        assert item.properties["geetiles:split"] == row["split"]
        assert item.properties["label:type"] == "raster"
        assert item.bbox == [row["bbox"][k] for k in ("xmin", "ymin", "xmax", "ymax")]
        for key, role in (("image", "image"), ("label", "label")):
            asset = item.assets[key]
            path = (exported_demo / "stac" / asset.href).resolve()
            assert path == (exported_demo / row[f"{role}_path"]).resolve()
            assert asset.extra_fields["file:checksum"] == "1220" + hashlib.sha256(path.read_bytes()).hexdigest()
            with rasterio.open(path) as raster:
                assert Affine(*projection.transform[:6]) == raster.transform  # affine order, not GDAL's
                assert [b.data_type for b in RasterExtension.ext(asset).bands] == list(raster.dtypes)
                assert [b["name"] for b in asset.extra_fields["bands"]] == list(raster.descriptions)
                assert RasterExtension.ext(asset).bands[0].nodata == raster.nodata
        assert {c["value"] for c in item.assets["label"].extra_fields["classification:classes"]} == set(
            item.properties["label:classes"][0]["classes"]
        )


def test_the_vectorised_items_equal_stac_geoparquets_own_parse_of_the_item_dicts(exported_demo):
    """The writer builds Arrow columns directly; the library, given the same Items as dicts, makes the
    same table (schema and values)."""
    import shapely

    meta = json.loads(pq.read_schema(exported_demo / "chips.parquet").metadata[b"geetiles"])
    written = pq.read_table(exported_demo / "stac" / "items.parquet")
    collection = json.loads((exported_demo / "stac" / "collection.json").read_text())
    times = {
        k: written[k][0].as_py().strftime("%Y-%m-%dT%H:%M:%SZ") for k in ("datetime",) if k in written.column_names
    }
    dicts = []
    for row in pq.read_table(exported_demo / "chips.parquet").to_pylist():
        row["geometry"] = shapely.from_wkb(row["geometry"]).__geo_interface__
        row["bbox"] = [row["bbox"][k] for k in ("xmin", "ymin", "xmax", "ymax")]
        dicts.append(item_dict(meta, row, collection["id"], times))
    theirs = stac_geoparquet_arrow.parse_stac_items_to_arrow(dicts).read_all()
    assert theirs.schema.remove_metadata() == written.schema.remove_metadata()
    assert theirs.drop_columns(["geometry"]).equals(written.drop_columns(["geometry"]))
    assert [
        shapely.from_wkb(g).equals(shapely.from_wkb(h))
        for g, h in zip(theirs["geometry"].to_pylist(), written["geometry"].to_pylist())
    ] == [True] * written.num_rows
    metadata = json.loads(written.schema.metadata[b"stac-geoparquet"])
    assert metadata["collections"][collection["id"]] == collection


def test_small_batches_give_the_same_items(exported_demo):
    meta = json.loads(pq.read_schema(exported_demo / "chips.parquet").metadata[b"geetiles"])
    times = {"datetime": "2024-01-01T00:00:00Z"}
    one = list(item_batches(exported_demo / "chips.parquet", meta, "c", times))
    many = list(item_batches(exported_demo / "chips.parquet", meta, "c", times, batch_rows=5))
    assert len(one) == 1 and len(many) == -(-one[0].num_rows // 5)
    import pyarrow as pa

    assert pa.Table.from_batches(many).equals(pa.Table.from_batches(one))


def test_the_manifest_covers_stac_and_croissant(exported_demo):
    listed = {line.split("  ", 1)[1] for line in (exported_demo / "MANIFEST.sha256").read_text().splitlines()}
    assert {"stac/collection.json", "stac/items.parquet", "croissant.json"} <= listed
    for name in ("stac/collection.json", "stac/items.parquet", "croissant.json"):
        line = next(x for x in (exported_demo / "MANIFEST.sha256").read_text().splitlines() if x.endswith(f"  {name}"))
        assert line.split()[0] == hashlib.sha256((exported_demo / name).read_bytes()).hexdigest()


@pytest.mark.parametrize("split", [None, "train"])
def test_no_labels_one_split_and_dotted_identifiers(tmp_path, split):
    """A dataset without labels, all chips in one split (``all`` when the tiles file has none, which
    ml-aoi cannot name), an identifier with dots and dashes."""
    tiles = hostile_tiles(tmp_path, "a.b-c_d..e", split=None if split is None else [split] * (len(PLAIN) + 1))
    _export(tiles, "geotiff")
    root = tiles.with_name(f"{tiles.stem}_dataset")
    collection = json.loads((root / "stac" / "collection.json").read_text())
    stac_pydantic.Collection.model_validate(collection)
    items = items_of(root)
    assert sorted(i["id"] for i in items) == sorted([*PLAIN, "a.b-c_d..e"])
    for document in items:
        stac_pydantic.Item.model_validate(document)
        item = pystac.Item.from_dict(document)
        assert set(item.assets) == {"image"} and "label:type" not in item.properties
        assert item.properties["geetiles:split"] == (split or "all")
        assert ("ml-aoi:split" in item.properties) == (split == "train")
        assert (root / "stac" / item.assets["image"].href).resolve().is_file()
        assert not any("label" in e or "ml-aoi" in e for e in item.stac_extensions) or split == "train"
    assert "label:classes" not in collection["summaries"]
    assert collection["summaries"]["geetiles:split"] == [split or "all"]


def test_times_come_from_the_sources_dates_end_exclusive():
    import datetime as dt

    config = {
        "source": {"recipe": {"start": "2020-01-01", "end": "2021-01-01"}},
        "labels": {"recipe": {"start": "2019-06-01", "end": "2020-06-01"}},
    }
    assert source_dates(config) == (
        dt.datetime(2019, 6, 1, tzinfo=dt.UTC),
        dt.datetime(2020, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
    )
    assert item_times(config, dt.datetime(2030, 1, 1, tzinfo=dt.UTC)) == {
        "datetime": None,
        "start_datetime": "2019-06-01T00:00:00Z",
        "end_datetime": "2020-12-31T23:59:59Z",
    }
    unknown = {"source": {"kind": "demo", "recipe": None}, "labels": {"recipe": {"start": "soon", "end": "later"}}}
    assert item_times(unknown, dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)) == {"datetime": "2030-01-02T03:04:05Z"}


def test_dated_sources_give_item_ranges_and_a_closed_temporal_extent(exported_demo, tmp_path):
    import shutil

    import pyarrow as pa

    root = tmp_path / "copy"
    shutil.copytree(exported_demo, root)
    table = pq.read_table(root / "chips.parquet")
    meta = json.loads(table.schema.metadata[b"geetiles"])
    meta["config"]["source"]["recipe"] = {"start": "2020-01-01", "end": "2021-01-01"}
    table = table.replace_schema_metadata({**table.schema.metadata, b"geetiles": json.dumps(meta).encode()})
    pq.write_table(table, root / "chips.parquet")
    write_stac(root, "CC-BY-4.0")
    collection = pystac.Collection.from_file(str(root / "stac" / "collection.json"))
    assert collection.license == "CC-BY-4.0"
    interval = collection.extent.temporal.intervals[0]
    assert [t.isoformat() for t in interval] == ["2020-01-01T00:00:00+00:00", "2020-12-31T23:59:59+00:00"]
    items = items_of(root)
    assert isinstance(pq.read_table(root / "stac" / "items.parquet")["start_datetime"].type, pa.TimestampType)
    for document in items[:3]:
        item = pystac.Item.from_dict(stac_pydantic.Item.model_validate(document).model_dump(mode="json"))
        assert item.datetime is None and item.common_metadata.start_datetime == interval[0]
    assert np.all([d["properties"]["end_datetime"].startswith("2020-12-31T23:59:59") for d in items])


def test_two_exports_of_the_same_chips_write_the_same_stac_and_croissant_bytes(dataset, monkeypatch):
    """The dates come from the download record, not the export's clock: the same chips, the same bytes."""
    import datetime as dt

    from tests.export.test_stage import export

    folder = dataset.with_name(f"{dataset.stem}_dataset")
    export(dataset)
    first = {
        name: (folder / name).read_bytes() for name in ("stac/items.parquet", "stac/collection.json", "croissant.json")
    }

    class Later(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2031, 1, 1, tzinfo=tz)

    monkeypatch.setattr(dt, "datetime", Later)
    export(dataset)
    again = {name: (folder / name).read_bytes() for name in first}
    assert again == first
    collection = json.loads(first["stac/collection.json"])
    assert "2031" not in first["stac/collection.json"].decode() and collection["type"] == "Collection"
    assert "2031" not in again["croissant.json"].decode()
