"""TIFF headers: the first IFD from a file's first bytes alone, and GDAL's metadata items read as GDAL
reads them."""

import numpy as np
import rasterio

from geetiles.tiff import read_header
from geetiles.tiff.reader import _header_with_rasterio

BOUNDS = (5.9, 49.6, 5.91, 49.61)


def test_a_header_is_read_from_the_first_bytes_alone():
    """geetiles writes the IFD first: the header of a big chip comes from its first bytes, not its tiles."""
    from geetiles.tiff.header import plain_header, read_ifd
    from geetiles.tiff.writer import encode_geotiff

    data = encode_geotiff(
        np.ones((3, 1000, 1000), dtype=np.uint8), "EPSG:32632", (10.0, 0, 3e5, 0, -10.0, 5.5e6), ["r", "g", "b"], 0
    )
    whole, head = plain_header(read_ifd(data)), plain_header(read_ifd(data[:2000]))
    assert head == whole and head.transform == (3e5, 10.0, 0.0, 5.5e6, 0.0, -10.0)
    assert head.descriptions == ("r", "g", "b")
    assert read_ifd(data[:6]) is None and read_ifd(data[:40]) is None and read_ifd(b"GIF89a" + bytes(100)) is None


def test_metadata_items_agree_with_gdal(tmp_path):
    path = tmp_path / "tagged.tif"
    items = {"geetiles_request": "0123abcd", "odd": "a&b <c> \"d\" 'e'"}
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=8,
        height=8,
        count=1,
        dtype="uint8",
        crs="EPSG:4326",
        transform=rasterio.transform.from_bounds(*BOUNDS, 8, 8),
    ) as out:
        out.write(np.zeros((1, 8, 8), dtype=np.uint8))
        out.update_tags(**items)
        out.update_tags(ns="other", hidden="not the dataset's own")
    fast, gdal = read_header(path), _header_with_rasterio(path)
    assert fast.metadata == gdal.metadata == items
