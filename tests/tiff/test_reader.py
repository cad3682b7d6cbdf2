"""The one reader: its fast path agrees with GDAL on every layout it takes (pixels, grid, CRS, nodata,
band descriptions, header), and hands everything else (and damaged files) to GDAL; every failure is
one ``UnreadableChip``."""

import numpy as np
import pytest
import rasterio

from geetiles.tiff import UnreadableChip, decode_pixels, read_chip, read_header, read_pixels
from geetiles.tiff.reader import _header_with_rasterio, _plain_chip, why_undecodable
from tests.proportions.synthetic import write_chip
from tests.tiff.headers import assert_header_agrees_with_gdal

BOUNDS = (5.9, 49.6, 5.91, 49.61)

LAYOUTS = {
    "deflate tiles": dict(compress="deflate", tiled=True, blockxsize=16, blockysize=16),
    "raw strips": dict(compress=None, tiled=False),
    "deflate strips, 7 rows": dict(compress="deflate", tiled=False, blockysize=7),
    "predictor 2": dict(compress="deflate", predictor=2, tiled=False),
    "band-interleaved": dict(compress="deflate", interleave="band"),
    "pixel-interleaved": dict(compress="deflate", interleave="pixel"),
    # one chunk (the download's COGs, small strip files): decoded as views of it, cropped where larger
    "one tile, larger than the chip": dict(compress="deflate", tiled=True, blockxsize=48, blockysize=48),
    "one strip": dict(compress="deflate", tiled=False, blockysize=37),
    "one strip, predictor 2": dict(compress="deflate", predictor=2, tiled=False, blockysize=40),
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
    path = write_chip(
        tmp_path / "chip.tif",
        values,
        BOUNDS,
        crs="EPSG:32632" if dtype == "int16" else "EPSG:4326",
        nodata=-9 if np.dtype(dtype).kind != "u" else 0,
        **options,
    )
    chip = read_chip(path)
    with rasterio.open(path) as dataset:
        np.testing.assert_array_equal(chip.values, dataset.read(1))
        assert chip.transform == pytest.approx(dataset.transform.to_gdal(), abs=0, rel=1e-15)
        assert chip.crs == f"EPSG:{dataset.crs.to_epsg()}"
        assert chip.nodata == dataset.nodata
    if options.get("predictor") != 3:
        assert _plain_chip(path.read_bytes(), [0]) is not None, "this layout should take the fast path"


def test_other_layouts_go_to_gdal(tmp_path):
    path = write_chip(tmp_path / "lzw.tif", _values("uint8"), BOUNDS, compress="lzw")
    assert _plain_chip(path.read_bytes(), [0]) is None
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


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_band_and_the_header_agree_with_gdal(tmp_path, layout):
    options = dict(LAYOUTS[layout])
    values = _values("uint16", bands=3)
    path = write_chip(tmp_path / "chip.tif", values, BOUNDS, crs="EPSG:32632", nodata=7, **options)
    with rasterio.open(path) as dataset:
        dataset_pixels = dataset.read()
    assert _plain_chip(path.read_bytes(), None) is not None, "this layout should take the fast path"
    np.testing.assert_array_equal(read_chip(path, all_bands=True).values, dataset_pixels)
    np.testing.assert_array_equal(read_pixels(path), dataset_pixels)
    np.testing.assert_array_equal(read_pixels(path, [2, 0]), dataset_pixels[[2, 0]])
    np.testing.assert_array_equal(decode_pixels(path.read_bytes(), [1]), dataset_pixels[[1]])
    fast, gdal = read_header(path), _header_with_rasterio(path)
    assert fast == gdal  # every field, the path and the band descriptions included


def test_the_fast_header_reader_agrees_with_gdal(tmp_path):
    """Moved from the mosaic's tests, with chips as ``geet mosaic``'s tests write them."""
    for name, crs, bounds, nodata in (
        ("a", "EPSG:4326", (6.00, 49.60, 6.01, 49.61), 0),
        ("b", "EPSG:32632", (300000.0, 5500000.0, 301000.0, 5501000.0), None),
    ):
        path = tmp_path / f"{name}.tif"
        with rasterio.open(
            path,
            "w",
            driver="GTiff",
            width=100,
            height=100,
            count=3,
            dtype="uint8",
            crs=crs,
            transform=rasterio.transform.from_bounds(*bounds, 100, 100),
            nodata=nodata,
            tiled=True,
            blockxsize=112,
            blockysize=112,
            compress="deflate",
        ) as dataset:
            dataset.write(np.full((3, 100, 100), 9, dtype=np.uint8))
            dataset.descriptions = ("b0", "b&<1>", 'say "2"')
        assert_header_agrees_with_gdal(path)
        fast, gdal = read_header(path), _header_with_rasterio(path)
        assert fast.descriptions == gdal.descriptions == ("b0", "b&<1>", 'say "2"')


def test_pixels_need_no_georeferencing(tmp_path):
    path = tmp_path / "plain.tif"
    values = _values("int16", bands=2)
    with rasterio.open(path, "w", driver="GTiff", width=45, height=37, count=2, dtype="int16") as out:
        out.write(values)
    np.testing.assert_array_equal(read_pixels(path), values)
    with pytest.raises(UnreadableChip, match="CRS"):
        read_header(path)


def test_read_pixels_and_header_of_damaged_files_are_unreadable(tmp_path):
    with pytest.raises(UnreadableChip, match="missing"):
        read_pixels(tmp_path / "nope.tif")
    with pytest.raises(UnreadableChip, match="missing"):
        read_header(tmp_path / "nope.tif")
    (tmp_path / "text.tif").write_text("not a tiff")
    for call in (read_pixels, read_header, lambda p: decode_pixels(p.read_bytes())):
        with pytest.raises(UnreadableChip, match="unreadable"):
            call(tmp_path / "text.tif")


def test_why_undecodable(tmp_path):
    path = write_chip(tmp_path / "chip.tif", _values("uint8", bands=3), BOUNDS, blockxsize=16, blockysize=16)
    assert why_undecodable(path) is None
    data = path.read_bytes()
    path.write_bytes(data[:-64])  # the last tile cut: the header and the first tiles still read
    assert read_header(path).width == 45
    reason = why_undecodable(path)
    assert reason and "\n" not in reason
    path.write_bytes(b"")
    assert why_undecodable(path) == "empty file"


def test_a_verified_header_needs_every_pixel(tmp_path):
    from geetiles.tiff.reader import verified_header
    from geetiles.tiff.writer import encode_geotiff

    data = encode_geotiff(
        _values("uint8", bands=3),
        "EPSG:4326",
        (1e-4, 0, 6.0, 0, -1e-4, 49.7),
        ["a", "b", "c"],
        0,
        {"geetiles_request": "r1"},
    )
    header = verified_header(data)
    assert (header.width, header.height, header.count, header.metadata) == (45, 37, 3, {"geetiles_request": "r1"})
    for cut in (len(data) // 2, len(data) - 40):
        with pytest.raises(UnreadableChip, match="unreadable"):
            verified_header(data[:cut])
