"""Features, geometries and ``Image.reduceRegions`` with ``Reducer.frequencyHistogram`` for the fake server.

The fake's native projection of every catalog image is EPSG:4326 with 0.001° pixels aligned on 0,
so each native pixel holds exactly one value of the pixel formula (``pixels.py``). A feature's
histogram weighs every pixel its geometry meets by the exact fraction of the pixel inside the
geometry, as Earth Engine's weighted reducers do; with ``scale`` given, the grid is that many
metres converted to degrees at the equator, aligned on 0. Geometries are planar lon/lat polygons
(``geodesic: false``); the fake refuses anything else rather than answer approximately.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from .pixels import pixel_values

METRES_PER_DEGREE = 111319.49079327357  # at the equator, as Earth Engine converts scales for EPSG:4326
NATIVE_DEGREES = 0.001
NATIVE_SCALE_M = NATIVE_DEGREES * METRES_PER_DEGREE
_GEOGRAPHIC = frozenset({"EPSG:4326", "OGC:CRS84"})
_MAX_PIXELS_PER_FEATURE = 50_000_000  # a test double: refuse rather than grind


class UnsupportedRequest(ValueError):
    """Something the fake cannot answer faithfully; the server answers 400 with the message."""


@dataclass(frozen=True)
class Feature:
    geometry: Any  # a shapely geometry in lon/lat, or None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Features:
    features: tuple[Feature, ...]


def geometry(kind: str, coordinates: Any, crs: Any, geodesic: Any) -> Any:
    """``GeometryConstructors.Polygon`` / ``MultiPolygon``: a shapely geometry (planar, lon/lat)."""
    crs_code = _crs_code(crs)
    if crs_code is not None and crs_code.upper() not in _GEOGRAPHIC:
        raise UnsupportedRequest(f"The fake server only supports geometries in EPSG:4326, got {crs_code}.")
    if geodesic is not False:
        raise UnsupportedRequest("The fake server only supports planar geometries (geodesic: false).")
    try:
        shape = shapely.geometry.shape({"type": kind, "coordinates": coordinates})
    except (TypeError, ValueError, IndexError, AttributeError) as exc:
        raise UnsupportedRequest(f"Invalid {kind} coordinates: {exc}") from None
    return shape if shape.is_valid else shapely.make_valid(shape)


def _crs_code(crs: Any) -> str | None:
    """A ``Projection(crs=...)`` call (or a plain string) as its code; None when not given."""
    if crs is None:
        return None
    if isinstance(crs, str):
        return crs
    args = getattr(crs, "args", None)
    if isinstance(args, dict) and isinstance(args.get("crs"), str):
        return args["crs"]
    raise UnsupportedRequest(f"The fake server cannot read the projection {crs!r}.")


def feature_properties(expression: dict[str, Any]) -> list[dict[str, Any]]:
    """The metadata of every ``Feature`` constructed in a serialized expression, without evaluating it."""
    values = expression.get("values") or {}
    found: list[dict[str, Any]] = []

    def constant(node: Any) -> Any:
        if isinstance(node, dict) and "valueReference" in node:
            node = values.get(str(node["valueReference"]))
        return node.get("constantValue") if isinstance(node, dict) else None

    stack: list[Any] = [values]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            invocation = node.get("functionInvocationValue")
            if isinstance(invocation, dict) and invocation.get("functionName") == "Feature":
                metadata = constant((invocation.get("arguments") or {}).get("metadata"))
                found.append(metadata if isinstance(metadata, dict) else {})
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def select_properties(feature: Feature, selectors: Any, new_names: Any, retain_geometry: Any) -> Feature:
    """``Feature.select``: properties whose names match the selectors (regular expressions), optionally renamed."""
    selectors = selectors if isinstance(selectors, list) else [selectors]
    chosen = [name for selector in selectors for name in feature.properties if re.fullmatch(str(selector), name)]
    if new_names:
        if len(new_names) != len(chosen):
            raise UnsupportedRequest("Feature.select: the number of new names must match the selected properties.")
        properties = {str(new): feature.properties[old] for old, new in zip(chosen, new_names)}
    else:
        properties = {name: feature.properties[name] for name in chosen}
    return Feature(feature.geometry if retain_geometry is not False else None, properties)


def reduce_regions(
    bands: list[tuple[str, np.dtype]],
    collection: Any,
    reducer: Any,
    scale: Any = None,
    crs: Any = None,
    crs_transform: Any = None,
) -> Features:
    """Every feature with its histogram: property ``histogram`` for a one-band image, else one per band."""
    if not isinstance(collection, Features):
        raise UnsupportedRequest(
            "Image.reduceRegions: the fake server needs a FeatureCollection of client-side features."
        )
    name = getattr(reducer, "name", None)
    if name != "Reducer.frequencyHistogram":
        raise UnsupportedRequest(
            f"Image.reduceRegions: the fake server only supports Reducer.frequencyHistogram, got {name}."
        )
    if crs_transform is not None:
        raise UnsupportedRequest("Image.reduceRegions: the fake server does not support crsTransform.")
    step = _grid_step(scale, crs)
    out = []
    for feature in collection.features:
        if feature.geometry is None:
            raise UnsupportedRequest("Image.reduceRegions: a feature has no geometry.")
        histograms = {
            band: frequency_histogram(feature.geometry, step, index, dtype) for index, (band, dtype) in enumerate(bands)
        }
        extra = {"histogram": histograms[bands[0][0]]} if len(bands) == 1 else histograms
        out.append(Feature(feature.geometry, {**feature.properties, **extra}))
    return Features(tuple(out))


def _grid_step(scale: Any, crs: Any) -> float:
    """Degrees per pixel: the native 0.001 unless ``scale`` (metres) is given; ``crs`` must be EPSG:4326,
    given as an image's projection (``Image.projection``, which carries the native scale) or as a bare
    code, whose scale is one unit (1 degree), as on Earth Engine."""
    native = NATIVE_DEGREES
    if crs is not None:
        code = _crs_code(crs)
        if code is None or code.upper() not in _GEOGRAPHIC:
            raise UnsupportedRequest(f"Image.reduceRegions: the fake server only supports crs EPSG:4326, got {code}.")
        args = getattr(crs, "args", None)
        native = float(args.get("scale_degrees", 1.0)) if isinstance(args, dict) else 1.0
    return native if scale is None else _degrees(scale)


def _degrees(scale: Any) -> float:
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
        raise UnsupportedRequest(f"Image.reduceRegions: scale must be a positive number, got {scale!r}.")
    return float(scale) / METRES_PER_DEGREE


def frequency_histogram(shape: Any, step: float, band_index: int, dtype: np.dtype) -> dict[str, float]:
    """{value as a string: pixels of the grid of ``step`` degrees weighted by the fraction inside ``shape``}."""
    values, weights = covered_pixels(shape, step, band_index, dtype)
    if values.size == 0:
        return {}
    distinct, inverse = np.unique(values, return_inverse=True)
    sums = np.bincount(inverse.ravel(), weights=weights)
    return {_key(v): float(w) for v, w in zip(distinct.tolist(), sums.tolist()) if w > 0}


def _key(value: Any) -> str:
    """Earth Engine keys a histogram by the value's text: "10" for integers, "0.5" for floats."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def covered_pixels(shape: Any, step: float, band_index: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Formula values of the pixels ``shape`` meets and the fraction of each inside it (shapely, exact)."""
    if shape.is_empty:
        return np.empty(0, dtype=dtype), np.empty(0)
    minx, miny, maxx, maxy = shape.bounds
    col0, col1 = math.floor(minx / step), math.ceil(maxx / step)
    row0, row1 = math.floor(miny / step), math.ceil(maxy / step)  # row0/row1 count up from the equator
    width, height = max(1, col1 - col0), max(1, row1 - row0)
    if width * height > _MAX_PIXELS_PER_FEATURE:
        raise UnsupportedRequest("User memory limit exceeded.")
    transform = (step, 0.0, col0 * step, 0.0, -step, (row0 + height) * step)
    values = pixel_values("EPSG:4326", transform, width, height, band_index, dtype)
    xs = (col0 + np.arange(width + 1)) * step
    ys = (row0 + height - np.arange(height + 1)) * step
    boxes = shapely.box(xs[None, :-1], ys[1:, None], xs[None, 1:], ys[:-1, None])  # (height, width), north-up
    shapely.prepare(shape)
    whole = shapely.contains_properly(shape, boxes)
    touched = shapely.intersects(shape, boxes) & ~whole
    fractions = np.zeros(boxes.shape)
    fractions[whole] = 1.0
    fractions[touched] = shapely.area(shapely.intersection(boxes[touched], shape)) / shapely.area(boxes[touched])
    met = fractions > 0
    return values[met], fractions[met]


def features_json(features: Features) -> dict[str, Any]:
    """A FeatureCollection as value:compute returns it (GeoJSON, ids "0", "1", ... as for client-side features)."""
    return {
        "type": "FeatureCollection",
        "columns": {},
        "features": [feature_json(f, str(i)) for i, f in enumerate(features.features)],
    }


def feature_json(feature: Feature, identifier: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "Feature",
        "geometry": None if feature.geometry is None else shapely.geometry.mapping(feature.geometry),
    }
    if identifier is not None:
        out["id"] = identifier
    out["properties"] = dict(feature.properties)
    return out
