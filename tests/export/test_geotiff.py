"""export=geotiff: COGs in their native dtype, a GeoParquet index, checksums, a dataset card, a zip
GDAL reads in place, reruns that replace the folder consistently, and refusals that write nothing."""

import hashlib
import json
import zipfile

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import pytest
import rasterio
import yaml

from tests.conftest import files_under, geetiles_cmd
from tests.in_process import run_in_process


def export(tiles, *extra):
    return run_in_process(
        geetiles_cmd(
            "stages=[export]",
            f"export.tiles_file={tiles}",
            "source=demo",
            "labels=demo",
            "download.progress=none",
            f"hydra.run.dir={tiles.parent.parent / 'runs'}",
            *extra,
        ),
        tiles.parent,
    )


def dest_of(tiles):
    return tiles.with_name(f"{tiles.stem}_dataset")


def test_the_folder_holds_cogs_an_index_checksums_and_a_card(dataset):
    result = export(dataset)
    assert result.returncode == 0, result.stderr[-3000:]
    dest = dest_of(dataset)
    index = gpd.read_parquet(dest / "chips.parquet")
    tiles = gpd.read_parquet(dataset.with_suffix(".parquet"))
    assert index.crs.to_epsg() == 4326 and len(index) == len(tiles) >= 12
    assert list(index["identifier"]) == list(tiles["identifier"])
    geo = json.loads(pq.read_schema(dest / "chips.parquet").metadata[b"geo"])
    assert geo["version"] == "1.1.0" and "covering" in geo["columns"]["geometry"]
    assert pq.ParquetFile(dest / "chips.parquet").metadata.row_group(0).column(0).compression == "ZSTD"
    info = json.loads(pq.read_schema(dest / "chips.parquet").metadata[b"geetiles"])
    assert info["images"]["bands"] == ["red", "green", "blue"] and info["labels"]["dtype"] == "uint8"
    assert {c["code"] for c in info["labels"]["classes"]} >= {10, 30} and info["config"]["split"]["kind"] == "blocks"
    assert set(index["split"]) <= {"train", "val", "test"}
    assert np.allclose(index["demo-landcover_class_10"], tiles["demo-landcover_class_10"])
    row = index.iloc[0]
    with (
        rasterio.open(dest / row["image_path"]) as image,
        rasterio.open(dataset.with_suffix("") / "demo-imagery" / f"{row['identifier']}.tif") as original,
    ):
        assert image.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert image.dtypes == original.dtypes and image.descriptions == ("red", "green", "blue")
        assert (
            (image.read() == original.read()).all()
            and image.transform == original.transform
            and image.crs == original.crs
        )
        assert image.nodata == original.nodata
    with rasterio.open(dest / row["label_path"]) as label:
        assert label.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and label.colormap(1)[10][:3] == (0, 100, 0)
    assert row["centre_lon"] == pytest.approx(row.geometry.centroid.x) and row["width"] == 24
    # every file's checksum, and the index's own per-file hashes
    lines = (dest / "MANIFEST.sha256").read_text().splitlines()
    listed = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in lines}
    on_disk = {p.relative_to(dest).as_posix() for p in files_under(dest)} - {"MANIFEST.sha256"}
    assert set(listed) == on_disk
    for relative, digest in listed.items():
        assert hashlib.sha256((dest / relative).read_bytes()).hexdigest() == digest, relative
    assert index["image_sha256"].tolist() == [listed[p] for p in index["image_path"]]
    card = (dest / "README.md").read_text()
    header = yaml.safe_load(card.split("---")[1])
    assert header["license"] == "other"
    assert {f["split"] for f in header["configs"][0]["data_files"]} == set(index["split"])
    assert "Tree cover" in card and "blocks" in card and "SYNTHETIC" in card
    assert yaml.safe_load((dest / "config.yaml").read_text())["export"]["formats"] == ["geotiff"]


def test_the_loader_returns_the_arrays_of_a_split(dataset):
    from geetiles.dataset import ChipDataset

    assert export(dataset).returncode == 0
    dest = dest_of(dataset)
    index = gpd.read_parquet(dest / "chips.parquet")
    split = index["split"].value_counts().idxmax()
    chips = ChipDataset(dest, split=split)
    assert len(chips) == (index["split"] == split).sum()
    sample = chips[0]
    identifier = sample["identifier"]
    with rasterio.open(dataset.with_suffix("") / "demo-imagery" / f"{identifier}.tif") as image:
        assert (sample["image"] == image.read()).all() and sample["image"].dtype == np.uint8
    with rasterio.open(dataset.with_suffix("") / "demo-landcover" / f"{identifier}.tif") as label:
        assert (sample["label"] == label.read(1)).all()
    row = index[index["identifier"] == identifier].iloc[0]
    assert sample["proportions"] == pytest.approx([row[f"demo-landcover_class_{c.key}"] for c in chips.classes])
    assert sample["split"] == split and sample["bounds"].shape == (4,)
    with pytest.raises(ValueError, match="not in"):
        ChipDataset(dest, split="nope")


def test_a_rerun_replaces_the_folder_and_the_zip_is_read_in_place(dataset):
    assert export(dataset).returncode == 0
    dest = dest_of(dataset)
    first = {p.relative_to(dest): p.read_bytes() for p in files_under(dest)}
    (dest / "images" / "stale.tif").write_bytes(b"old")
    result = export(dataset, "export.zip=true")
    assert result.returncode == 0, result.stderr[-2000:]
    second = {p.relative_to(dest): p.read_bytes() for p in files_under(dest)}
    assert not (dest / "images" / "stale.tif").exists()
    assert {k for k in first if k.name not in ("config.yaml", "MANIFEST.sha256")} == {
        k for k in second if k.name not in ("config.yaml", "MANIFEST.sha256")
    }
    assert all(first[k] == second[k] for k in first if str(k).startswith(("images", "labels")))
    archive = dest.with_suffix(".zip")
    with zipfile.ZipFile(archive) as z:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
        member = next(n for n in z.namelist() if n.startswith(f"{dest.name}/images/"))
    with rasterio.open(f"/vsizip/{archive}/{member}") as image:
        assert image.count == 3 and image.read().any()
    assert not list(dest.parent.glob(f".{dest.name}.*"))  # no building or old folders left


def test_a_corrupt_chip_refuses_the_export_and_writes_nothing(dataset):
    chips = dataset.with_suffix("") / "demo-imagery"
    victim = sorted(chips.glob("*.tif"))[3]
    data = bytearray(victim.read_bytes())
    data[-10] ^= 0xFF
    victim.write_bytes(bytes(data))
    count = len(gpd.read_parquet(dataset.with_suffix(".parquet")))
    before = files_under(dataset.parent)
    result = export(dataset)
    assert result.returncode != 0 and f"1 of {count} chips are missing or corrupt" in result.stderr
    assert victim.stem in result.stderr and "Traceback" not in result.stderr
    assert files_under(dataset.parent) == before
    result = export(dataset, "export.on_missing=skip")
    assert result.returncode not in (0, 2), "left-out chips still fail the run"
    dest = dest_of(dataset)
    assert (
        len(gpd.read_parquet(dest / "chips.parquet")) == count - 1 and victim.stem in (dest / "skipped.csv").read_text()
    )


@pytest.mark.parametrize(
    "problem", ["before download", "labels of another tiles file", "missing split column", "dest in chips"]
)
def test_bad_input_is_one_line_and_writes_nothing(dataset, problem):
    extra = []
    if problem == "before download":
        extra = ["export.images=sentinel2-rgb-median-2020"]
    elif problem == "labels of another tiles file":
        record = dataset.with_suffix("") / "demo-landcover" / "manifest.geetiles.yaml"
        record.write_text(record.read_text().replace(dataset.name, "other_partitions_aschips_0000000000000.geojson"))
    elif problem == "missing split column":
        extra = ["export.splits=split_communes"]
    else:
        extra = [f"export.dest={dataset.with_suffix('') / 'demo-imagery' / 'out'}"]
    before = {p: p.read_bytes() for p in files_under(dataset.parent)}
    result = export(dataset, *extra)
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    expected = {
        "before download": "the download stage makes the chips",
        "labels of another tiles file": "was downloaded for",
        "missing split column": "is not a column of the tiles file",
        "dest in chips": "would overwrite the downloaded chips",
    }
    assert expected[problem] in result.stderr
    assert {p: p.read_bytes() for p in files_under(dataset.parent)} == before


def test_a_refusal_that_stops_at_the_first_bad_chip_still_counts_them_all(dataset, monkeypatch):
    import geetiles.export.geotiff as geotiff
    import geetiles.export.stage as stage

    monkeypatch.setattr(geotiff, "BATCH", 2)  # the writer stops after the first bad chip's batch
    real, checked = stage.verify_both, []
    monkeypatch.setattr(stage, "verify_both", lambda *args: checked.append(args) or real(*args))
    chips = dataset.with_suffix("") / "demo-landcover"
    victims = sorted(chips.glob("*.tif"))[1::5]
    for victim in victims:
        victim.unlink()
    count = len(gpd.read_parquet(dataset.with_suffix(".parquet")))
    before = files_under(dataset.parent)
    result = export(dataset)
    assert result.returncode != 0 and f"{len(victims)} of {count} chips are missing or corrupt" in result.stderr
    assert "demo-landcover: missing" in result.stderr and "Traceback" not in result.stderr
    assert files_under(dataset.parent) == before
    assert checked, "the writer stopped at the first bad chip and every chip was checked for the message"


@pytest.mark.parametrize("workers", [1, pytest.param(2, marks=pytest.mark.slow)])  # 2: a process pool
def test_chips_checked_while_writing_fail_as_the_check_before_writing(dataset, tmp_path, monkeypatch, workers):
    """One read of each chip: the writer's checks name the same chips with the same reasons, in the same
    order, as selection.verify; a chip that fails has no file written; writing can stop at the first."""
    import geetiles.export.geotiff as geotiff
    from geetiles.export.inputs import ExportInput, RecordedChecks
    from geetiles.export.selection import dataset_info, recorded_checksums
    from geetiles.export.stage import verify_both

    images, labels = dataset_info(dataset, "demo-imagery", "images"), dataset_info(dataset, "demo-landcover", "labels")
    identifiers = np.asarray(sorted(p.stem for p in images.folder.glob("*.tif")), dtype=object)
    checks = RecordedChecks(*recorded_checksums(images, identifiers), *recorded_checksums(labels, identifiers))
    (images.folder / f"{identifiers[1]}.tif").unlink()
    for folder, victim in (
        (labels.folder, identifiers[1]),
        (labels.folder, identifiers[4]),
        (images.folder, identifiers[6]),
    ):
        data = bytearray((folder / f"{victim}.tif").read_bytes())
        data[-10] ^= 0xFF
        (folder / f"{victim}.tif").write_bytes(bytes(data))
    expected = verify_both(images, labels, identifiers, 1)
    assert list(expected) == [identifiers[1], identifiers[6], identifiers[4]]
    inp = ExportInput(dataset, None, identifiers, None, images, labels, "x", 0, {}, checks=checks)
    monkeypatch.setattr(
        geotiff, "BATCH", 2
    )  # several batches, so a pool has work to share and writing has somewhere to stop
    written = geotiff.write_chips(inp, tmp_path / "out", workers=workers)
    assert written.problems == expected and list(written.problems) == list(expected)
    assert not written.stopped and list(written.identifiers) == [i for i in identifiers if i not in expected]
    assert sorted(p.stem for p in (tmp_path / "out" / "images").glob("*.tif")) == list(written.identifiers)
    assert sorted(p.stem for p in (tmp_path / "out" / "labels").glob("*.tif")) == list(written.identifiers)
    kept = written.identifiers[::2]
    assert list(written.without(kept).image_sha256) == written.image_sha256[::2]
    stopped = geotiff.write_chips(inp, tmp_path / "stopped", workers=1, stop_at_problem=True)
    assert stopped.stopped and list(stopped.problems) == [identifiers[1]]
    assert len(list((tmp_path / "stopped" / "images").glob("*.tif"))) == 1  # the batch of the first problem only
