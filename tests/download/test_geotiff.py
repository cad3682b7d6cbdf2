"""Checking a chip file on resume: read once, checked against its grid and request, checksummed."""

from __future__ import annotations

import numpy as np

from geetiles.download import geotiff

TRANSFORM = (0.001, 0.0, 6.0, 0.0, -0.001, 49.7)


def chip(tmp_path, request="req-a", name="c.tif"):
    data = geotiff.encode(
        np.arange(2 * 20 * 30, dtype=np.uint8).reshape(2, 20, 30), "EPSG:4326", TRANSFORM, ["a", "b"], 0, request
    )
    path = tmp_path / name
    path.write_bytes(data)
    return path, data


def expected(request="req-a", width=30):
    return geotiff.Expected(width, 20, 2, "uint8", "EPSG:4326", TRANSFORM, request)


def test_a_valid_chip_gets_the_checksum_the_worker_records(tmp_path):
    path, data = chip(tmp_path)
    found = geotiff.examine(path, expected())
    assert (found.state, found.request) == ("valid", "req-a")
    assert found.checksum == geotiff.checksum(data) and found.stat.st_size == len(data)


def test_an_untagged_chip_on_the_right_grid_is_valid(tmp_path):
    path, data = chip(tmp_path, request="")
    found = geotiff.examine(path, expected())
    assert (found.state, found.request, found.checksum) == ("valid", "", geotiff.checksum(data))


def test_another_request_wrong_grid_cut_short_or_garbage_is_never_adopted(tmp_path):
    path, data = chip(tmp_path)
    assert geotiff.examine(path, expected("req-b")).state == "changed"
    assert geotiff.examine(path, expected("req-b")).request == "req-a"
    assert geotiff.examine(path, expected(width=31)).state == "invalid"
    for cut in (len(data) // 2, len(data) - 40):  # the end of the last band's block is missing too
        path.write_bytes(data[:cut])
        found = geotiff.examine(path, expected())
        assert (found.state, found.checksum, found.stat.st_size) == ("invalid", "", cut)
    path.write_bytes(b"II*\x00" + b"\xff" * 64)
    assert geotiff.examine(path, expected()).state == "invalid" and geotiff.examine(path, expected()).checksum == ""
    assert geotiff.examine(tmp_path / "absent.tif", expected()).state == "invalid"
    assert geotiff.inspect(path, expected()) == "invalid"


def test_files_gdal_wrote_are_judged_alike(tmp_path):
    """The check reads plain files itself and hands the others (LZW here) to GDAL: the same verdicts."""
    import rasterio
    from affine import Affine

    from geetiles.tiff.writer import geotiff_with_rasterio

    pixels = np.arange(2 * 20 * 30, dtype=np.uint8).reshape(2, 20, 30)
    tagged = tmp_path / "tagged.tif"
    tag = {geotiff.REQUEST_TAG: "req-a"}
    tagged.write_bytes(geotiff_with_rasterio(pixels, "EPSG:4326", TRANSFORM, ["a", "b"], 0, tag))
    found = geotiff.examine(tagged, expected())
    assert (found.state, found.request) == ("valid", "req-a")
    assert geotiff.examine(tagged, expected("req-b")).state == "changed" and geotiff.file_request(tagged) == "req-a"
    lzw = tmp_path / "lzw.tif"
    with rasterio.open(
        lzw,
        "w",
        driver="GTiff",
        width=30,
        height=20,
        count=2,
        dtype="uint8",
        crs="EPSG:4326",
        transform=Affine(*TRANSFORM),
        compress="lzw",
    ) as out:
        out.write(pixels)
    assert (geotiff.examine(lzw, expected()).state, geotiff.examine(lzw, expected()).request) == ("valid", "")
    assert geotiff.examine(lzw, expected(width=31)).state == "invalid" and geotiff.file_request(lzw) == ""
    data = lzw.read_bytes()
    lzw.write_bytes(data[: len(data) // 2])
    assert geotiff.examine(lzw, expected()).state == "invalid"
