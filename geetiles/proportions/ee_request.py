"""One Earth Engine proportions request and its answer: the ``reduceRegions`` expression for a batch of
units (the image part serialised once by earthengine-api, the units spliced in as plain GeoJSON arrays),
and a unit's weighted histogram turned into class pixels by the :class:`LabelTable`.

Why apart from the batching (:mod:`geetiles.proportions.ee_batches`): what is asked and how an answer
reads are pure functions of the image, the units and the table, testable without any server.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import shapely

from geetiles.classes import NODATA, UNKNOWN, LabelTable

ROW = "geetiles_row"  # the feature property holding the unit's row number
HISTOGRAM = "histogram"  # reduceRegions names a one-band image's single output after the reducer's
MASKED_FILL = -(2.0**100)  # masked pixels' value when the table has no nodata (exact in float32 and float64)
DEGREE_M = 111319.49079327357  # the nominal scale of a 1-degree projection: what composites report
_PLACEHOLDER_TABLE = "geetiles/units-placeholder"
_MARK = "@@geetiles-units@@"
_CRS_4326 = {
    "functionInvocationValue": {"functionName": "Projection", "arguments": {"crs": {"constantValue": "EPSG:4326"}}}
}


def fill_value(table: LabelTable) -> float:
    """What masked pixels become: the table's nodata, or a sentinel that no label takes."""
    nodata = table.nodata
    return MASKED_FILL if nodata is None or not math.isfinite(nodata) else float(nodata)


def labels_images(definition, fill: float):
    """(the labels' first band, the same with masked pixels set to ``fill``), as ee.Images."""
    import ee

    raw = ee.Image(definition.build_image()).select([0])
    value = (
        int(fill) if fill.is_integer() and abs(fill) < 2**31 else fill
    )  # an integral fill keeps integer bands integer
    return raw, raw.unmask(value=value, sameFootprint=False)


def nominal_scale_expression(raw) -> str:
    import ee

    return json.dumps(ee.serializer.encode(raw.projection().nominalScale(), for_cloud_api=True), separators=(",", ":"))


class Query:
    """The reduceRegions expression for a batch of units: serialised once per tileScale, units spliced in."""

    def __init__(self, image, raw, scale_m: float | None) -> None:
        self.image, self.raw, self.scale_m = image, raw, scale_m
        self._parts: dict[int, tuple[str, str]] = {}

    def body(self, units: list[str], tile_scale: int) -> str:
        """The value:compute request body for ``units`` (JSON nodes from :func:`unit_node`)."""
        if tile_scale not in self._parts:
            self._parts[tile_scale] = self._template(tile_scale)
        head, tail = self._parts[tile_scale]
        collection = (
            '{"functionInvocationValue":{"functionName":"Collection","arguments":{"features":'
            '{"arrayValue":{"values":[' + ",".join(units) + "]}}}}}"
        )
        return '{"expression":' + head + collection + tail + "}"

    def _template(self, tile_scale: int) -> tuple[str, str]:
        import ee

        placeholder = ee.FeatureCollection(_PLACEHOLDER_TABLE)
        encoded = ee.serializer.encode(placeholder, for_cloud_api=True)
        placeholder_node = encoded["values"][encoded["result"]]
        result = self.image.reduceRegions(
            collection=placeholder,
            reducer=ee.Reducer.frequencyHistogram(),
            scale=self.scale_m,
            crs=self.raw.projection(),
            tileScale=tile_scale,
        )
        result = result.select([ROW, HISTOGRAM], None, False)  # the answer without the units' geometries
        text = json.dumps(
            _replace(ee.serializer.encode(result, for_cloud_api=True), placeholder_node, _MARK), separators=(",", ":")
        )
        pieces = text.split(json.dumps(_MARK))
        if len(pieces) != 2:
            raise RuntimeError("cannot find the units' place in the serialised reduceRegions expression")
        return pieces[0], pieces[1]


def _replace(node: Any, old: Any, new: Any) -> Any:
    if node == old:
        return new
    if isinstance(node, dict):
        return {key: _replace(value, old, new) for key, value in node.items()}
    if isinstance(node, list):
        return [_replace(value, old, new) for value in node]
    return node


def unit_node(row: int, geometry) -> str | None:
    """A unit as a serialised ``Feature`` (planar lon/lat polygon, property ROW); None when it has no area.

    Raises ValueError for a geometry that is not a polygon (nor holds any)."""
    if geometry is None:
        raise ValueError("no geometry")
    kind = geometry.geom_type
    areal = shapely.is_empty(geometry) or shapely.get_dimensions(geometry) == 2
    if not shapely.is_valid(geometry):
        geometry = shapely.make_valid(geometry)  # a degenerate polygon may become a line: no area, counted empty
    polygons = _polygons(geometry)
    if not polygons:
        if areal:
            return None
        raise ValueError(f"a {kind}, not a polygon")
    if len(polygons) == 1:
        kind, coordinates = "Polygon", _polygon_coordinates(polygons[0])
    else:
        kind, coordinates = "MultiPolygon", [_polygon_coordinates(p) for p in polygons]
    node = {
        "functionInvocationValue": {
            "functionName": "Feature",
            "arguments": {
                "geometry": {
                    "functionInvocationValue": {
                        "functionName": f"GeometryConstructors.{kind}",
                        "arguments": {
                            "coordinates": {"constantValue": coordinates},
                            "crs": _CRS_4326,
                            "geodesic": {"constantValue": False},
                        },
                    }
                },
                "metadata": {"constantValue": {ROW: int(row)}},
            },
        }
    }
    return json.dumps(node, separators=(",", ":"), allow_nan=False)


def _polygons(geometry) -> list:
    """The non-empty polygons of ``geometry`` (collections from make_valid may hold lines and points too)."""
    parts = shapely.get_parts(geometry)
    found = []
    for part in parts:
        kind = shapely.get_type_id(part)
        if kind == 3 and not shapely.is_empty(part):
            found.append(part)
        elif kind in (6, 7):
            found.extend(_polygons(part))
    return found


def _polygon_coordinates(polygon) -> list[list[list[float]]]:
    rings = [polygon.exterior, *polygon.interiors]
    return [shapely.get_coordinates(ring).tolist() for ring in rings]


def histogram_counts(
    histogram: dict[str, float] | None, table: LabelTable, fill: float
) -> tuple[np.ndarray, float, float]:
    """(class pixels, pixels inside, unknown pixels) of one unit's weighted histogram {value text: pixels}."""
    if not histogram:
        return np.zeros(len(table.keys)), 0.0, 0.0
    values = np.fromiter((float(key) for key in histogram), dtype=np.float64, count=len(histogram))
    weights = np.fromiter((float(w) for w in histogram.values()), dtype=np.float64, count=len(histogram))
    index = table.class_index(values)
    if fill == MASKED_FILL:
        index[np.isclose(values, MASKED_FILL, rtol=1e-9, atol=0.0)] = NODATA
    valid = index >= 0
    classes = np.bincount(index[valid], weights=weights[valid], minlength=len(table.keys)).astype(np.float64)
    return classes, float(weights.sum()), float(weights[index == UNKNOWN].sum())


UNREADABLE = object()


def answer_result(payload: bytes) -> Any:
    """The ``result`` of a value:compute answer, or UNREADABLE."""
    try:
        return json.loads(payload)["result"]
    except (ValueError, KeyError, TypeError):
        return UNREADABLE
