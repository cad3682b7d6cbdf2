"""The export's COGs: they read back in GDAL exactly as what GDAL's COG driver writes, across dtypes, band
counts, sizes, CRSs, transforms, colormaps and metadata, laid out byte for byte as GDAL lays them out; and
chips of one kind share one IFD prefix."""

import hashlib
import logging
import struct

import numpy as np
import pytest
import rasterio
from affine import Affine

from geetiles.tiff import cog
from geetiles.tiff.cog import encode_cog, write_cog
from tests.tiff.cog_checks import GEOGRAPHIC, UTM, chip, cog_errors, gdal_complaints, read_back

NODATA = {"uint8": 0, "int16": -9999, "uint16": 65535, "float32": float("nan")}


CASES = [
    (dtype, count, size, crs)
    for dtype in ("uint8", "int16", "uint16", "float32")
    for count in (1, 3, 12)
    for size in ((37, 45), (100, 100), (256, 256))
    for crs in (GEOGRAPHIC, UTM)
]


@pytest.mark.parametrize("dtype, count, size, crs", CASES)
def test_fast_cog_reads_back_exactly_as_a_cog(tmp_path, caplog, dtype, count, size, crs):
    array = chip(dtype, count, *size)
    names = [f"band {i} <&>" for i in range(count)]
    crs_text, transform = crs
    assert encode_cog(array, crs_text, transform, names, NODATA[dtype]) is not None  # no fallback
    path = tmp_path / "chip.tif"
    with caplog.at_level(logging.DEBUG, logger="rasterio"):  # other tests may have quietened it (geet does)
        digest = write_cog(path, array, crs_text, transform, names, NODATA[dtype])
        back = read_back(path)
    assert gdal_complaints(caplog.records) == []
    assert np.array_equal(back["pixels"], array, equal_nan=True) and back["pixels"].dtype == array.dtype
    assert back["transform"] == transform
    assert back["crs"] == rasterio.crs.CRS.from_string(crs_text) and back["crs"].to_epsg() == int(crs_text[5:])
    assert back["nodata"] == NODATA[dtype] or (np.isnan(back["nodata"]) and np.isnan(NODATA[dtype]))
    assert back["descriptions"] == tuple(names)
    assert back["structure"]["LAYOUT"] == "COG" and back["structure"]["COMPRESSION"] == "DEFLATE"
    assert back["structure"]["INTERLEAVE"] == ("PIXEL" if count > 1 else "BAND")
    assert back["blocks"][0] == (-(-max(size) // 16) * 16,) * 2 and back["overviews"] == []
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert cog_errors(path) == []


def test_ghost_area_is_byte_for_byte_what_gdal_writes(tmp_path):
    array = chip("uint8", 3, 100, 100)
    reference = tmp_path / "gdal.tif"
    with rasterio.open(
        reference,
        "w",
        driver="COG",
        width=100,
        height=100,
        count=3,
        dtype="uint8",
        crs="EPSG:4326",
        transform=Affine.from_gdal(*GEOGRAPHIC[1]),
        compress="deflate",
        blocksize=112,
    ) as dataset:
        dataset.write(array)
    gdal_bytes = reference.read_bytes()
    ours = encode_cog(array, *GEOGRAPHIC, ["r", "g", "b"], None)
    gdal_ifd = struct.unpack_from("<I", gdal_bytes, 4)[0]
    assert ours[:8] == gdal_bytes[:8] == b"II*\0" + struct.pack("<I", gdal_ifd)
    assert ours[8:gdal_ifd] == gdal_bytes[8:gdal_ifd] == cog.GHOST_AREA
    assert cog_errors(reference) == []  # the checker accepts GDAL's own output


def test_the_checks_see_what_gdal_and_the_validator_would_flag(tmp_path, caplog):
    data = bytearray(encode_cog(chip("uint8", 3, 100, 100), *UTM, ["a", "b", "c"], 0))
    # what GDAL writes once a COG has been edited in place
    edited = data.replace(b"KNOWN_INCOMPATIBLE_EDITION=NO\n ", b"KNOWN_INCOMPATIBLE_EDITION=YES\n")
    assert len(edited) == len(data) and edited != data
    path = tmp_path / "edited.tif"
    path.write_bytes(bytes(edited))
    with caplog.at_level(logging.DEBUG, logger="rasterio"):  # other tests may have quietened it (geet does)
        back = read_back(path)
    assert "LAYOUT" not in back["structure"] and any("invalidated" in m for m in gdal_complaints(caplog.records))
    data[-1] ^= 0xFF  # a broken trailer
    path.write_bytes(bytes(data))
    assert cog_errors(path) == ["block (0, 0) of level None: wrong trailer"]


def test_leader_and_trailer_frame_the_tile():
    data = encode_cog(chip("int16", 3, 50, 60), *UTM, ["a", "b", "c"], -9999)
    ifd = struct.unpack_from("<I", data, 4)[0]
    entries = {
        struct.unpack_from("<H", data, ifd + 2 + 12 * i)[0]: struct.unpack_from("<I", data, ifd + 10 + 12 * i)[0]
        for i in range(struct.unpack_from("<H", data, ifd)[0])
    }
    offset, count = entries[324], entries[325]
    assert ifd == 8 + len(cog.GHOST_AREA) == 192
    assert struct.unpack_from("<I", data, offset - 4)[0] == count
    assert data[offset + count :] == data[offset + count - 4 : offset + count] and len(data) == offset + count + 4
    assert data[offset : offset + 1] == b"\x78"  # a zlib stream


@pytest.mark.parametrize("dtype, nodata", [("uint8", 0), ("uint8", None), ("uint16", 255)])
def test_colormap_round_trips_as_gdal_writes_it(tmp_path, caplog, dtype, nodata):
    labels = np.random.default_rng(3).integers(0, 5, (1, 64, 80)).astype(dtype)
    colors = {
        0: (0, 0, 0),
        1: (255, 0, 0, 255),
        2: (0, 128, 255),
        3: (12, 34, 56, 255),
        4: (255, 255, 255),
        255: (1, 2, 3),
    }
    path, reference = tmp_path / "label.tif", tmp_path / "gdal.tif"
    with caplog.at_level(logging.DEBUG, logger="rasterio"):  # other tests may have quietened it (geet does)
        write_cog(path, labels, *UTM, ["class"], nodata, colormap=colors)
        back = read_back(path)
    assert gdal_complaints(caplog.records) == []
    with rasterio.open(
        reference,
        "w",
        driver="COG",
        width=80,
        height=64,
        count=1,
        dtype=dtype,
        crs=UTM[0],
        transform=Affine.from_gdal(*UTM[1]),
        nodata=nodata,
        compress="deflate",
    ) as dataset:
        dataset.write(labels)
        dataset.write_colormap(1, colors)
    with rasterio.open(reference) as dataset:
        assert back["colormap"] == dataset.colormap(1)
    assert back["colorinterp"][0].name == "palette" and len(back["colormap"]) == 2 ** (8 * np.dtype(dtype).itemsize)
    for value, color in colors.items():  # TIFF keeps no alpha: GDAL reads 255, or 0 for the nodata entry
        assert back["colormap"][value] == (*color[:3], 0 if value == nodata else 255)
    assert np.array_equal(back["pixels"], labels) and back["structure"]["LAYOUT"] == "COG"
    assert cog_errors(path) == []


def test_sheared_transform_and_metadata(tmp_path):
    transform = (100.0, 2.0, 0.5, 200.0, 0.25, -2.0)
    array = chip("int16", 2, 33, 17)
    path = tmp_path / "sheared.tif"
    write_cog(path, array, "EPSG:3857", transform, ["x", "y"], -9999, metadata={"geetiles_request": "a&b"})
    back = read_back(path)
    assert back["transform"] == transform and back["tags"]["geetiles_request"] == "a&b"
    assert back["structure"]["LAYOUT"] == "COG" and np.array_equal(back["pixels"], array)


def test_chips_of_one_kind_share_an_ifd_yet_each_has_its_own_tie_point_and_tile(tmp_path):
    """The IFD is built once per kind of chip and only the tie point and tile size are written per chip:
    each file must still read back with its own grid and pixels, and a rotated grid is built whole."""
    cog._cog_prefix.cache_clear()
    rng = np.random.default_rng(3)
    for index in range(6):
        array = chip("uint16", 3, 20, 20, seed=index) // (1 + 500 * index)  # tiles of different sizes
        x0, y0 = float(rng.uniform(2e5, 8e5)), float(rng.uniform(1e6, 9e6))
        transform = (x0, 10.0, 0.0, y0, 0.0, -10.0) if index < 5 else (x0, 10.0, 0.5, y0, 0.25, -10.0)
        path = tmp_path / f"{index}.tif"
        write_cog(path, array, "EPSG:32633", transform, ["a", "b", "c"], 0)
        back = read_back(path)
        assert back["transform"] == pytest.approx(transform) and np.array_equal(back["pixels"], array)
        assert cog_errors(path) == []
    assert cog._cog_prefix.cache_info().misses == 1 and cog._cog_prefix.cache_info().hits == 4
