"""The ``webdataset`` export format: shards the ``webdataset`` library reads back in secure mode
(no pickles), every chip once in its split, sizes and counts as asked, reproducible bytes, and
geetiles' own reader agreeing with the library."""

from __future__ import annotations

import hashlib
import io
import json
import math
import pickle
import re
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_bounds, from_origin

from geetiles.dataset.shards import iterate_shards
from geetiles.export.inputs import DatasetInfo, ExportInput
from geetiles.export.webdataset import shard_count, write_webdataset
from geetiles.tiff import UnreadableChip

SPLITS = {"train": 30, "val": 12, "test": 6}  # test: fewer chips than min_shards
SIDE = 32  # pixels
CLASSES = ({"code": 10, "name": "tree", "color": "#00a000"}, {"code": 20, "name": "water", "color": "#0000ff"})


# --- a synthetic export input ------------------------------------------------------------------------


def _write(path: Path, values: np.ndarray, crs: str, transform, **options) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = dict(driver="GTiff", width=values.shape[2], height=values.shape[1], count=values.shape[0],
                   dtype=values.dtype, crs=crs, transform=transform, **options)
    with rasterio.open(path, "w", **profile) as out:
        out.write(values)


def make_input(root: Path, labels: bool = True, seed: int = 7) -> ExportInput:
    """Chips of three splits: UTM chips (odd rows) and lon/lat chips (even rows), uint16 images of three
    bands in several GeoTIFF layouts (one the fast reader leaves to GDAL), uint8 labels."""
    import geopandas as gpd
    from pyproj import Transformer

    to_lonlat = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True)
    rng = np.random.default_rng(0)
    identifiers, splits, geometries = [], [], []
    layouts = [dict(compress="deflate", tiled=True, blockxsize=16, blockysize=16), dict(), dict(compress="deflate"),
               dict(compress="lzw")]  # lzw: not the plain layout, read by GDAL
    row = 0
    for split, count in SPLITS.items():
        for _ in range(count):
            identifier = f"{row:04x}c{rng.integers(16**8):08x}"
            if row % 2:
                x0, y0 = 600_000 + row * SIDE * 10, 5_500_000
                crs, transform = "EPSG:32631", from_origin(x0, y0, 10, 10)
                xs, ys = [x0, x0 + SIDE * 10, x0 + SIDE * 10, x0], [y0, y0, y0 - SIDE * 10, y0 - SIDE * 10]
                geometry = shapely.Polygon(np.column_stack(to_lonlat.transform(xs, ys)))
            else:
                bounds = (6.0 + row * 0.01, 49.6, 6.0 + row * 0.01 + 0.005, 49.605)
                crs, transform = "EPSG:4326", from_bounds(*bounds, SIDE, SIDE)
                geometry = shapely.box(*bounds)
            image = rng.integers(0, 4000, (3, SIDE, SIDE), dtype=np.uint16)
            _write(root / "images" / f"{identifier}.tif", image, crs, transform, **layouts[row % len(layouts)])
            label = rng.choice(np.array([0, 10, 20], dtype=np.uint8), (1, SIDE, SIDE))
            _write(root / "labels" / f"{identifier}.tif", label, crs, transform, nodata=0)
            identifiers.append(identifier)
            splits.append(split)
            geometries.append(geometry)
            row += 1
    count = len(identifiers)
    proportions = [{"10": 0.25, "20": 0.75} for _ in range(count)]
    proportions[3] = None  # a chip whose proportions could not be counted
    valid = np.linspace(0.5, 1.0, count)
    valid[3] = np.nan
    frame = gpd.GeoDataFrame({
        "area_km2": np.full(count, 0.1), "identifier": identifiers, "split": splits,
        "esa_proportions": proportions, "esa_valid_frac": valid,
        "esa_class_10": np.full(count, 0.25), "esa_class_20": np.full(count, 0.75),
        "foreignid_units": [f"u{i % 5}" for i in range(count)], "split_fold": np.arange(count) % 3,
        "blob": [b"\x00"] * count,  # not JSON-able: left out
    }, geometry=geometries, crs="EPSG:4326")
    images = DatasetInfo("s2", root / "images", ("B4", "B3", "B2"), "uint16", None, (), {})
    label_info = DatasetInfo("esa", root / "labels", ("label",), "uint8", 0, CLASSES, {}) if labels else None
    return ExportInput(root / "tiles.geojson", frame, np.array(identifiers), np.array(splits), images, label_info,
                       "demo set", seed, {})


@pytest.fixture(scope="module")
def chips(tmp_path_factory) -> ExportInput:
    return make_input(tmp_path_factory.mktemp("chips"))


@pytest.fixture(scope="module")
def exported(chips, tmp_path_factory) -> tuple[Path, dict]:
    dest = tmp_path_factory.mktemp("dataset") / "webdataset"
    return dest, write_webdataset(chips, dest, shard_size_mb=256, min_shards=8)


class Progress:
    def __init__(self) -> None:
        self.counts = [0, 0, 0]

    def update(self, done: int, failed: int, retries: int) -> None:
        self.counts = [self.counts[0] + done, self.counts[1] + failed, self.counts[2] + retries]


# --- reading with the webdataset library in secure mode ------------------------------------------------


@pytest.fixture
def wds(monkeypatch):
    """``webdataset`` in secure mode: ``WDS_SECURE=1`` is read when the library is imported (into
    ``webdataset.utils.enforce_security``); set both, in case another test imported it first."""
    monkeypatch.setenv("WDS_SECURE", "1")
    import webdataset

    monkeypatch.setattr(webdataset.utils, "enforce_security", True)
    with pytest.raises(ValueError, match="security"):  # secure mode refuses pickles
        webdataset.autodecode.unpickle_loads(pickle.dumps({"x": 1}))
    return webdataset


def read_with_webdataset(wds, dest: Path, summary: dict, split: str) -> list[dict]:
    urls = [str(dest / shard["file"]) for shard in summary["splits"][split]["shards"]]
    dataset = wds.WebDataset(urls, shardshuffle=False, empty_check=False).decode(
        wds.handle_extension("npy", lambda data: np.load(io.BytesIO(data), allow_pickle=False)),
        wds.handle_extension("json", json.loads),
        pre=[], post=[])  # npy and json decoders only: nothing else is decoded, nothing is unpickled
    return list(dataset)


def _reference(chips: ExportInput, identifier: str):
    with rasterio.open(chips.images.path(identifier)) as image:
        pixels, transform, crs = image.read(), image.transform.to_gdal(), f"EPSG:{image.crs.to_epsg()}"
    label = None
    if chips.labels is not None:
        with rasterio.open(chips.labels.path(identifier)) as labels:
            label = labels.read(1)
    return pixels, label, transform, crs


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
            pixels, label, transform, crs = _reference(chips, key)
            assert sample["image.npy"].dtype == np.uint16 and sample["image.npy"].shape == (3, SIDE, SIDE)
            np.testing.assert_array_equal(sample["image.npy"], pixels)
            assert sample["label.npy"].dtype == np.uint8 and sample["label.npy"].shape == (SIDE, SIDE)
            np.testing.assert_array_equal(sample["label.npy"], label)
            meta, row = sample["json"], frame.loc[key]
            assert list(meta)[:10] == ["identifier", "split", "bounds", "centre_lon", "centre_lat", "centre_method",
                                       "crs", "transform", "width", "height"]
            assert meta["identifier"] == key and meta["split"] == split
            assert meta["bounds"] == pytest.approx(list(row.geometry.bounds))
            assert meta["crs"] == crs and meta["transform"] == pytest.approx(list(transform))
            assert (meta["width"], meta["height"]) == (SIDE, SIDE)
            assert meta["proportions"] == row["esa_proportions"]
            valid = row["esa_valid_frac"]
            assert meta["valid_frac"] == (None if math.isnan(valid) else pytest.approx(valid))
            assert meta["foreignid_units"] == row["foreignid_units"] and meta["split_fold"] == row["split_fold"]
            assert meta["area_km2"] == pytest.approx(0.1) and meta["esa_class_20"] == pytest.approx(0.75)
            assert "blob" not in meta and "esa_proportions" not in meta and "geometry" not in meta


def test_centres_are_bbox_centres_or_metric_centroids(chips, exported, wds):
    from pyproj import Transformer

    dest, summary = exported
    to_lonlat = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True)
    metas = [s["json"] for split in SPLITS for s in read_with_webdataset(wds, dest, summary, split)]
    for meta in metas:
        minx, miny, maxx, maxy = meta["bounds"]
        if meta["crs"] == "EPSG:4326":  # a lon/lat rectangle: its box centre
            assert meta["centre_method"] == "bbox"
            assert (meta["centre_lon"], meta["centre_lat"]) == pytest.approx(((minx + maxx) / 2, (miny + maxy) / 2))
        else:  # a UTM square: its centroid in UTM, not the centre of its lon/lat box
            assert meta["centre_method"] == "centroid:EPSG:32631"
            x0, dx, _, y0, _, dy = meta["transform"]
            expected = to_lonlat.transform(x0 + dx * SIDE / 2, y0 + dy * SIDE / 2)
            assert (meta["centre_lon"], meta["centre_lat"]) == pytest.approx(expected, abs=1e-9)


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


def test_tar_members_are_normalised_and_in_a_fixed_order(exported):
    dest, summary = exported
    shard = dest / summary["splits"]["train"]["shards"][0]["file"]
    with tarfile.open(shard) as tar:
        members = tar.getmembers()
    assert members and all(m.isfile() for m in members)
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) for m in members} == {(0, 0, 0, "", "", 0o644)}
    names = [m.name for m in members]
    keys = [n.split(".", 1)[0] for n in names[::3]]
    assert names == [f"{k}.{suffix}" for k in keys for suffix in ("image.npy", "label.npy", "json")]


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


def test_shard_sizes_follow_the_target(chips, tmp_path):
    summary = write_webdataset(chips, tmp_path / "small", shard_size_mb=0.02, min_shards=1)
    target = 0.02 * 2**20
    train = summary["splits"]["train"]
    assert len(train["shards"]) == 30  # a sample is half the target: one per shard
    assert all(target / 2 <= shard["bytes"] <= target for shard in train["shards"])
    target = 0.1 * 2**20
    big = write_webdataset(chips, tmp_path / "big", shard_size_mb=0.1, min_shards=1)["splits"]["train"]["shards"]
    assert len(big) == 3 and all(0.95 * target <= s["bytes"] <= target for s in big)


def test_shard_count_rules():
    assert shard_count(0, 1000, 1e6, 8) == 0
    assert shard_count(30, 1000, 1e6, 8) == 8  # min_shards with enough chips
    assert shard_count(6, 1000, 1e6, 8) == 1  # fewer chips than min_shards: the size decides
    assert shard_count(6, 1e6, 3.1e6, 8) == 2
    assert shard_count(6, 1e6, 3e6, 8) == 3  # the shard's end marker needs room too
    assert shard_count(3, 1e7, 1e6, 8) == 3  # never an empty shard
    assert shard_count(10_000, 50_000, 256 * 2**20, 8) == 8
    assert shard_count(100_000, 50_000, 256 * 2**20, 8) == 19


def test_iterate_shards_yields_what_webdataset_reads(chips, exported, wds):
    dest, summary = exported
    for split in SPLITS:
        expected = read_with_webdataset(wds, dest, summary, split)
        for root in (dest, dest.parent):  # the webdataset folder, or the dataset folder holding it
            got = list(iterate_shards(root, split))
            assert [g["__key__"] for g in got] == [e["__key__"] for e in expected]
            for g, e in zip(got, expected):
                assert g["image"].dtype == e["image.npy"].dtype
                np.testing.assert_array_equal(g["image"], e["image.npy"])
                np.testing.assert_array_equal(g["label"], e["label.npy"])
                assert g["meta"] == e["json"]
    shuffled = [c["__key__"] for c in iterate_shards(dest, "train", shuffle_buffer=5, seed=1)]
    assert sorted(shuffled) == sorted(c["__key__"] for c in iterate_shards(dest, "train"))
    assert shuffled == [c["__key__"] for c in iterate_shards(dest, "train", shuffle_buffer=5, seed=1)]
    assert shuffled != [c["__key__"] for c in iterate_shards(dest, "train")]
    with pytest.raises(KeyError, match="gap"):
        next(iterate_shards(dest, "gap"))
    with pytest.raises(FileNotFoundError):
        next(iterate_shards(dest / "train"))


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
    assert all(c["label"] is None and c["image"].shape == (3, SIDE, SIDE) for c in iterate_shards(dest, "val"))


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


def test_iterate_shards_splits_shards_among_dataloader_workers(exported, monkeypatch):
    """Inside a PyTorch DataLoader worker (torch imported by the user), each worker reads its own shards."""
    from types import SimpleNamespace

    dest, _ = exported
    everything = [c["__key__"] for c in iterate_shards(dest, "train")]
    seen = []
    for worker in range(3):
        info = SimpleNamespace(id=worker, num_workers=3)
        torch = SimpleNamespace(utils=SimpleNamespace(data=SimpleNamespace(get_worker_info=lambda info=info: info)))
        monkeypatch.setitem(sys.modules, "torch", torch)
        seen += [c["__key__"] for c in iterate_shards(dest, "train")]
    assert sorted(seen) == sorted(everything)
