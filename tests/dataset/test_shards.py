"""``iterate_shards``, geetiles' own shard reader (numpy only), against the ``webdataset`` library on the
synthetic export (tests/export/webdataset/synthetic.py)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from geetiles.dataset.shards import iterate_shards
from tests.export.webdataset.synthetic import SPLITS, read_with_webdataset


def test_iterate_shards_yields_what_webdataset_reads(chips, exported, wds):
    dest, summary = exported
    for split in SPLITS:
        expected = read_with_webdataset(wds, dest, summary, split)
        for root in (dest, dest.parent):  # the webdataset folder, or the dataset folder holding it
            got = list(iterate_shards(root, split))
            assert [g["identifier"] for g in got] == [e["__key__"] for e in expected]
            for g, e in zip(got, expected):
                assert g["image"].dtype == e["image.npy"].dtype
                np.testing.assert_array_equal(g["image"], e["image.npy"])
                np.testing.assert_array_equal(g["label"], e["label.npy"])
                meta = e["json"]
                assert (g["split"], g["crs"]) == (meta["split"], meta["crs"]) == (split, meta["crs"])
                assert g["transform_gdal"].tolist() == meta["transform_gdal"] and g["bounds"].tolist() == meta["bounds"]
                assert g["proportions"].tolist() == meta["proportions"] and meta["class_keys"] == [10, 20]
    shuffled = [c["identifier"] for c in iterate_shards(dest, "train", shuffle_buffer=5, seed=1)]
    assert sorted(shuffled) == sorted(c["identifier"] for c in iterate_shards(dest, "train"))
    assert shuffled == [c["identifier"] for c in iterate_shards(dest, "train", shuffle_buffer=5, seed=1)]
    assert shuffled != [c["identifier"] for c in iterate_shards(dest, "train")]
    with pytest.raises(KeyError, match="gap"):
        next(iterate_shards(dest, "gap"))
    with pytest.raises(FileNotFoundError):
        next(iterate_shards(dest / "train", "train"))


def test_iterate_shards_splits_shards_among_dataloader_workers(exported, monkeypatch):
    """Inside a PyTorch DataLoader worker (torch imported by the user), each worker reads its own shards."""
    from types import SimpleNamespace

    dest, _ = exported
    everything = [c["identifier"] for c in iterate_shards(dest, "train")]
    seen = []
    for worker in range(3):
        info = SimpleNamespace(id=worker, num_workers=3)
        torch = SimpleNamespace(utils=SimpleNamespace(data=SimpleNamespace(get_worker_info=lambda info=info: info)))
        monkeypatch.setitem(sys.modules, "torch", torch)
        seen += [c["identifier"] for c in iterate_shards(dest, "train")]
    assert sorted(seen) == sorted(everything)
