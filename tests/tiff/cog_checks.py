"""What the COG tests share: the grids, seeded chips, what GDAL reads back from a file (and complains of on
the way), and GDAL's validate_cloud_optimized_geotiff checks on GDAL's view of a file plus its bytes."""

import logging
import struct

import numpy as np
import rasterio

UTM = ("EPSG:32633", (500000.0, 10.0, 0.0, 5500000.0, 0.0, -10.0))
GEOGRAPHIC = ("EPSG:4326", (6.0, 0.0001, 0.0, 49.8, 0.0, -0.0001))
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
