"""Chip reading: the fast plain-TIFF reader agrees with GDAL on every layout it takes, and hands
everything else (and damaged files) to GDAL."""

import numpy as np
import pytest
import rasterio

from geetiles.proportions.chip_raster import UnreadableChip, _read_plain, read_chip
from tests.proportions.synthetic import write_chip

BOUNDS = (5.9, 49.6, 5.91, 49.61)

LAYOUTS = {
    "deflate tiles": dict(compress="deflate", tiled=True, blockxsize=16, blockysize=16),
    "raw strips": dict(compress=None, tiled=False),
    "deflate strips, 7 rows": dict(compress="deflate", tiled=False, blockysize=7),
    "predictor 2": dict(compress="deflate", predictor=2, tiled=False),
    "band-interleaved": dict(compress="deflate", interleave="band"),
    "pixel-interleaved": dict(compress="deflate", interleave="pixel"),
}


def _values(dtype, bands=1):
    rng = np.random.default_rng(7)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    if info is not None:
        return rng.integers(max(info.min, -1000), min(info.max, 1000), size=(bands, 37, 45)).astype(dtype)
    return rng.normal(size=(bands, 37, 45)).astype(dtype)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint16", "int32", "float32", "float64"])
def test_the_fast_reader_agrees_with_gdal(tmp_path, layout, dtype):
    options = dict(LAYOUTS[layout])
    if options.get("predictor") == 2 and dtype.startswith("float"):
        options["predictor"] = 3  # floating-point predictor: not the plain layout, so GDAL reads it
    values = _values(dtype, bands=3)
    path = write_chip(tmp_path / "chip.tif", values, BOUNDS, crs="EPSG:32632" if dtype == "int16" else "EPSG:4326",
                      nodata=-9 if np.dtype(dtype).kind != "u" else 0, **options)
    chip = read_chip(path)
    with rasterio.open(path) as dataset:
        np.testing.assert_array_equal(chip.values, dataset.read(1))
        assert chip.transform == pytest.approx(dataset.transform.to_gdal(), abs=0, rel=1e-15)
        assert chip.crs == f"EPSG:{dataset.crs.to_epsg()}"
        assert chip.nodata == dataset.nodata
    if options.get("predictor") != 3:
        assert _read_plain(path.read_bytes()) is not None, "this layout should take the fast path"


def test_other_layouts_go_to_gdal(tmp_path):
    path = write_chip(tmp_path / "lzw.tif", _values("uint8"), BOUNDS, compress="lzw")
    assert _read_plain(path.read_bytes()) is None
    chip = read_chip(path)
    with rasterio.open(path) as dataset:
        np.testing.assert_array_equal(chip.values, dataset.read(1))


def test_missing_and_damaged_chips_are_unreadable_with_a_reason(tmp_path):
    with pytest.raises(UnreadableChip, match="missing"):
        read_chip(tmp_path / "nope.tif")
    path = write_chip(tmp_path / "chip.tif", _values("uint8"), BOUNDS)
    path.write_bytes(path.read_bytes()[:200])  # truncated mid-file
    with pytest.raises(UnreadableChip, match="unreadable"):
        read_chip(path)
    (tmp_path / "text.tif").write_text("not a tiff")
    with pytest.raises(UnreadableChip):
        read_chip(tmp_path / "text.tif")


def test_a_raster_without_crs_is_unreadable(tmp_path):
    path = tmp_path / "nocrs.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8") as out:
        out.write(np.ones((1, 4, 4), dtype=np.uint8))
    with pytest.raises(UnreadableChip, match="CRS"):
        read_chip(path)
