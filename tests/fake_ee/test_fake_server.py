"""The fake Earth Engine server speaks enough of the REST API for the real `ee` client.

Error paths use raw HTTP to 127.0.0.1 because the ee client retries 429/5xx with sleeps.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.fake_ee import FakeEarthEngine
from tests.fake_ee.expressions import infer_bands
from tests.fake_ee.fixtures import PROJECT, ee_client, fake_ee  # noqa: F401
from tests.fake_ee.pixels import pixel_values

REPO = Path(__file__).resolve().parents[2]
COMPUTE_PIXELS = f"/v1/projects/{PROJECT}/image:computePixels"
# 100 x 100 pixels over a 0.01 degree box in Luxembourg.
GRID_4326 = {
    "dimensions": {"width": 100, "height": 100},
    "affineTransform": {
        "scaleX": 0.0001,
        "shearX": 0,
        "translateX": 6.1,
        "shearY": 0,
        "scaleY": -0.0001,
        "translateY": 49.62,
    },
    "crsCode": "EPSG:4326",
}
# 64 x 48 pixels of 10 m in UTM 32N, same area.
GRID_UTM = {
    "dimensions": {"width": 64, "height": 48},
    "affineTransform": {
        "scaleX": 10,
        "shearX": 0,
        "translateX": 290000,
        "shearY": 0,
        "scaleY": -10,
        "translateY": 5500000,
    },
    "crsCode": "EPSG:32632",
}
RGB_EXPRESSION = {
    "result": "0",
    "values": {
        "0": {
            "functionInvocationValue": {
                "functionName": "Image.load",
                "arguments": {"id": {"constantValue": "FAKE/RGB"}},
            }
        }
    },
}


def affine6(grid: dict[str, Any]) -> tuple[float, ...]:
    a = grid["affineTransform"]
    return tuple(float(a[k]) for k in ("scaleX", "shearX", "translateX", "shearY", "scaleY", "translateY"))


def expected_band(grid: dict[str, Any], index: int, dtype: Any) -> np.ndarray:
    d = grid["dimensions"]
    return pixel_values(grid["crsCode"], affine6(grid), d["width"], d["height"], index, dtype)


def post(
    base: str, path: str, body: Any, token: str | None = "test-token", form: bool = False
) -> tuple[int, str, bytes]:
    """Raw POST without proxies or retries: (status, content type, body)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if form:
        data = urllib.parse.urlencode(body).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    else:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(base + path, data=data, headers=headers, method="POST")
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get_content_type(), err.read()


def pixels_body(
    expression: dict[str, Any] = RGB_EXPRESSION, grid: dict[str, Any] = GRID_4326, **extra: Any
) -> dict[str, Any]:
    return {"expression": expression, "fileFormat": "NPY", "grid": grid, **extra}


def error_of(body: bytes) -> dict[str, Any]:
    return json.loads(body)["error"]


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


def test_missing_or_wrong_token_is_401(fake_ee: FakeEarthEngine) -> None:  # noqa: F811
    for token in (None, "wrong-token"):
        status, content_type, body = post(fake_ee.url, COMPUTE_PIXELS, pixels_body(), token=token)
        assert (status, content_type) == (401, "application/json")
        assert error_of(body) == {
            "code": 401,
            "message": "Request had invalid authentication credentials.",
            "status": "UNAUTHENTICATED",
        }
    assert post(fake_ee.url, COMPUTE_PIXELS, pixels_body())[0] == 200
    with FakeEarthEngine(token=None) as open_server:
        assert post(open_server.url, COMPUTE_PIXELS, pixels_body(), token=None)[0] == 200


def test_latency_overlaps_concurrent_requests(fake_ee: FakeEarthEngine) -> None:  # noqa: F811
    fake_ee.latency_s = 1.0  # long enough that all 20 are in flight at once even on a loaded machine
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: post(fake_ee.url, COMPUTE_PIXELS, pixels_body()), range(20)))
    elapsed = time.monotonic() - started
    assert [status for status, _, _ in results] == [200] * 20
    assert 1.0 <= elapsed < 10.0, elapsed  # one after another would take 20 x 1 = 20 s
    assert fake_ee.max_in_flight == 20 and fake_ee.in_flight == 0
    times = fake_ee.request_times
    assert len(times) == 20


def test_injected_errors(fake_ee: FakeEarthEngine) -> None:  # noqa: F811
    fake_ee.error_rate = 1.0
    fake_ee.error_statuses = (429,)
    status, content_type, body = post(fake_ee.url, COMPUTE_PIXELS, pixels_body())
    assert (status, content_type) == (429, "application/json")
    assert error_of(body) == {
        "code": 429,
        "message": "Too many concurrent aggregations.",
        "status": "RESOURCE_EXHAUSTED",
    }
    fake_ee.error_statuses = (503,)
    status, _, body = post(fake_ee.url, COMPUTE_PIXELS, pixels_body())
    assert status == 503 and error_of(body)["status"] == "UNAVAILABLE"
    assert fake_ee.errors_injected == 2 and sum(fake_ee.calls_by_grid.values()) == 0
    fake_ee.error_rate = 0.0
    assert post(fake_ee.url, COMPUTE_PIXELS, pixels_body())[0] == 200


def test_error_injection_is_seeded() -> None:
    def statuses(seed: int) -> list[int]:
        with FakeEarthEngine(error_rate=0.5, seed=seed) as server:
            return [post(server.url, COMPUTE_PIXELS, pixels_body())[0] for _ in range(12)]

    first = statuses(7)
    assert first == statuses(7)
    assert 200 in first and set(first) - {200} <= {429, 503} and set(first) != {200}


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


def test_token_endpoint_serves_google_auth_refresh(fake_ee: FakeEarthEngine) -> None:  # noqa: F811
    import google.auth.exceptions
    import google.auth.transport.requests
    import google.oauth2.credentials

    def credentials(refresh_token: str) -> google.oauth2.credentials.Credentials:
        return google.oauth2.credentials.Credentials(
            token=None,
            refresh_token=refresh_token,
            token_uri=fake_ee.url + "/token",
            client_id="id",
            client_secret="secret",
        )

    good = credentials("good-refresh-token")
    good.refresh(google.auth.transport.requests.Request())
    assert good.token == "test-token" and good.valid
    with pytest.raises(google.auth.exceptions.RefreshError, match="invalid_grant"):
        credentials("bad-refresh-token").refresh(google.auth.transport.requests.Request())
    status, _, body = post(
        fake_ee.url,
        "/token",
        {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "x.y.z"},
        token=None,
        form=True,
    )
    assert status == 200 and json.loads(body) == {
        "access_token": "test-token",
        "expires_in": 3600,
        "token_type": "Bearer",
    }
    status, _, body = post(
        fake_ee.url, "/token", {"grant_type": "refresh_token", "refresh_token": "nope"}, token=None, form=True
    )
    assert status == 400 and json.loads(body) == {"error": "invalid_grant", "error_description": "Bad Request"}


def test_client_with_refresh_token_credentials(fake_ee: FakeEarthEngine, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    import ee
    import google.oauth2.credentials

    monkeypatch.setattr(ee.deprecation, "_FetchDataCatalogStac", lambda: {})
    credentials = google.oauth2.credentials.Credentials(
        token=None,
        refresh_token="good-refresh-token",
        token_uri=fake_ee.url + "/token",
        client_id="id",
        client_secret="s",
    )
    try:
        ee.Initialize(credentials=credentials, url=fake_ee.url, project=PROJECT)
        chip = ee.data.computePixels(
            {"expression": ee.Image("FAKE/RGB"), "fileFormat": "NUMPY_NDARRAY", "grid": GRID_UTM}
        )
    finally:
        ee.Reset()
    assert chip.shape == (48, 64) and fake_ee.requests["token"] >= 1


@pytest.mark.slow  # starts a process
def test_command_line_server() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_ee.server", "--latency", "0", "--error-rate", "0", "--token", "none"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        status, _, body = post(url, COMPUTE_PIXELS, pixels_body(), token=None)
        assert status == 200 and np.load(io.BytesIO(body)).dtype.names == ("red", "green", "blue")
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr


def test_reduce_regions_frequency_histogram_for_client_expressions(ee_client, fake_ee: FakeEarthEngine) -> None:  # noqa: F811
    """Client-built features get the formula's values over native 0.001 degree pixels, each weighted
    by the exact fraction of it inside the (planar) polygon, keyed by the value as text."""
    ee = ee_client
    image = ee.Image("FAKE/RGB")
    pixel = ee.Geometry.Polygon([[[6.1, 49.6], [6.101, 49.6], [6.101, 49.601], [6.1, 49.601]]], None, False)
    half = ee.Geometry.Polygon([[[6.2005, 49.7], [6.202, 49.7], [6.202, 49.701], [6.2005, 49.701]]], None, False)
    features = ee.FeatureCollection([ee.Feature(pixel, {"row": 0}), ee.Feature(half, {"row": 1})])
    answer = image.select(["green"]).reduceRegions(features, ee.Reducer.frequencyHistogram()).getInfo()
    first, second = (f["properties"] for f in answer["features"])
    # the green band is band 1 of FAKE/RGB, but band 0 of the selected image
    value = int(pixel_values("EPSG:4326", (0.001, 0, 6.1, 0, -0.001, 49.601), 1, 1, 0, np.uint8)[0, 0])
    assert first["row"] == 0 and first["histogram"][str(value)] == pytest.approx(1.0, abs=1e-9)
    assert sum(first["histogram"].values()) == pytest.approx(1.0, rel=1e-9)  # neighbours: float slivers at most
    assert sorted(second["histogram"].values()) == pytest.approx([0.5, 1.0], rel=1e-9)
    at_250m = image.select([0]).reduceRegions(features, ee.Reducer.frequencyHistogram(), 250).getInfo()
    assert sum(at_250m["features"][0]["properties"]["histogram"].values()) == pytest.approx(
        (0.001 * 111319.49079327357 / 250) ** 2, rel=1e-9
    )
    assert image.projection().nominalScale().getInfo() == pytest.approx(111.31949079327357)
    assert fake_ee.requests["value.compute.reduceRegions"] == 2 and fake_ee.reduce_regions_sizes == [2, 2]


def test_reduce_regions_error_knobs(fake_ee: FakeEarthEngine) -> None:  # noqa: F811
    feature = {
        "functionInvocationValue": {
            "functionName": "Feature",
            "arguments": {
                "geometry": {
                    "functionInvocationValue": {
                        "functionName": "GeometryConstructors.Polygon",
                        "arguments": {
                            "coordinates": {"constantValue": [[[6.1, 49.6], [6.11, 49.6], [6.11, 49.61], [6.1, 49.6]]]},
                            "geodesic": {"constantValue": False},
                        },
                    }
                },
                "metadata": {"constantValue": {"row": 7}},
            },
        }
    }
    expression = {
        "result": "0",
        "values": {
            "0": {
                "functionInvocationValue": {
                    "functionName": "Image.reduceRegions",
                    "arguments": {
                        "image": {
                            "functionInvocationValue": {
                                "functionName": "Image.load",
                                "arguments": {"id": {"constantValue": "FAKE/RGB"}},
                            }
                        },
                        "collection": {
                            "functionInvocationValue": {
                                "functionName": "Collection",
                                "arguments": {"features": {"arrayValue": {"values": [feature]}}},
                            }
                        },
                        "reducer": {
                            "functionInvocationValue": {"functionName": "Reducer.frequencyHistogram", "arguments": {}}
                        },
                    },
                }
            }
        },
    }
    path = f"/v1/projects/{PROJECT}/value:compute"
    status, _, body = post(fake_ee.url, path, {"expression": expression})
    assert status == 200 and set(json.loads(body)["result"]["features"][0]["properties"]) == {
        "row",
        "red",
        "green",
        "blue",
    }
    fake_ee.max_response_bytes = 100
    status, _, body = post(fake_ee.url, path, {"expression": expression})
    assert status == 400 and error_of(body)["message"] == "Computed value is too large."
    fake_ee.fail_features[("row", 7)] = (400, "User memory limit exceeded.")
    status, _, body = post(fake_ee.url, path, {"expression": expression})
    assert status == 400 and error_of(body)["message"] == "User memory limit exceeded."
    fake_ee.error_rate, fake_ee.error_statuses = 1.0, (503,)
    status, _, _ = post(fake_ee.url, path, {"expression": expression})
    assert status == 503 and fake_ee.requests["value.compute.reduceRegions"] == 4
    geodesic = json.loads(
        json.dumps(expression).replace('"geodesic": {"constantValue": false}', '"geodesic": {"constantValue": true}')
    )
    fake_ee.error_rate, fake_ee.fail_features, fake_ee.max_response_bytes = 0.0, {}, None
    status, _, body = post(fake_ee.url, path, {"expression": geodesic})
    assert status == 400 and "geodesic" in error_of(body)["message"]


def test_pause_refuses_connections_and_resets_open_ones_then_resume_serves_on_the_same_port(
    fake_ee: FakeEarthEngine,  # noqa: F811
) -> None:
    import http.client
    import socket

    url, port = fake_ee.url, int(fake_ee.url.rsplit(":", 1)[1])
    assert post(url, COMPUTE_PIXELS, pixels_body())[0] == 200
    kept = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # a keep-alive connection opened before
    kept.request("GET", "/$discovery/rest?version=v1")
    assert kept.getresponse().read() and fake_ee.requests["discovery"] == 1
    fake_ee.pause()
    assert fake_ee.paused
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        kept.request("GET", "/$discovery/rest?version=v1")  # reset: the outage reaches open connections too
        kept.getresponse().read()
    calls = fake_ee.compute_pixels_calls
    fake_ee.resume()
    assert not fake_ee.paused and fake_ee.url == url
    status, _, body = post(url, COMPUTE_PIXELS, pixels_body())
    assert status == 200 and fake_ee.compute_pixels_calls == calls + 1
