"""The fake server's computePixels answers: values, dtypes, formats, band inference and request limits.

The real `ee` client asks where it can; error paths use raw HTTP (`helpers.post`).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest

from tests.fake_ee import FakeEarthEngine
from tests.fake_ee.expressions import infer_bands
from tests.fake_ee.fixtures import ee_client, fake_ee  # noqa: F401
from tests.fake_ee.helpers import (
    COMPUTE_PIXELS,
    GRID_4326,
    GRID_UTM,
    affine6,
    error_of,
    expected_band,
    pixels_body,
    post,
)


def test_real_client_initialises_and_gets_rgb_pixels(ee_client, fake_ee: FakeEarthEngine) -> None:  # noqa: F811
    ee = ee_client
    chip = ee.data.computePixels({"expression": ee.Image("FAKE/RGB"), "fileFormat": "NUMPY_NDARRAY", "grid": GRID_4326})
    assert chip.shape == (100, 100)
    assert chip.dtype.names == ("red", "green", "blue")
    for i, name in enumerate(chip.dtype.names):
        assert chip.dtype[name] == np.uint8
        np.testing.assert_array_equal(chip[name], expected_band(GRID_4326, i, np.uint8))
    assert len(np.unique(chip["red"])) > 10, "values must vary across the chip to catch shifts"
    counts = fake_ee.requests
    assert counts["discovery"] >= 1 and counts["algorithms.list"] == 1 and counts["image.computePixels"] == 1


def test_projected_grid_values_follow_pixel_centres(ee_client) -> None:  # noqa: F811
    ee = ee_client
    chip = ee.data.computePixels(
        {"expression": ee.Image("FAKE/FLOAT"), "fileFormat": "NUMPY_NDARRAY", "grid": GRID_UTM}
    )
    assert chip.shape == (48, 64) and chip.dtype.names == ("value",) and chip.dtype["value"] == np.float32
    np.testing.assert_array_equal(chip["value"], expected_band(GRID_UTM, 0, np.float32))
    rgb = ee.data.computePixels({"expression": ee.Image("FAKE/RGB"), "fileFormat": "NUMPY_NDARRAY", "grid": GRID_UTM})
    np.testing.assert_array_equal(rgb["blue"], expected_band(GRID_UTM, 2, np.uint8))
    # UTM 32N at x=290 km is west of 9E: lon ~6.1, lat ~49.6, and the float band encodes lon + lat/100.
    assert 6.0 < float(chip["value"][0, 0]) - 0.496 < 6.2


def test_geotiff_has_requested_crs_and_transform(ee_client) -> None:  # noqa: F811
    from affine import Affine
    from rasterio.io import MemoryFile

    ee = ee_client
    data = ee.data.computePixels({"expression": ee.Image("FAKE/RGB"), "fileFormat": "GEO_TIFF", "grid": GRID_UTM})
    with MemoryFile(data) as memfile, memfile.open() as dataset:
        assert dataset.crs.to_epsg() == 32632
        assert dataset.transform == Affine(*affine6(GRID_UTM))
        assert (dataset.width, dataset.height, dataset.count) == (64, 48, 3)
        assert dataset.descriptions == ("red", "green", "blue")
        np.testing.assert_array_equal(dataset.read(2), expected_band(GRID_UTM, 1, np.uint8))


def test_band_inference_for_client_expressions(ee_client) -> None:  # noqa: F811
    ee = ee_client
    s2 = (
        ee.ImageCollection("COPERNICUS/S2_SR_HARMONIZED")
        .filterDate("2020-01-01", "2021-01-01")
        .filter(ee.Filter.lt("CLOUDY_PIXEL_PERCENTAGE", 20))
        .map(lambda i: i.divide(10000))
        .select(["B4", "B3", "B2"])
        .median()
        .visualize(min=0, max=0.3)
    )
    chip = ee.data.computePixels({"expression": s2, "fileFormat": "NUMPY_NDARRAY", "grid": GRID_4326})
    assert [(n, chip.dtype[n]) for n in chip.dtype.names] == [(f"vis-{c}", np.uint8) for c in ("red", "green", "blue")]
    landcover = ee.data.computePixels(
        {"expression": ee.Image("ESA/WorldCover/v100").select("Map"), "fileFormat": "NUMPY_NDARRAY", "grid": GRID_4326}
    )
    assert landcover.dtype.names == ("Map",) and landcover.dtype["Map"] == np.uint8

    def bands(image: Any) -> list[tuple[str, str]]:
        return [(name, dtype.name) for name, dtype in infer_bands(ee.serializer.encode(image))]

    s2_image = ee.Image("COPERNICUS/S2_SR_HARMONIZED")
    assert bands(s2_image.select(["B8", "B4"], ["nir", "red"]).toFloat()) == [("nir", "float32"), ("red", "float32")]
    assert bands(s2_image.select("B8").divide(s2_image.select("B4"))) == [("B8", "uint16")]  # union of types
    assert bands(s2_image.select(["B8", "B4"]).divide(10000.0)) == [("B8", "float32"), ("B4", "float32")]
    assert bands(s2_image.select("B8").add(ee.Image("FAKE/FLOAT").toDouble())) == [("B8", "float64")]
    assert bands(s2_image.select("B8").subtract(s2_image.select("B4"))) == [("B8", "uint16")]
    assert bands(ee.Image("FAKE/RGB").addBands(ee.Image("FAKE/FLOAT")).clip(ee.Geometry.Point([6, 49]))) == [
        ("red", "uint8"),
        ("green", "uint8"),
        ("blue", "uint8"),
        ("value", "float32"),
    ]
    assert bands(ee.ImageCollection("ESA/WorldCover/v200").mosaic().unmask(0).reproject("EPSG:3857", None, 10)) == [
        ("Map", "uint8")
    ]
    assert bands(ee.Image("FAKE/RGB").select("red").visualize(palette=["000000", "ffffff"])) == [
        ("vis-red", "uint8"),
        ("vis-green", "uint8"),
        ("vis-blue", "uint8"),
    ]
    assert bands(ee.Image.constant(3).rename("three").toInt16()) == [("three", "int16")]
    assert ee.Image("FAKE/RGB").bandNames().getInfo() == ["red", "green", "blue"]
    assert ee.Number(1).add(1).getInfo() == 2
    assert bands(ee.Terrain.slope(ee.Image("CGIAR/SRTM90_V4"))) == [("slope", "float32")]
    fire = ee.ImageCollection("ESA/CCI/FireCCI/5_1").select(["BurnDate", "LandCover"])
    assert bands(fire.qualityMosaic("BurnDate")) == [("BurnDate", "int16"), ("LandCover", "uint8")]
    from tests.fake_ee.expressions import ExpressionError

    with pytest.raises(ExpressionError, match="'ConfidenceLevel' not found"):
        bands(fire.qualityMosaic("ConfidenceLevel"))


def test_bad_band_is_a_400_that_names_the_band(ee_client, fake_ee: FakeEarthEngine) -> None:  # noqa: F811
    ee = ee_client
    with pytest.raises(ee.EEException, match="B99") as excinfo:
        ee.data.computePixels(
            {
                "expression": ee.Image("COPERNICUS/S2_SR_HARMONIZED").select("B99"),
                "fileFormat": "NUMPY_NDARRAY",
                "grid": GRID_4326,
            }
        )
    assert "Available bands: [B1, B2" in str(excinfo.value)
    assert fake_ee.compute_pixels_calls == 1, "a 400 must not be retried"
    with pytest.raises(ee.EEException, match="Image asset 'NOPE/NOPE' not found"):
        ee.data.computePixels({"expression": ee.Image("NOPE/NOPE"), "fileFormat": "NUMPY_NDARRAY", "grid": GRID_4326})
    with pytest.raises(ee.EEException, match="User memory limit exceeded."):
        ee.data.computePixels(
            {"expression": ee.Image("FAKE/USER_MEMORY"), "fileFormat": "NUMPY_NDARRAY", "grid": GRID_4326}
        )
    assert sum(fake_ee.calls_by_grid.values()) == 0


def test_size_and_side_limits(fake_ee: FakeEarthEngine) -> None:  # noqa: F811
    big = {**GRID_4326, "dimensions": {"width": 3000, "height": 3000}}
    status, content_type, body = post(fake_ee.url, COMPUTE_PIXELS, pixels_body(grid=big))
    assert (status, content_type) == (400, "application/json")
    size = 3000 * 3000 * 3 * (1 + 1)  # three uint8 bands: one value byte plus one mask byte each
    assert error_of(body) == {
        "code": 400,
        "message": f"Total request size ({size} bytes) must be less than or equal to 50331648 bytes.",
        "status": "INVALID_ARGUMENT",
    }
    fake_ee.max_request_bytes = size
    fake_ee.max_side = 2999
    status, _, body = post(fake_ee.url, COMPUTE_PIXELS, pixels_body(grid=big))
    assert (
        status == 400 and error_of(body)["message"] == "Grid dimensions (3000x3000) must be less than or equal to 2999."
    )
    fake_ee.max_request_bytes = 100 * 100 * 6 - 1
    status, _, body = post(fake_ee.url, COMPUTE_PIXELS, pixels_body())
    assert status == 400 and error_of(body)["message"].startswith("Total request size (60000 bytes)")


def test_counters_and_npy_bytes(fake_ee: FakeEarthEngine) -> None:  # noqa: F811
    for translate_x in (6.1, 6.1, 6.11):
        grid = {**GRID_4326, "affineTransform": {**GRID_4326["affineTransform"], "translateX": translate_x}}
        status, content_type, body = post(fake_ee.url, COMPUTE_PIXELS, pixels_body(grid=grid, bandIds=["blue"]))
        assert (status, content_type) == (200, "application/octet-stream")
    chip = np.load(io.BytesIO(body))
    assert chip.dtype.names == ("blue",)
    assert fake_ee.compute_pixels_calls == 3
    assert fake_ee.calls_by_grid == {("EPSG:4326", 6.1, 49.62, 100, 100): 2, ("EPSG:4326", 6.11, 49.62, 100, 100): 1}
    assert fake_ee.requests["image.computePixels"] == 3 and len(fake_ee.request_times) == 3
    fake_ee.reset_counters()
    assert (fake_ee.compute_pixels_calls, fake_ee.max_in_flight, fake_ee.request_times) == (0, 0, [])
    assert not fake_ee.calls_by_grid and not fake_ee.requests
