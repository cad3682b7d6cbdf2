"""The one writer: the download's GeoTIFFs and the export's COGs read back in GDAL exactly as what rasterio
and GDAL's COG driver write, across dtypes, band counts, sizes, CRSs and transforms; and what only
rasterio can write goes to rasterio."""

import hashlib
import logging
import struct

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.io import MemoryFile

from geetiles.tiff import cog, writer
from geetiles.tiff.cog import encode_cog, write_cog
from geetiles.tiff.writer import encode_geotiff, geotiff_with_rasterio

UTM = ("EPSG:32633", (500000.0, 10.0, 0.0, 5500000.0, 0.0, -10.0))
GEOGRAPHIC = ("EPSG:4326", (6.0, 0.0001, 0.0, 49.8, 0.0, -0.0001))
NODATA = {"uint8": 0, "int16": -9999, "uint16": 65535, "float32": float("nan")}
GHOST_KEYS = (
    "LAYOUT=IFDS_BEFORE_DATA",
    "BLOCK_ORDER=ROW_MAJOR",
    "BLOCK_LEADER=SIZE_AS_UINT4",
    "BLOCK_TRAILER=LAST_4_BYTES_REPEATED",
    "KNOWN_INCOMPATIBLE_EDITION=NO",
)


def chip(dtype, count, height, width, seed=0):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(count, height, width)) * 1000
    if np.dtype(dtype).kind == "u":
        values = np.abs(values)
    array = np.clip(values, np.iinfo(dtype).min, np.iinfo(dtype).max) if np.dtype(dtype).kind in "iu" else values
    return array.astype(dtype)


def read_back(path):
    """What GDAL reads, with every GDAL message it emits on the way (debug output on)."""
    with rasterio.Env(CPL_DEBUG=True), rasterio.open(path) as dataset:
        return dict(
            pixels=dataset.read(),
            transform=dataset.transform.to_gdal(),
            crs=dataset.crs,
            nodata=dataset.nodata,
            descriptions=dataset.descriptions,
            structure=dataset.tags(ns="IMAGE_STRUCTURE"),
            blocks=dataset.block_shapes,
            overviews=dataset.overviews(1),
            tags=dataset.tags(),
            colorinterp=dataset.colorinterp,
            colormap=dataset.colormap(1) if dataset.colorinterp[0].name == "palette" else None,
        )


def gdal_complaints(records):
    """GDAL warnings and errors (rasterio logs them at WARNING or above), and any CPLE other than debug."""
    return [
        r.getMessage()
        for r in records
        if r.name.startswith("rasterio")  # not asyncio's (another test's server)
        and (r.levelno >= logging.WARNING or ("CPLE_" in r.getMessage() and "CPLE_None" not in r.getMessage()))
    ]


def cog_errors(path):
    """GDAL's validate_cloud_optimized_geotiff checks (full check), on GDAL's view of the file plus its bytes."""
    data = open(path, "rb").read()
    errors = []
    if data[:4] != b"II*\0":
        return ["not a little-endian classic TIFF"]
    pattern_size = len("GDAL_STRUCTURAL_METADATA_SIZE=000000 bytes\n")
    head = data[8 : 8 + pattern_size].decode("latin1")
    if not head.startswith("GDAL_STRUCTURAL_METADATA_SIZE="):
        return ["no ghost area"]
    size = int(head[len("GDAL_STRUCTURAL_METADATA_SIZE=") :][:6])
    ghost = data[8 + pattern_size : 8 + pattern_size + size].decode("latin1")
    errors += [f"ghost area lacks {key}" for key in GHOST_KEYS if key not in ghost]
    expected_ifd = 8 + pattern_size + size
    expected_ifd += expected_ifd % 2
    with rasterio.open(path) as dataset:
        main = dataset.get_tag_item("IFD_OFFSET", "TIFF", bidx=1)
        if int(main) != expected_ifd:
            errors.append(f"main IFD at {main}, expected {expected_ifd}")
        levels = [None, *range(len(dataset.overviews(1)))]
        shapes = [(dataset.width, dataset.height)] + [
            (-(-dataset.width // f), -(-dataset.height // f)) for f in dataset.overviews(1)
        ]
        if max(dataset.width, dataset.height) > 512 and not dataset.overviews(1):
            errors.append("larger than 512 pixels without overviews")
        ifds = [int(dataset.get_tag_item("IFD_OFFSET", "TIFF", bidx=1, ovr=o)) for o in levels]
        if ifds != sorted(ifds):
            errors.append("overview IFDs not after the main one")
        block_w, block_h = dataset.block_shapes[0][1], dataset.block_shapes[0][0]
        first_blocks = []
        for level, (width, height) in zip(levels, shapes):
            last = 0
            offsets = []
            for band in range(1, dataset.count + 1):
                for y in range(-(-height // block_h)):
                    for x in range(-(-width // block_w)):
                        offset = int(dataset.get_tag_item(f"BLOCK_OFFSET_{x}_{y}", "TIFF", bidx=band, ovr=level) or 0)
                        count = int(dataset.get_tag_item(f"BLOCK_SIZE_{x}_{y}", "TIFF", bidx=band, ovr=level) or 0)
                        if offset == 0 or offset in offsets:  # pixel-interleaved: every band shares its block
                            continue
                        offsets.append(offset)
                        if offset < last:
                            errors.append(f"block ({x}, {y}) of level {level} before the previous one")
                        last = offset
                        if struct.unpack_from("<I", data, offset - 4)[0] != count:
                            errors.append(f"block ({x}, {y}) of level {level}: wrong leader")
                        if data[offset + count - 4 : offset + count] != data[offset + count : offset + count + 4]:
                            errors.append(f"block ({x}, {y}) of level {level}: wrong trailer")
            first_blocks.append(min(offsets))
        if first_blocks[-1] < ifds[-1]:
            errors.append("first block before the last IFD")
        if first_blocks != sorted(first_blocks, reverse=True):
            errors.append("imagery not ordered from the smallest overview to the main image")
    errors += structure_errors(data)
    return errors


def structure_errors(data):
    """From the bytes: every IFD and out-of-line tag value (tile offsets and sizes included) lies before
    the first tile's leader, and the file ends with the last tile's trailer."""
    errors, ifd, ends, tiles = [], struct.unpack_from("<I", data, 4)[0], [], []
    sizes = {1: 1, 2: 1, 3: 2, 4: 4, 12: 8, 16: 8}
    while ifd:
        (n,) = struct.unpack_from("<H", data, ifd)
        ends.append(ifd + 2 + 12 * n + 4)
        entries = {}
        for i in range(n):
            tag, kind, count, value = struct.unpack_from("<HHII", data, ifd + 2 + 12 * i)
            nbytes = sizes[kind] * count
            if nbytes > 4:
                ends.append(value + nbytes)
                raw = data[value : value + nbytes]
            else:
                raw = data[ifd + 10 + 12 * i : ifd + 10 + 12 * i + nbytes]
            if tag in (324, 325):
                entries[tag] = struct.unpack(f"<{count}{'H' if kind == 3 else 'I'}", raw)
        tiles += [(o, c) for o, c in zip(entries[324], entries[325]) if o]
        (ifd,) = struct.unpack_from("<I", data, ifd + 2 + 12 * n)
    if max(ends) > min(o for o, _ in tiles) - 4:
        errors.append("IFD data after the first tile")
    if max(o + c for o, c in tiles) + 4 != len(data):
        errors.append("bytes after the last tile's trailer")
    return errors


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


def test_big_chip_falls_back_to_gdal_and_is_still_a_cog(tmp_path, caplog):
    array = chip("uint16", 2, 1000, 1000)
    assert encode_cog(array, *UTM, ["a", "b"], 0) is None
    path = tmp_path / "big.tif"
    with caplog.at_level(logging.DEBUG, logger="rasterio"):  # other tests may have quietened it (geet does)
        digest = write_cog(path, array, *UTM, ["a", "b"], 0, metadata={"source": "test"})
        back = read_back(path)
    assert gdal_complaints(caplog.records) == []
    assert back["structure"]["LAYOUT"] == "COG" and back["overviews"]
    assert np.array_equal(back["pixels"], array) and back["transform"] == UTM[1] and back["descriptions"] == ("a", "b")
    assert back["tags"]["source"] == "test"
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert cog_errors(path) == []


def test_crs_without_epsg_code_falls_back(tmp_path):
    wkt = (
        'PROJCS["custom",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
        'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Sinusoidal"],'
        'PARAMETER["longitude_of_center",0],PARAMETER["false_easting",0],PARAMETER["false_northing",0],'
        'UNIT["metre",1]]'
    )
    array = chip("uint8", 1, 20, 30)
    assert encode_cog(array, wkt, UTM[1], ["x"], 0) is None
    path = tmp_path / "custom.tif"
    write_cog(path, array, wkt, UTM[1], ["x"], 0)
    back = read_back(path)
    assert "Sinusoidal" in back["crs"].to_wkt() and back["structure"]["LAYOUT"] == "COG"
    assert np.array_equal(back["pixels"], array)


@pytest.mark.parametrize(
    "array",
    [
        chip("uint8", 1, 4, 4).astype(">u2"),
        chip("uint8", 1, 4, 4).astype("float16"),
        chip("uint8", 1, 4, 4).astype(bool),
        chip("uint8", 1, 520, 16),
    ],
)
def test_inputs_the_fast_encoder_cannot_express(array):
    assert encode_cog(array, *UTM, ["x"], None) is None


def test_sheared_transform_and_metadata(tmp_path):
    transform = (100.0, 2.0, 0.5, 200.0, 0.25, -2.0)
    array = chip("int16", 2, 33, 17)
    path = tmp_path / "sheared.tif"
    write_cog(path, array, "EPSG:3857", transform, ["x", "y"], -9999, metadata={"geetiles_request": "a&b"})
    back = read_back(path)
    assert back["transform"] == transform and back["tags"]["geetiles_request"] == "a&b"
    assert back["structure"]["LAYOUT"] == "COG" and np.array_equal(back["pixels"], array)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="colormap"):
        encode_cog(chip("uint8", 3, 10, 10), *UTM, ["a", "b", "c"], 0, colormap={0: (0, 0, 0)})
    with pytest.raises(ValueError, match="colormap"):
        encode_cog(chip("float32", 1, 10, 10), *UTM, ["a"], 0, colormap={0: (0, 0, 0)})
    with pytest.raises(ValueError, match="colormap entry"):
        encode_cog(chip("uint8", 1, 10, 10), *UTM, ["a"], 0, colormap={256: (0, 0, 0)})
    with pytest.raises(ValueError, match="band names"):
        encode_cog(chip("uint8", 3, 10, 10), *UTM, ["a"], 0)
    with pytest.raises(ValueError, match="shape"):
        encode_cog(np.zeros((10, 10), "uint8"), *UTM, [], 0)


def _fail_midway(path, *args, **kwargs):
    with open(path, "wb") as file:
        file.write(b"II*\0partial")
    raise OSError("disk full")


@pytest.mark.parametrize("size, function", [(100, "_write_file"), (1000, "_write_with_gdal")])
def test_a_write_that_fails_midway_leaves_no_file(tmp_path, monkeypatch, size, function):
    monkeypatch.setattr(cog, function, _fail_midway)
    path = tmp_path / "out" / "chip.tif"
    with pytest.raises(OSError, match="disk full"):
        write_cog(path, chip("uint8", 1, size, size), *UTM, ["a"], 0)
    assert list((tmp_path / "out").iterdir()) == []


def test_a_failed_rewrite_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "chip.tif"
    digest = write_cog(path, chip("uint8", 3, 100, 100), *UTM, ["a", "b", "c"], 0)
    monkeypatch.setattr(cog, "_write_file", _fail_midway)
    with pytest.raises(OSError):
        write_cog(path, chip("uint8", 3, 100, 100, seed=1), *UTM, ["a", "b", "c"], 0)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest and list(tmp_path.iterdir()) == [path]


# --- GeoTIFF (the download's chips) ----------------------------------------------------------------

GEOTIFF_CASES = [
    ("uint8", 3, 100, 100, "EPSG:4326", (0.0001, 0, 6.0, 0, -0.0001, 49.8), ["vis-red", "vis-green", "vis-blue"], 0),
    ("float32", 2, 300, 257, "EPSG:32632", (10.0, 0, 500000.0, 0, -10.0, 5500000.0), ["a&b", "<c>"], float("nan")),
    ("int16", 1, 17, 33, "EPSG:3857", (2.0, 0.5, 100.0, 0.25, -2.0, 200.0), ["x"], -9999),
    ("uint16", 40, 64, 64, "EPSG:32733", (30.0, 0, 0.0, 0, -30.0, 9000000.0), [f"b{i}" for i in range(40)], None),
    ("float64", 1, 5, 400, "EPSG:2169", (1.5, 0, 70000.0, 0, -1.5, 140000.0), ["elevation"], 1.5),
]


def read_blob(blob):
    with MemoryFile(blob) as memory, memory.open() as ds:
        meta = (
            ds.crs,
            tuple(ds.transform)[:6],
            ds.descriptions,
            ds.nodata,
            ds.dtypes,
            ds.block_shapes,
            ds.profile.get("compress"),
            ds.count,
            ds.width,
            ds.height,
        )
        return meta, ds.read()


@pytest.mark.parametrize("dtype, count, height, width, crs, transform, names, nodata", GEOTIFF_CASES)
def test_fast_encoder_reads_back_as_rasterio_writes(dtype, count, height, width, crs, transform, names, nodata):
    rng = np.random.default_rng(0)
    array = (rng.normal(size=(count, height, width)) * 1000).astype(dtype)
    assert writer.fast_geotiff(array, crs, transform, names, nodata) is not None  # no fallback
    fast_meta, fast_pixels = read_blob(encode_geotiff(array, crs, transform, names, nodata))
    ref_meta, ref_pixels = read_blob(geotiff_with_rasterio(array, crs, transform, names, nodata))
    nan_nodata = isinstance(nodata, float) and np.isnan(nodata)
    if nan_nodata:
        assert np.isnan(fast_meta[3]) and np.isnan(ref_meta[3])
    else:
        assert fast_meta[3] == ref_meta[3] == nodata
    assert fast_meta[:3] == ref_meta[:3] and fast_meta[4:] == ref_meta[4:]
    assert np.array_equal(fast_pixels, array, equal_nan=True) and np.array_equal(ref_pixels, array, equal_nan=True)


def test_unsupported_crs_falls_back_to_rasterio():
    array = np.ones((1, 4, 4), dtype=np.uint8)
    wkt = (
        'PROJCS["custom",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
        'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Sinusoidal"],'
        'PARAMETER["longitude_of_center",0],PARAMETER["false_easting",0],PARAMETER["false_northing",0],'
        'UNIT["metre",1]]'
    )
    assert writer.fast_geotiff(array, wkt, (1.0, 0, 0.0, 0, -1.0, 4.0), ["b"], 0) is None
    meta, pixels = read_blob(encode_geotiff(array, wkt, (1.0, 0, 0.0, 0, -1.0, 4.0), ["b"], 0))
    assert "Sinusoidal" in meta[0].to_wkt() and np.array_equal(pixels, array)


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
