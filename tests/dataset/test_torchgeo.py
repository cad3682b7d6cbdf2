"""The README's TorchGeo snippet runs as written (bench/torchgeo.py extracts it) where torchgeo is installed, on
a utm-tiled demo export of one UTM zone: batches of the chips' pixels, and every chip once by GridGeoSampler. On
grid-tiled chips it is not so, which is why the card warns of them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from bench.torchgeo import snippet
from tests.conftest import geetiles_cmd
from tests.in_process import run_in_process

TORCHGEO = importlib.util.find_spec("torchgeo") is not None
REASON = "torchgeo is not installed (pip install torchgeo): the README's TorchGeo snippet was not run"
CHIP_SIDE = 100  # the demo's source.pixels_lonlat, which the snippet's GridGeoSampler is written for


def test_the_readme_has_the_snippet_the_bench_runs():
    code = snippet()
    compile(code, "README.md#TorchGeo", "exec")  # at least valid Python where torchgeo is missing
    for needed in ('filename_glob = "*.tif"', "is_image = False", " & ", "Sampler(", "DataLoader(", "root = "):
        assert needed in code
    assert f"GridGeoSampler(dataset, size={CHIP_SIDE}, stride={CHIP_SIDE})" in code


@pytest.fixture(scope="module")
def utm_dataset(ray_session, tmp_path_factory) -> Path:
    """The demo over a small bbox inside UTM zone 32 (6-12 E), tiling=utm, exported (geotiff)."""
    folder = tmp_path_factory.mktemp("utm")
    result = run_in_process(
        geetiles_cmd(
            "experiment=demo",
            "tiling=utm",
            "aoi=bbox",
            "aoi.bbox=[6.02,49.6,6.06,49.63]",
            "aoi.name=t",
            "stages=[aoi,tiling,download,proportions,split,export]",
            "download.progress=none",
        ),
        folder,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [dest] = (folder / "outputs" / "data").glob("t_partitions_utmchips_*_dataset")
    return dest


def _chips(root: Path) -> dict[str, tuple[tuple[float, float], np.ndarray, np.ndarray]]:
    """identifier → ((west, north), image (bands, H, W), label (H, W)), read with rasterio."""
    import pyarrow.parquet as pq
    import rasterio

    out = {}
    for row in pq.read_table(root / "chips.parquet").to_pylist():
        with rasterio.open(root / row["image_path"]) as image, rasterio.open(root / row["label_path"]) as label:
            out[row["identifier"]] = ((image.bounds.left, image.bounds.top), image.read(), label.read(1))
    return out


def _chip_at(chips: dict, west: float, north: float) -> str:
    [identifier] = [i for i, (corner, _, _) in chips.items() if np.allclose(corner, (west, north))]
    return identifier


@pytest.mark.slow
@pytest.mark.skipif(not TORCHGEO, reason=REASON)
def test_the_readme_torchgeo_snippet_gives_the_chips_pixels(utm_dataset):
    import pyarrow.parquet as pq
    import rasterio
    import torch

    from bench.torchgeo import run_snippet

    index = pq.read_table(utm_dataset / "chips.parquet").to_pandas()
    assert set(index["crs"]) == {"EPSG:32632"} and len(index) >= 8  # one zone, a batch's worth
    codes = {int(c.rsplit("_", 1)[1]) for c in index.columns if c.startswith("demo-landcover_class_")}
    namespace = run_snippet(utm_dataset)
    batch = namespace["batch"]
    assert tuple(batch["image"].shape) == (8, 3, 64, 64) and batch["image"].dtype == torch.float32
    assert tuple(batch["mask"].shape) == (8, 64, 64) and batch["mask"].dtype == torch.int64
    assert set(torch.unique(batch["mask"]).tolist()) <= codes  # valid_frac 1: no nodata among them
    chips = _chips(utm_dataset)
    for position, (xs, ys, _) in enumerate(batch["bounds"]):  # each random window: pixels of one chip
        west, north = xs.start, ys.stop
        [identifier] = [i for i, ((x0, y0), _, _) in chips.items() if x0 <= west and north <= y0
                        and west + 640 <= x0 + 1000 and north - 640 >= y0 - 1000]  # fmt: skip
        (x0, y0), image, label = chips[identifier]
        col, row = round((west - x0) / 10), round((y0 - north) / 10)
        window = np.s_[row : row + 64, col : col + 64]
        np.testing.assert_array_equal(batch["image"][position].numpy(), image[(slice(None), *window)])
        np.testing.assert_array_equal(batch["mask"][position].numpy(), label[window])
    every_chip, dataset = namespace["every_chip"], namespace["dataset"]
    assert len(every_chip) == len(index)
    seen = set()
    for query in every_chip:
        sample = dataset[query]
        identifier = _chip_at(chips, query[0].start, query[1].stop)
        _, image, label = chips[identifier]
        np.testing.assert_array_equal(sample["image"].numpy(), image)
        np.testing.assert_array_equal(sample["mask"].numpy(), label)
        seen.add(identifier)
    assert seen == set(index["identifier"])
    with rasterio.open(utm_dataset / index["image_path"][0]) as first:
        assert first.res == (10.0, 10.0) and (first.width, first.height) == (CHIP_SIDE, CHIP_SIDE)


@pytest.mark.slow
@pytest.mark.skipif(not TORCHGEO, reason=REASON)
def test_on_grid_tiled_chips_torchgeo_windows_are_not_the_chips(exported_demo):
    """Why the card of a grid-tiled dataset warns: EPSG:4326 chips whose pixel sizes vary are resampled to
    the first file's, so windows of a chip's side are not the chips' pixels (the demo's 24 x 24 chips)."""
    from torchgeo.datasets import RasterDataset
    from torchgeo.samplers import GridGeoSampler

    class ChipImages(RasterDataset):
        filename_glob = "*.tif"

    dataset, chips = ChipImages(paths=f"{exported_demo}/images"), _chips(exported_demo)
    assert len({image.shape for _, image, _ in chips.values()}) == 1  # 24 x 24 each, sizes in degrees differ
    side = next(iter(chips.values()))[1].shape[-1]
    windows = [dataset[query]["image"].numpy() for query in GridGeoSampler(dataset, size=side, stride=side)]
    exact = sum(any(np.array_equal(window, image) for _, image, _ in chips.values()) for window in windows)
    assert exact < len(chips)
