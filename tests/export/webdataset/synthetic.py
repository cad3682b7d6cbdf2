"""A synthetic ``webdataset`` export input (chips of three splits in several GeoTIFF layouts, a tiles
frame with every kind of column), its fixtures, and reading shards back with the ``webdataset`` library
in secure mode. The conftests of tests/export/webdataset and tests/dataset import the fixtures."""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_bounds, from_origin

from geetiles.export.inputs import DatasetInfo, ExportInput
from geetiles.export.webdataset import write_webdataset

SPLITS = {"train": 30, "val": 12, "test": 6}  # test: fewer chips than min_shards
SIDE = 32  # pixels
CLASSES = ({"code": 10, "name": "tree", "color": "#00a000"}, {"code": 20, "name": "water", "color": "#0000ff"})


def _write(path: Path, values: np.ndarray, crs: str, transform, **options) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = dict(
        driver="GTiff",
        width=values.shape[2],
        height=values.shape[1],
        count=values.shape[0],
        dtype=values.dtype,
        crs=crs,
        transform=transform,
        **options,
    )
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
    layouts = [
        dict(compress="deflate", tiled=True, blockxsize=16, blockysize=16),
        dict(),
        dict(compress="deflate"),
        dict(compress="lzw"),
    ]  # lzw: not the plain layout, read by GDAL
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
    frame = gpd.GeoDataFrame(
        {
            "area_km2": np.full(count, 0.1),
            "identifier": identifiers,
            "split": splits,
            "esa_proportions": proportions,
            "esa_valid_frac": valid,
            "esa_class_10": np.full(count, 0.25),
            "esa_class_20": np.full(count, 0.75),
            "foreignid_units": [f"u{i % 5}" for i in range(count)],
            "split_fold": np.arange(count) % 3,
            "blob": [b"\x00"] * count,  # not JSON-able: left out
        },
        geometry=geometries,
        crs="EPSG:4326",
    )
    images = DatasetInfo("s2", root / "images", ("B4", "B3", "B2"), "uint16", None, (), {})
    label_info = DatasetInfo("esa", root / "labels", ("label",), "uint8", 0, CLASSES, {}) if labels else None
    return ExportInput(
        root / "tiles.geojson", frame, np.array(identifiers), np.array(splits), images, label_info, "demo set", seed, {}
    )


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
        pre=[],
        post=[],
    )  # npy and json decoders only: nothing else is decoded, nothing is unpickled
    return list(dataset)


def reference(chips: ExportInput, identifier: str):
    with rasterio.open(chips.images.path(identifier)) as image:
        pixels, transform, crs = image.read(), image.transform.to_gdal(), f"EPSG:{image.crs.to_epsg()}"
    label = None
    if chips.labels is not None:
        with rasterio.open(chips.labels.path(identifier)) as labels:
            label = labels.read(1)
    return pixels, label, transform, crs
