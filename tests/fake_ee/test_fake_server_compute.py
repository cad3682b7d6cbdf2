"""The fake server's value:compute answers to Image.reduceRegions, and their error knobs.

Client-built requests through the real `ee` client; the error knobs over raw HTTP (`helpers.post`).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.fake_ee import FakeEarthEngine
from tests.fake_ee.fixtures import PROJECT, ee_client, fake_ee  # noqa: F401
from tests.fake_ee.helpers import error_of, post
from tests.fake_ee.pixels import pixel_values


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
