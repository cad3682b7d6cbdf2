"""The one sample of both loaders (geetiles.dataset.sample): the same keys and types from ChipDataset and
iterate_shards for the same chip, batched by torch's default collate (checked without torch in
tests/dataset/collate.py, and with torch where it is installed)."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from geetiles.dataset import SAMPLE_KEYS, ChipClass, ChipDataset, iterate_shards
from tests.dataset.collate import collate
from tests.export.webdataset.synthetic import SIDE, SPLITS, make_input


def test_the_collate_check_refuses_what_default_collate_refuses():
    good = {"image": np.zeros((2, 3), np.uint8), "name": "a", "x": 1.0}
    assert collate([good, dict(good)])["image"].shape == (2, 2, 3)
    for bad in (
        {**good, "image": np.zeros((2, 4), np.uint8)},
        {**good, "name": None},
        {**good, "x": 1},
        {"image": good["image"], "name": "b"},
        {**good, "image": np.zeros((2, 3), np.int16)},
    ):
        with pytest.raises(AssertionError):
            collate([good, bad])


def test_shard_samples_have_one_shape_and_collate(exported):
    dest, summary = exported
    samples = list(iterate_shards(dest, "train"))
    assert len(samples) == SPLITS["train"]
    for sample in samples:
        assert tuple(sample) == SAMPLE_KEYS
        assert sample["image"].dtype == np.uint16 and sample["image"].shape == (3, SIDE, SIDE)
        assert sample["label"].dtype == np.uint8 and sample["label"].shape == (SIDE, SIDE)
        assert sample["proportions"].dtype == np.float32 and sample["transform_gdal"].dtype == np.float64
    batch = collate(samples)
    assert batch["image"].shape == (SPLITS["train"], 3, SIDE, SIDE) and batch["proportions"].shape == (30, 2)
    assert batch["transform_gdal"].shape == (30, 6) and batch["bounds"].shape == (30, 4)
    np.testing.assert_allclose(batch["proportions"], [[0.25, 0.75]] * 30)
    everything = list(iterate_shards(dest, None))  # None: every split
    assert sorted(s["identifier"] for s in everything) == sorted(summary_ids(summary, dest))


def summary_ids(summary, dest):
    from geetiles.dataset.shards import read_shard

    return [
        raw["__key__"]
        for entry in summary["splits"].values()
        for shard in entry["shards"]
        for raw in read_shard(dest / shard["file"])
    ]


def test_a_dataset_without_labels_gives_empty_labels_and_proportions(tmp_path):
    from geetiles.export.webdataset import write_webdataset

    dest = tmp_path / "wds"
    write_webdataset(make_input(tmp_path / "chips", labels=False), dest, min_shards=2)
    samples = list(iterate_shards(dest, "val"))
    assert all(tuple(s) == SAMPLE_KEYS for s in samples)
    assert all(
        s["label"].shape == (0, 0) and s["proportions"].shape == (0,) and math.isnan(s["valid_frac"]) for s in samples
    )
    assert collate(samples)["label"].shape == (SPLITS["val"], 0, 0)


def test_chip_dataset_needs_a_split():
    with pytest.raises(TypeError, match="split"):
        ChipDataset("anywhere")  # type: ignore[call-arg]


def torch_collate():
    torch_data = pytest.importorskip("torch.utils.data", reason="torch is not installed: default_collate not run")
    return torch_data.default_collate


@pytest.mark.slow  # importing a CUDA build of torch runs /sbin/ldconfig -p (cuda-pathfinder's find_library)
def test_torch_default_collate_batches_shard_samples(exported):
    default_collate = torch_collate()
    dest, _ = exported
    batch = default_collate(list(iterate_shards(dest, "train"))[:8])
    assert tuple(batch["image"].shape) == (8, 3, SIDE, SIDE) and tuple(batch["transform_gdal"].shape) == (8, 6)
    assert len(batch["identifier"]) == 8


@pytest.mark.slow  # importing a CUDA build of torch runs /sbin/ldconfig -p
def test_torch_default_collate_batches_samples_without_labels(tmp_path):
    from geetiles.export.webdataset import write_webdataset

    default_collate = torch_collate()
    dest = tmp_path / "wds"
    write_webdataset(make_input(tmp_path / "chips", labels=False), dest, min_shards=2)
    batch = default_collate(list(iterate_shards(dest, "val")))
    assert tuple(batch["label"].shape) == (SPLITS["val"], 0, 0)
    assert tuple(batch["proportions"].shape) == (SPLITS["val"], 0)
    assert bool(batch["valid_frac"].isnan().all())


@pytest.fixture(scope="module")
def both_formats(demo_pipeline, tmp_path_factory):
    """The shared demo run exported as geotiff and webdataset: (dataset folder)."""
    from tests.export.test_stage import export

    target = tmp_path_factory.mktemp("both") / "data"
    shutil.copytree(demo_pipeline[0], target, ignore=shutil.ignore_patterns("*_dataset", "*_report"))
    [tiles] = target.glob("t_partitions_aschips_*.geojson")
    export(tiles, "export.formats=[geotiff,webdataset]")
    return tiles.with_name(f"{tiles.stem}_dataset")


@pytest.mark.slow
def test_both_loaders_return_the_same_sample_for_each_chip(both_formats):
    import pyarrow.parquet as pq

    chips = ChipDataset(both_formats, split=None)  # None: every chip
    index = pq.read_table(both_formats / "chips.parquet").to_pandas()
    assert len(chips) == len(index) and len(ChipDataset(both_formats, "train")) == (index["split"] == "train").sum()
    assert all(isinstance(c, ChipClass) and isinstance(c.key, int) for c in chips.classes)
    assert [c.name for c in chips.classes][:2] == ["Tree cover", "Shrubland"]
    by_id = {chips[i]["identifier"]: chips[i] for i in range(len(chips))}
    streamed = list(iterate_shards(both_formats, None))
    assert sorted(by_id) == sorted(s["identifier"] for s in streamed)
    for sample in streamed:
        mapped = by_id[sample["identifier"]]
        assert tuple(sample) == tuple(mapped) == SAMPLE_KEYS
        for key in SAMPLE_KEYS:
            if isinstance(mapped[key], np.ndarray):
                assert mapped[key].dtype == sample[key].dtype, key
                np.testing.assert_array_equal(mapped[key], sample[key], err_msg=key)
            else:
                assert mapped[key] == sample[key], key
        row = index[index["identifier"] == sample["identifier"]].iloc[0]
        np.testing.assert_array_equal(
            sample["proportions"],
            np.asarray([row[f"demo-landcover_class_{c.key}"] for c in chips.classes], dtype=np.float32),
        )
        np.testing.assert_array_equal(sample["transform_gdal"], row["transform"])
    collate(list(by_id.values()))
    collate(streamed)


@pytest.mark.slow
def test_torch_dataloader_batches_chip_dataset_samples(both_formats):
    """PyTorch's DataLoader with its default collate over ChipDataset: every chip of the split once, in the
    native dtypes (where torch is installed)."""
    torch_collate()
    import torch
    from torch.utils.data import DataLoader

    train = ChipDataset(both_formats, split="train")
    side = train[0]["image"].shape[-1]
    batches = list(DataLoader(train, batch_size=4))
    assert sum(len(b["identifier"]) for b in batches) == len(train)
    assert sorted(i for b in batches for i in b["identifier"]) == sorted(
        train[i]["identifier"] for i in range(len(train))
    )
    first = batches[0]
    assert tuple(first["image"].shape) == (4, 3, side, side) and first["image"].dtype == torch.uint8
    assert tuple(first["label"].shape) == (4, side, side) and first["label"].dtype == torch.uint8
    assert first["proportions"].dtype == torch.float32 and tuple(first["proportions"].shape) == (4, len(train.classes))
    assert first["transform_gdal"].dtype == torch.float64 and tuple(first["transform_gdal"].shape) == (4, 6)
    assert tuple(first["bounds"].shape) == (4, 4) and first["split"] == ["train"] * 4
    np.testing.assert_array_equal(first["image"][0].numpy(), train[0]["image"])


@pytest.mark.slow
def test_load_dataset_of_the_exported_folder_gives_pixels_and_the_index(both_formats, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    datasets = pytest.importorskip("datasets", reason="Hugging Face datasets is not installed")
    chips = ChipDataset(both_formats, split="train")
    mapped = {chips[i]["identifier"]: chips[i] for i in range(len(chips))}
    train = datasets.load_dataset(str(both_formats), split="train", cache_dir=str(tmp_path / "cache"))
    assert len(train) == len(mapped)
    for record in train.with_format("numpy", dtype=np.uint8).select_columns(["__key__", "image.npy", "label.npy"]):
        np.testing.assert_array_equal(record["image.npy"], mapped[str(record["__key__"])]["image"])
        np.testing.assert_array_equal(record["label.npy"], mapped[str(record["__key__"])]["label"])
    for record in train.select_columns(["json"]):
        sample = mapped[record["json"]["identifier"]]
        np.testing.assert_array_equal(np.float32(record["json"]["proportions"]), sample["proportions"])
        assert record["json"]["transform_gdal"] == sample["transform_gdal"].tolist()
    index = datasets.load_dataset(
        "parquet",
        data_files={"train": str(both_formats / "splits" / "train.parquet")},
        split="train",
        cache_dir=str(tmp_path / "cache"),
    )  # the README's way to the index
    assert sorted(index["identifier"]) == sorted(mapped)
