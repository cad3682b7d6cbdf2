"""The ``webdataset`` export as a whole: shards the ``webdataset`` library reads back in secure mode
(no pickles), every chip once in its split, ``shards.json``, reproducible bytes, reruns, and unreadable
chips named."""

from __future__ import annotations

import hashlib
import json
import math
import re
import tarfile

import numpy as np
import pytest

from geetiles.dataset.shards import iterate_shards
from geetiles.export.webdataset import write_webdataset
from geetiles.tiff import UnreadableChip
from tests.export.webdataset.synthetic import (
    CLASSES,
    SIDE,
    SPLITS,
    Progress,
    make_input,
    read_with_webdataset,
    reference,
)


def test_webdataset_reads_every_chip_back_in_secure_mode(chips, exported, wds):
    dest, summary = exported
    frame = chips.frame.set_index("identifier")
    for split, count in SPLITS.items():
        samples = read_with_webdataset(wds, dest, summary, split)
        keys = [s["__key__"] for s in samples]
        assert len(keys) == len(set(keys)) == count  # every chip exactly once
        assert set(keys) == set(chips.identifiers[chips.splits == split])
        for sample in samples:
            key = sample["__key__"]
            assert set(sample) - {"__url__", "__local_path__"} == {"__key__", "image.npy", "label.npy", "json"}
            pixels, label, transform, crs = reference(chips, key)
            assert sample["image.npy"].dtype == np.uint16 and sample["image.npy"].shape == (3, SIDE, SIDE)
            np.testing.assert_array_equal(sample["image.npy"], pixels)
            assert sample["label.npy"].dtype == np.uint8 and sample["label.npy"].shape == (SIDE, SIDE)
            np.testing.assert_array_equal(sample["label.npy"], label)
            meta, row = sample["json"], frame.loc[key]
            assert list(meta)[:10] == [
                "identifier",
                "split",
                "bounds",
                "centre_lon",
                "centre_lat",
                "centre_method",
                "crs",
                "transform_gdal",
                "width",
                "height",
            ]
            assert meta["identifier"] == key and meta["split"] == split
            assert meta["bounds"] == pytest.approx(list(row.geometry.bounds))
            assert meta["crs"] == crs and meta["transform_gdal"] == pytest.approx(list(transform))
            assert (meta["width"], meta["height"]) == (SIDE, SIDE)
            assert meta["class_keys"] == [10, 20] and "esa_proportions" not in meta
            assert meta["proportions"] == [row["esa_class_10"], row["esa_class_20"]]  # dense, class-table order
            valid = row["esa_valid_frac"]
            assert meta["valid_frac"] == (None if math.isnan(valid) else pytest.approx(valid))
            assert meta["foreignid_units"] == row["foreignid_units"] and meta["split_fold"] == row["split_fold"]
            assert meta["area_km2"] == pytest.approx(0.1) and meta["esa_class_20"] == pytest.approx(0.75)
            assert "blob" not in meta and "esa_proportions" not in meta and "geometry" not in meta


def test_shards_json_lists_every_shard_with_its_checksum(chips, exported):
    dest, summary = exported
    assert json.loads((dest / "shards.json").read_text()) == summary
    assert summary["samples"] == len(chips.identifiers)
    assert summary["shard_count"] == sum(len(s["shards"]) for s in summary["splits"].values())
    assert summary["classes"] == [dict(c) for c in CLASSES]
    assert summary["sample"]["image.npy"] == {"dtype": "uint16", "shape": [3, SIDE, SIDE]}
    assert summary["sample"]["label.npy"] == {"dtype": "uint8", "shape": [SIDE, SIDE]}
    assert summary["sample"]["json"]["keys"][:3] == ["identifier", "split", "bounds"]
    on_disk = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.tar"))
    listed = sorted(shard["file"] for s in summary["splits"].values() for shard in s["shards"])
    assert on_disk == listed
    for split, entry in summary["splits"].items():
        shards = entry["shards"]
        assert len(shards) >= 8 if SPLITS[split] >= 8 else 1 <= len(shards) <= SPLITS[split]
        assert entry["samples"] == SPLITS[split] == sum(s["samples"] for s in shards)
        assert all(s["samples"] > 0 for s in shards)
        assert max(s["samples"] for s in shards) - min(s["samples"] for s in shards) <= 1  # spread evenly
        for index, shard in enumerate(shards):
            assert re.fullmatch(rf"{split}/demo_set-{split}-{index:06d}\.tar", shard["file"])
            data = (dest / shard["file"]).read_bytes()
            assert shard["bytes"] == len(data) and shard["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == sum(s["bytes"] for s in shards)


@pytest.mark.slow  # the export's process pool
def test_rerun_gives_byte_identical_shards_and_the_seed_decides_the_order(chips, exported, tmp_path):
    dest, summary = exported
    again = write_webdataset(chips, tmp_path / "again", shard_size_mb=256, min_shards=8)
    assert again == summary
    for entry in again["splits"].values():
        for shard in entry["shards"]:
            assert (tmp_path / "again" / shard["file"]).read_bytes() == (dest / shard["file"]).read_bytes()
    # in two processes (the pool) the bytes are the same too, and progress hears of every chip
    progress = Progress()
    pooled = write_webdataset(chips, tmp_path / "pooled", shard_size_mb=256, min_shards=8, progress=progress, workers=2)
    assert pooled == summary and progress.counts == [len(chips.identifiers), 0, 0]
    other = make_input(tmp_path / "reseeded", seed=8)  # same chips, another shuffle
    order = lambda s: [sh["sha256"] for sh in s["splits"]["train"]["shards"]]  # noqa: E731
    assert order(write_webdataset(other, tmp_path / "other", min_shards=8)) != order(summary)


def test_rewriting_a_folder_drops_shards_of_the_earlier_export(chips, tmp_path):
    dest = tmp_path / "wds"
    write_webdataset(chips, dest, min_shards=8)
    summary = write_webdataset(chips, dest, min_shards=2)
    listed = sorted(shard["file"] for s in summary["splits"].values() for shard in s["shards"])
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.tar")) == listed
    assert not list(dest.rglob(".*"))  # no temporary files left behind


def test_without_labels_there_is_no_label_member(tmp_path, wds):
    chips = make_input(tmp_path / "chips", labels=False)
    dest = tmp_path / "wds"
    summary = write_webdataset(chips, dest, min_shards=2)
    assert "label.npy" not in summary["sample"] and summary["classes"] == [] and summary["labels"] is None
    for shard in (s for entry in summary["splits"].values() for s in entry["shards"]):
        with tarfile.open(dest / shard["file"]) as tar:
            assert not [n for n in tar.getnames() if not n.endswith((".image.npy", ".json"))]
    samples = read_with_webdataset(wds, dest, summary, "val")
    assert len(samples) == SPLITS["val"] and all("label.npy" not in s for s in samples)
    assert all("proportions" not in s["json"] and "esa_proportions" in s["json"] for s in samples)
    for c in iterate_shards(dest, "val"):  # the loaders' sample: an empty label and proportions, never None
        assert c["image"].shape == (3, SIDE, SIDE) and c["label"].shape == (0, 0) and c["proportions"].shape == (0,)


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_an_unreadable_chip_is_named(tmp_path, damage):
    chips = make_input(tmp_path / "chips")
    victim = chips.identifiers[5]
    path = chips.labels.path(victim)
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes(b"II*\x00" + b"\xff" * 64)
    with pytest.raises(UnreadableChip, match=victim):
        write_webdataset(chips, tmp_path / "wds", min_shards=2)
    assert not (tmp_path / "wds" / "shards.json").exists()
