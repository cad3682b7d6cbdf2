"""The dataset in ML Commons Croissant 1.0 (croissant.json): mlcroissant validates it and reads its records
offline, from the folder itself: the splits, the index rows (parquet) and one record per image and label
file (reading a ``image/tiff`` FileSet needs tifffile, which mlcroissant imports to decode the files)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from geetiles.export.croissant import CONTEXT
from tests.export.test_stage_identifiers import _export
from tests.hostile import PLAIN, hostile_tiles


def import_mlcroissant():
    """mlcroissant, its absl log handler pointed at the process's own stderr. absl binds the handler to
    the ``sys.stderr`` of its import, here pytest's capture; Hydra's ``logging.config.dictConfig`` (every
    later in-process run) closes every handler ever made, and absl's ``close`` closes its stream unless
    it is one of the ``sys`` streams: pytest's capture file, and the session with it."""
    import sys

    mlc = pytest.importorskip("mlcroissant")
    import absl.logging

    absl.logging.get_absl_handler().python_handler.stream = sys.__stderr__
    return mlc


def dataset(root):
    """mlcroissant's Dataset of the folder, checked: no validation error or warning."""
    loaded = import_mlcroissant().Dataset(str(root / "croissant.json"))
    assert not loaded.metadata.ctx.issues.errors, loaded.metadata.ctx.issues.report()
    assert not loaded.metadata.ctx.issues.warnings, loaded.metadata.ctx.issues.report()
    return loaded


def text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def test_the_context_is_croissant_1_0s():
    import_mlcroissant()
    from mlcroissant._src.core.rdf import make_context

    assert CONTEXT == make_context()


def test_mlcroissant_validates_and_reads_the_index_rows(exported_demo):
    loaded = dataset(exported_demo)
    index = pq.read_table(exported_demo / "chips.parquet")
    records = list(loaded.records("chips"))
    assert len(records) == index.num_rows
    by_id = {text(r["chips/identifier"]): r for r in records}
    for row in index.to_pylist():
        record = by_id[row["identifier"]]
        assert text(record["chips/split"]) == row["split"]
        assert record["chips/width"] == row["width"] and text(record["chips/image_path"]) == row["image_path"]
        classes = [c for c in row if c.startswith("demo-landcover_class_")]
        assert classes and all(record[f"chips/{c}"] == pytest.approx(row[c]) for c in classes)
    meta = json.loads(index.schema.metadata[b"geetiles"])
    assert [text(r["splits/name"]) for r in loaded.records("splits")] == meta["splits"]
    document = json.loads((exported_demo / "croissant.json").read_text())
    assert document["license"] == meta["config"]["export"]["license"]  # "other": no SPDX page to link


def test_the_file_record_sets_list_every_image_and_label(exported_demo):
    pytest.importorskip("tifffile", reason="mlcroissant decodes image/tiff files with tifffile to list them")
    loaded = dataset(exported_demo)
    index = pq.read_table(exported_demo / "chips.parquet").to_pylist()
    for role in ("images", "labels"):
        records = list(loaded.records(role))
        paths = {text(r[f"{role}/identifier"]): text(r[f"{role}/path"]) for r in records}
        assert sorted(paths) == sorted(row["identifier"] for row in index)
        for row in index:
            column = "image_path" if role == "images" else "label_path"
            assert paths[row["identifier"]] == str(exported_demo / row[column])


def test_the_index_file_carries_its_checksum(exported_demo):
    import hashlib

    document = json.loads((exported_demo / "croissant.json").read_text())
    [index] = [d for d in document["distribution"] if d["@type"] == "cr:FileObject"]
    assert index["sha256"] == hashlib.sha256((exported_demo / "chips.parquet").read_bytes()).hexdigest()
    assert {d["includes"] for d in document["distribution"] if d["@type"] == "cr:FileSet"} == {
        "images/*.tif",
        "labels/*.tif",
    }


@pytest.mark.parametrize("split", [None, "test"])
def test_no_labels_one_split_and_dotted_identifiers(tmp_path, split):
    pytest.importorskip("tifffile", reason="mlcroissant decodes image/tiff files with tifffile to list them")
    tiles = hostile_tiles(tmp_path, "a.b-c_d..e", split=None if split is None else [split] * (len(PLAIN) + 1))
    _export(tiles, "geotiff", "export.license=CC-BY-4.0")
    root = tiles.with_name(f"{tiles.stem}_dataset")
    loaded = dataset(root)
    names = [rs.name for rs in loaded.metadata.record_sets]
    assert names == ["splits", "chips", "images"]  # no labels record set, no labels FileSet
    assert [text(r["splits/name"]) for r in loaded.records("splits")] == [split or "all"]
    chips = list(loaded.records("chips"))
    assert sorted(text(r["chips/identifier"]) for r in chips) == sorted([*PLAIN, "a.b-c_d..e"])
    assert {text(r["chips/split"]) for r in chips} == {split or "all"}
    images = {text(r["images/identifier"]) for r in loaded.records("images")}
    assert images == {*PLAIN, "a.b-c_d..e"}  # the regex keeps the dots of the identifier
    document = json.loads((root / "croissant.json").read_text())
    assert document["license"] == "https://spdx.org/licenses/CC-BY-4.0.html"
