"""Local rasters written by the tests, in another CRS than the chips, categorical and continuous."""

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer

from geetiles.cli.compose import compose, quote
from geetiles.download.grids import plan_grids
from geetiles.errors import UserInputError
from geetiles.experiment import Experiment
from geetiles.runner import run_experiment
from geetiles.tiles import load_tiles
from tests.download.helpers import dataset_dir, make_tiles

ORIGIN_X, ORIGIN_Y, PIXEL = 665_000.0, 6_378_000.0, 20.0  # EPSG:3857, covering 6.02-6.08E, 49.52-49.56N


def write_raster(path, kind):
    """A 1000x1000 raster in EPSG:3857: classes by 2 km squares, or a linear ramp of x and y."""
    rows, cols = np.mgrid[0:1000, 0:1000]
    x = ORIGIN_X + (cols + 0.5) * PIXEL
    y = ORIGIN_Y - (rows + 0.5) * PIXEL
    if kind == "classes":
        data, dtype = ((np.floor(x / 2000) + 3 * np.floor(y / 2000)) % 7 * 10 + 10).astype(np.uint8), "uint8"
    else:
        data, dtype = (x / 1000.0 - y / 2000.0).astype(np.float32), "float32"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=1000,
        height=1000,
        count=1,
        dtype=dtype,
        crs="EPSG:3857",
        transform=Affine(PIXEL, 0, ORIGIN_X, 0, -PIXEL, ORIGIN_Y),
        tiled=True,
        blockxsize=256,
        blockysize=256,
        nodata=0 if kind == "classes" else -9999,
    ) as dataset:
        dataset.write(data, 1)
        dataset.set_band_description(1, kind)
    return path


def download(tiles, raster, *extra):
    cfg = compose(
        [
            "stages=[download]",
            f"download.tiles_file={quote(tiles)}",
            "source=local",
            "labels=none",
            f"source.dataset={quote(raster)}",
            "download.progress=none",
            *extra,
        ]
    )
    return run_experiment(Experiment.from_config(cfg, command="test"))


def centres_in_3857(grid):
    a, _, c, _, e, f = grid.transform
    lon = c + a * (np.arange(grid.width) + 0.5)
    lat = f + e * (np.arange(grid.height) + 0.5)
    lon, lat = np.meshgrid(lon, lat)
    return Transformer.from_crs(grid.crs, "EPSG:3857", always_xy=True).transform(lon, lat)


@pytest.fixture
def tiles(tmp_path, ray_session):
    return make_tiles(tmp_path, (6.02, 49.52, 6.08, 49.56))


def test_categorical_raster_is_resampled_with_nearest(tmp_path, tiles):
    raster = write_raster(tmp_path / "classes.tif", "classes")
    download(tiles, raster)
    chips = load_tiles(tiles)
    for identifier, grid in zip(chips["identifier"], plan_grids(chips, [100, 100], None)):
        with rasterio.open(dataset_dir(tiles, "classes") / f"{identifier}.tif") as chip:
            values = chip.read(1)
            assert chip.descriptions == ("classes",) and chip.dtypes[0] == "uint8"
        x, y = centres_in_3857(grid)
        expected = ((np.floor(x / 2000) + 3 * np.floor(y / 2000)) % 7 * 10 + 10).astype(np.uint8)
        clear = (np.abs(x / 2000 - np.round(x / 2000)) * 2000 > PIXEL) & (
            np.abs(y / 2000 - np.round(y / 2000)) * 2000 > PIXEL
        )
        assert np.array_equal(values[clear], expected[clear])  # away from class borders: exactly the class
        assert set(np.unique(values)) <= set(range(10, 80, 10))  # nearest never invents a class


def test_continuous_raster_is_resampled_bilinearly(tmp_path, tiles):
    raster = write_raster(tmp_path / "ramp.tif", "ramp")
    download(tiles, raster, "source.name=ramp", "source.pixels_lonlat=null", "source.meters_per_pixel=30")
    chips = load_tiles(tiles)
    for identifier, grid in zip(chips["identifier"], plan_grids(chips, None, 30)):
        with rasterio.open(dataset_dir(tiles, "ramp") / f"{identifier}.tif") as chip:
            values = chip.read(1)
        x, y = centres_in_3857(grid)
        assert np.allclose(values, x / 1000.0 - y / 2000.0, atol=1e-3)  # bilinear is exact on a linear ramp


def test_unreadable_raster_and_bad_resampling_are_one_line_errors(tmp_path, tiles):
    with pytest.raises(UserInputError, match="cannot open"):
        download(tiles, tmp_path / "missing.tif")
    raster = write_raster(tmp_path / "classes.tif", "classes")
    with pytest.raises(UserInputError, match="source.resampling='sharpest'"):
        download(tiles, raster, "source.resampling=sharpest")
