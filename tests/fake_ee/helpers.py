"""What the fake server's tests share: the grids and expressions they ask for, and a raw HTTP client.

Error paths use raw HTTP to 127.0.0.1 because the ee client retries 429/5xx with sleeps.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import numpy as np

from tests.fake_ee.fixtures import PROJECT
from tests.fake_ee.pixels import pixel_values

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
