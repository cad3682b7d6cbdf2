"""The shards and the dataset card read back by Hugging Face ``datasets`` (the real library, offline): every
JSON value exactly as written (no class share turned into null), the proportions those of the index's class
columns, the pixels those of the chips in their native dtype (HF's numpy format casts integers to int64 unless
given the dtype), and ``load_dataset(<dataset folder>)`` following the card's configs with declared features."""

from __future__ import annotations

import os

import numpy as np
import pytest

from geetiles.dataset.shards import read_shard
from tests.export.webdataset.synthetic import SPLITS


@pytest.fixture
def hf(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    datasets = pytest.importorskip("datasets", reason="Hugging Face datasets is not installed (pip install -e .[test])")
    datasets.disable_progress_bars()
    return datasets


def raw_samples(dest, summary, split):
    return [raw for shard in summary["splits"][split]["shards"] for raw in read_shard(dest / shard["file"])]


def assert_same_as_written(loaded, raws, frame, dtype):
    assert len(loaded) == len(raws)
    by_key = {raw["__key__"]: raw for raw in raws}
    for record in loaded:
        raw = by_key[record["__key__"]]
        assert record["json"] == raw["meta"]  # every value, nulls only where the writer wrote null
        row = frame.loc[record["__key__"]]
        assert record["json"]["proportions"] == [row["esa_class_10"], row["esa_class_20"]]
    pixels = loaded.select_columns(["__key__", "image.npy", "label.npy"]).with_format("numpy", dtype=dtype)
    for record in pixels:
        raw = by_key[str(record["__key__"])]
        assert record["image.npy"].dtype == dtype
        np.testing.assert_array_equal(record["image.npy"], raw["image"])
        np.testing.assert_array_equal(record["label.npy"], raw["label"])


def test_load_dataset_webdataset_returns_every_value(hf, chips, exported, tmp_path):
    dest, summary = exported
    frame = chips.frame.set_index("identifier")
    files = {split: [str(dest / s["file"]) for s in summary["splits"][split]["shards"]] for split in SPLITS}
    loaded = hf.load_dataset("webdataset", data_files=files, cache_dir=str(tmp_path / "cache"))
    for split in SPLITS:
        assert_same_as_written(loaded[split], raw_samples(dest, summary, split), frame, np.uint16)
    assert loaded["train"].features["image.npy"].feature.feature.feature.dtype == "uint16"  # stored natively
    nulls = [r["__key__"] for split in SPLITS for r in loaded[split] if None in r["json"]["proportions"]]
    assert nulls == []


def test_the_card_makes_load_dataset_of_the_folder_give_the_pixels(hf, chips, tmp_path):
    from geetiles.export.card import write_card
    from geetiles.export.webdataset import write_webdataset
    from geetiles.verify.card import front_matter

    folder = tmp_path / "ds"
    summary = write_webdataset(chips, folder / "webdataset", min_shards=2)
    write_card(chips, folder, "cc-by-4.0", ["webdataset"], "ds")
    header = front_matter((folder / "README.md").read_text())
    assert header["configs"][0]["config_name"] == "default"
    assert header["dataset_info"][0]["features"][0] == {"name": "image.npy", "list": {"list": {"list": "uint16"}}}
    loaded = hf.load_dataset(str(folder), cache_dir=str(tmp_path / "cache"))
    assert sorted(loaded) == sorted(SPLITS)
    declared = hf.Features._from_yaml_list(header["dataset_info"][0]["features"])
    assert loaded["val"].features == declared
    frame = chips.frame.set_index("identifier")
    for split in SPLITS:
        assert_same_as_written(loaded[split], raw_samples(folder / "webdataset", summary, split), frame, np.uint16)
    assert set(os.listdir(folder)) == {"README.md", "webdataset"}
