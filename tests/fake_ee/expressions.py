"""Band-name and dtype inference for serialized Earth Engine expressions.

A test double, not an evaluator: it walks the expression graph the client sends
(`{"result": id, "values": {id: node}}`) and tracks only what a pixel request
needs to know, which bands come out and with which dtypes. Unknown functions
fall back to the bands of their first image-valued argument.

For value:compute it also builds client-side features and answers
`Image.reduceRegions` with `Reducer.frequencyHistogram` (see `reduce_regions.py`),
and reports every image's native projection as EPSG:4326 at 0.001 degrees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import reduce_regions as rr

Band = tuple[str, np.dtype]

U8, I8, U16, I16, U32, I32, I64 = (np.dtype(t) for t in ("u1", "i1", "u2", "i2", "u4", "i4", "i8"))
F32, F64 = np.dtype("f4"), np.dtype("f8")

_S2_BANDS = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12", "QA60"]

CATALOG: dict[str, tuple[Band, ...]] = {
    "COPERNICUS/S2_SR_HARMONIZED": tuple((b, U16) for b in _S2_BANDS),
    "ESA/WorldCover/v100": (("Map", U8),),
    "ESA/WorldCover/v200": (("Map", U8),),
    "GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED": (("cs", F32), ("cs_cdf", F32)),
    "COPERNICUS/S1_GRD": (("HH", F64), ("HV", F64), ("VV", F64), ("VH", F64), ("angle", F32)),
    "MODIS/006/MOD44B": tuple(
        (b, U8)
        for b in ("Percent_Tree_Cover", "Percent_NonTree_Vegetation", "Percent_NonVegetated", "Quality", "Cloud")
    ),
    "MODIS/061/MOD44B": tuple(
        (b, U8)
        for b in ("Percent_Tree_Cover", "Percent_NonTree_Vegetation", "Percent_NonVegetated", "Quality", "Cloud")
    ),
    "CGIAR/SRTM90_V4": (("elevation", I16),),
    "CSP/ERGo/1_0/US/landforms": (("constant", U8),),
    "ESA/CCI/FireCCI/5_1": (("BurnDate", I16), ("ConfidenceLevel", U8), ("LandCover", U8), ("ObservedFlag", I16)),
    "AAFC/ACI": (("landcover", U8),),
    "JRC/GHSL/P2016/POP_GPW_GLOBE_V1": (("population_count", F64),),
    "FAKE/RGB": (("red", U8), ("green", U8), ("blue", U8)),
    "FAKE/FLOAT": (("value", F32),),
}

USER_MEMORY_ASSET = "FAKE/USER_MEMORY"
USER_MEMORY_MESSAGE = "User memory limit exceeded."

_CASTS: dict[str, np.dtype] = {
    "toByte": U8,
    "toUint8": U8,
    "toInt8": I8,
    "toUint16": U16,
    "toInt16": I16,
    "toShort": I16,
    "toUint32": U32,
    "toInt32": I32,
    "toInt": I32,
    "toInt64": I64,
    "toLong": I64,
    "toFloat": F32,
    "toDouble": F64,
}
_ARITHMETIC = {"add", "subtract", "multiply", "divide"}
# Collection -> Image reductions whose output keeps the input band names.
_COLLAPSES = {"mosaic", "median", "mean", "max", "min", "mode", "sum", "first", "qualityMosaic", "count", "product"}
_TERRAIN = {
    "Terrain.slope": (("slope", F32),),
    "Terrain.aspect": (("aspect", F32),),
    "Terrain.hillshade": (("hillshade", U8),),
}
# Argument names tried, in order, when falling back to "same bands as the input".
_IMAGE_ARG_ORDER = ("input", "image", "image1", "dstImg", "collection", "value", "source", "images")


class ExpressionError(Exception):
    """An error the real service reports as 400 INVALID_ARGUMENT."""


@dataclass(frozen=True)
class Img:
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class Coll:
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class Func:
    arg_names: tuple[str, ...]
    body: str


@dataclass(frozen=True)
class Call:
    """A non-image result (filter, reducer, geometry...); kept so callers can peek at it."""

    name: str
    args: dict[str, Any]


def infer_bands(expression: dict[str, Any]) -> list[Band]:
    """Output bands of an Image-valued expression; raises ExpressionError like the service would."""
    value = _Graph(expression).evaluate_ref(str(expression.get("result")), {})
    if isinstance(value, Img):
        return list(value.bands)
    kind = "ImageCollection" if isinstance(value, Coll) else type(value).__name__
    raise ExpressionError(f"Expected a value of type Image, got {kind}.")


def evaluate(expression: dict[str, Any]) -> Any:
    """Evaluate for value:compute; only constants, Number arithmetic and Image.bandNames are known."""
    return _plain(_Graph(expression).evaluate_ref(str(expression.get("result")), {}))


def _plain(value: Any) -> Any:
    if isinstance(value, rr.Features):
        return rr.features_json(value)
    if isinstance(value, rr.Feature):
        return rr.feature_json(value)
    if isinstance(value, Call):
        raise ExpressionError(f"The fake server cannot compute {value.name}.")
    if isinstance(value, (Img, Coll, Func)):
        raise ExpressionError(f"The fake server cannot compute a {type(value).__name__} value.")
    return value


class _Graph:
    def __init__(self, expression: dict[str, Any]) -> None:
        if not isinstance(expression, dict) or "values" not in expression or "result" not in expression:
            raise ExpressionError("Invalid expression: missing 'result' or 'values'.")
        self.values: dict[str, Any] = expression["values"]

    def evaluate_ref(self, ref: str, env: dict[str, Any]) -> Any:
        if ref not in self.values:
            raise ExpressionError(f"Invalid expression: unknown value reference '{ref}'.")
        return self.evaluate(self.values[ref], env)

    def evaluate(self, node: Any, env: dict[str, Any]) -> Any:
        if not isinstance(node, dict):
            raise ExpressionError(f"Invalid expression node: {node!r}.")
        if "constantValue" in node:
            return node["constantValue"]
        if "valueReference" in node:
            return self.evaluate_ref(str(node["valueReference"]), env)
        if "arrayValue" in node:
            return [self.evaluate(v, env) for v in node["arrayValue"].get("values", [])]
        if "dictionaryValue" in node:
            return {k: self.evaluate(v, env) for k, v in node["dictionaryValue"].get("values", {}).items()}
        if "argumentReference" in node:
            return env.get(node["argumentReference"], Call("argument", {}))
        if "functionDefinitionValue" in node:
            fdef = node["functionDefinitionValue"]
            return Func(tuple(fdef.get("argumentNames", [])), str(fdef.get("body")))
        if "functionInvocationValue" in node:
            inv = node["functionInvocationValue"]
            args = {k: self.evaluate(v, env) for k, v in inv.get("arguments", {}).items()}
            if "functionName" in inv:
                return _invoke(self, inv["functionName"], args)
            return self.call(self.evaluate(inv.get("functionReference"), env), list(args.values()))
        if "nullValue" in node:
            return None
        for key in ("integerValue", "bytesValue"):
            if key in node:
                return node[key]
        raise ExpressionError(f"Invalid expression node with keys {sorted(node)}.")

    def call(self, func: Any, positional: list[Any]) -> Any:
        if not isinstance(func, Func):
            return Call("function", {})
        return self.evaluate_ref(func.body, dict(zip(func.arg_names, positional)))


def _invoke(graph: _Graph, name: str, args: dict[str, Any]) -> Any:
    """Apply one algorithm to already-evaluated arguments."""
    prefix, _, method = name.rpartition(".")
    if name in ("Image.load", "ImageCollection.load"):
        bands = _load(args.get("id"))
        return Img(bands) if prefix == "Image" else Coll(bands)
    if name == "Image.select":
        return Img(_select(_image(args, "input"), args.get("bandSelectors"), args.get("newNames")))
    if name == "Image.rename":
        return Img(_rename(_image(args, "input"), args.get("names")))
    if name == "Image.visualize":
        return Img(_visualize(_image(args, "image"), args))
    if name == "Image.constant":
        return Img(_constant(args.get("value")))
    if name == "Image.bandNames":
        return [b for b, _ in _image(args, "image")]
    if prefix == "Image" and method in _CASTS:
        return Img(tuple((b, _CASTS[method]) for b, _ in _image(args, "value")))
    if prefix == "Image" and method in _ARITHMETIC:
        return Img(_arithmetic(_image(args, "image1"), _image(args, "image2")))
    if name == "Image.addBands":
        return Img(_add_bands(_image(args, "dstImg"), _image(args, "srcImg"), args.get("names"), args.get("overwrite")))
    if name in _TERRAIN:
        _image(args, "input")
        return Img(_TERRAIN[name])
    if name == "Image.linkCollection":  # each image gains the named bands of its match in the other collection
        linked = _select(_collection(args, "imageCollection"), args.get("linkedBands") or [], None)
        return Img(_add_bands(_image(args, "input"), linked, None, False))
    if name == "ImageCollection.qualityMosaic":
        bands = _collection(args, "collection")
        if args.get("qualityBand") not in [b for b, _ in bands]:
            raise ExpressionError(f"ImageCollection.qualityMosaic: Band '{args.get('qualityBand')}' not found.")
        return Img(bands)
    if name == "Collection.map" and isinstance(args.get("collection"), rr.Features):
        return _map_features(graph, args)
    if name == "Collection.map":
        return _map(graph, args)
    if name in ("Collection.filter", "Collection.limit", "Collection.sort", "Collection.merge"):
        return Coll(_collection(args, "collection"))
    if name == "ImageCollection.fromImages":
        images = args.get("images") or []
        return Coll(images[0].bands if images and isinstance(images[0], Img) else ())
    if name == "ImageCollection.reduce":
        return Img(_reduce(_collection(args, "collection"), args.get("reducer")))
    if name == "ImageCollection.toBands":
        return Img(tuple((f"0_{b}", t) for b, t in _collection(args, "collection")))
    if name in ("reduce.mean", "ImageCollection.mean"):
        return Img(tuple((b, F64) for b, _ in _collection(args, "collection")))
    if prefix in ("reduce", "ImageCollection", "Collection") and method in _COLLAPSES:
        return Img(_collection(args, "collection"))
    if prefix == "Number" and method in _ARITHMETIC:
        return _number(method, args.get("left"), args.get("right"))
    if name in _FEATURE_ALGORITHMS:
        try:
            return _FEATURE_ALGORITHMS[name](args)
        except rr.UnsupportedRequest as exc:
            raise ExpressionError(str(exc)) from None
    return _fallback(name, args)


def _features(args: dict[str, Any]) -> rr.Features:
    features = args.get("features") or []
    if not all(isinstance(f, rr.Feature) for f in features):
        raise ExpressionError("Collection: the fake server only supports a list of client-side features.")
    return rr.Features(tuple(features))


def _image_projection(args: dict[str, Any]) -> Call:
    """Every image's native projection in the fake: EPSG:4326, 0.001 degree pixels (see reduce_regions.py)."""
    _image(args, "image")
    return Call("Projection", {"crs": "EPSG:4326", "scale_degrees": rr.NATIVE_DEGREES})


def _nominal_scale(args: dict[str, Any]) -> float:
    proj = args.get("proj")
    if not (isinstance(proj, Call) and proj.name == "Projection" and "scale_degrees" in proj.args):
        raise ExpressionError("Projection.nominalScale: the fake server only knows the projection of an image.")
    return float(proj.args["scale_degrees"]) * rr.METRES_PER_DEGREE


_FEATURE_ALGORITHMS = {
    "GeometryConstructors.Polygon": lambda a: rr.geometry(
        "Polygon", a.get("coordinates"), a.get("crs"), a.get("geodesic")
    ),
    "GeometryConstructors.MultiPolygon": lambda a: rr.geometry(
        "MultiPolygon", a.get("coordinates"), a.get("crs"), a.get("geodesic")
    ),
    "Feature": lambda a: rr.Feature(a.get("geometry"), dict(a.get("metadata") or {})),
    "Collection": _features,
    "Feature.select": lambda a: rr.select_properties(
        a.get("input"), a.get("propertySelectors"), a.get("newProperties"), a.get("retainGeometry")
    ),
    "Image.reduceRegions": lambda a: rr.reduce_regions(
        list(_image(a, "image")),
        a.get("collection"),
        a.get("reducer"),
        a.get("scale"),
        a.get("crs"),
        a.get("crsTransform"),
    ),
    "Image.projection": _image_projection,
    "Projection.nominalScale": _nominal_scale,
}


def _map_features(graph: _Graph, args: dict[str, Any]) -> rr.Features:
    """A function mapped over client-side features (e.g. Feature.select after reduceRegions)."""
    out = []
    for feature in args["collection"].features:
        result = graph.call(args.get("baseAlgorithm"), [feature])
        if not isinstance(result, rr.Feature):
            raise ExpressionError("Collection.map: the fake server only maps functions returning a Feature.")
        out.append(result)
    return rr.Features(tuple(out))


def _load(asset_id: Any) -> tuple[Band, ...]:
    if asset_id == USER_MEMORY_ASSET:
        raise ExpressionError(USER_MEMORY_MESSAGE)
    if asset_id not in CATALOG:
        raise ExpressionError(
            f"Image.load: Image asset '{asset_id}' not found (does not exist or caller does not have access)."
        )
    return CATALOG[asset_id]


def _image(args: dict[str, Any], key: str) -> tuple[Band, ...]:
    value = args.get(key)
    if isinstance(value, (Img, Coll)):
        return value.bands
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _constant(value)  # the client promotes numbers to Image.constant, but be lenient
    raise ExpressionError(f"Expected an Image for argument '{key}', got {type(value).__name__}.")


def _collection(args: dict[str, Any], key: str) -> tuple[Band, ...]:
    value = args.get(key)
    if isinstance(value, (Coll, Img)):
        return value.bands
    raise ExpressionError(f"Expected an ImageCollection for argument '{key}', got {type(value).__name__}.")


def _select(bands: tuple[Band, ...], selectors: Any, new_names: Any) -> tuple[Band, ...]:
    selectors = selectors if isinstance(selectors, list) else [selectors]
    chosen: list[Band] = []
    for selector in selectors:
        if isinstance(selector, int) and not isinstance(selector, bool):
            if not 0 <= selector < len(bands):
                raise ExpressionError(
                    f"Image.select: Band index {selector} out of range. Image has {len(bands)} bands."
                )
            chosen.append(bands[selector])
            continue
        matches = [b for b in bands if _pattern_matches(str(selector), b[0])]
        if not matches:
            available = ", ".join(b for b, _ in bands)
            raise ExpressionError(
                f"Image.select: Pattern '{selector}' did not match any bands. Available bands: [{available}]"
            )
        chosen.extend(m for m in matches if m not in chosen)
    return _rename(tuple(chosen), new_names) if new_names else tuple(chosen)


def _pattern_matches(pattern: str, band: str) -> bool:
    """Selectors are regular expressions on the service; a bad regex is treated as a literal name."""
    try:
        return re.fullmatch(pattern, band) is not None
    except re.error:
        return pattern == band


def _rename(bands: tuple[Band, ...], names: Any) -> tuple[Band, ...]:
    names = names if isinstance(names, list) else [names]
    if len(names) != len(bands):
        raise ExpressionError(
            f"Image.rename: The number of names ({len(names)}) must match the number of bands ({len(bands)})."
        )
    return tuple((str(n), t) for n, (_, t) in zip(names, bands))


def _visualize(bands: tuple[Band, ...], args: dict[str, Any]) -> tuple[Band, ...]:
    """Three bands or a palette give RGB; one band without a palette gives vis-gray, as on the service."""
    wanted = args.get("bands")
    if wanted:
        bands = _select(bands, wanted, None)
    if len(bands) not in (1, 3):
        raise ExpressionError(f"Image.visualize: Expected 1 or 3 bands, but got {len(bands)}.")
    if len(bands) == 1 and not args.get("palette"):
        return (("vis-gray", U8),)
    return (("vis-red", U8), ("vis-green", U8), ("vis-blue", U8))


def _constant(value: Any) -> tuple[Band, ...]:
    values = value if isinstance(value, list) else [value]
    dtypes = [_constant_dtype(v) for v in values]
    if len(values) == 1:
        return (("constant", dtypes[0]),)
    return tuple((f"constant_{i}", t) for i, t in enumerate(dtypes))


def _constant_dtype(value: Any) -> np.dtype:
    if isinstance(value, int):
        v = int(value)
        for dtype in (U8, I8, U16, I16, I32):
            info = np.iinfo(dtype)
            if info.min <= v <= info.max:
                return dtype
        return I64
    return F32


def _arithmetic(left: tuple[Band, ...], right: tuple[Band, ...]) -> tuple[Band, ...]:
    """Bands pair up; a one-band side is broadcast, names come from the longer side (image1 on ties)."""
    if len(left) != len(right) and 1 not in (len(left), len(right)):
        raise ExpressionError(
            f"Images must contain the same number of bands or only 1 band. Got {len(left)} and {len(right)}."
        )
    n = max(len(left), len(right))
    names = left if len(left) >= len(right) else right
    out = []
    for i in range(n):
        lt, rt = left[min(i, len(left) - 1)][1], right[min(i, len(right) - 1)][1]
        if np.issubdtype(lt, np.integer) and np.issubdtype(rt, np.integer):
            dtype = np.promote_types(lt, rt)
        else:
            dtype = F64 if F64 in (lt, rt) else F32
        out.append((names[i][0], dtype))
    return tuple(out)


def _add_bands(dst: tuple[Band, ...], src: tuple[Band, ...], names: Any, overwrite: Any) -> tuple[Band, ...]:
    if names:
        src = _select(src, names, None)
    out = list(dst)
    for band in src:
        existing = [i for i, (b, _) in enumerate(out) if b == band[0]]
        if existing and overwrite:
            out[existing[0]] = band
        elif existing:
            out.append((_unique_name(band[0], {b for b, _ in out}), band[1]))
        else:
            out.append(band)
    return tuple(out)


def _unique_name(name: str, taken: set[str]) -> str:
    i = 1
    while f"{name}_{i}" in taken:
        i += 1
    return f"{name}_{i}"


def _map(graph: _Graph, args: dict[str, Any]) -> Coll:
    """Infer from the mapped function's body; keep the collection's bands if that fails."""
    bands = _collection(args, "collection")
    result = graph.call(args.get("baseAlgorithm"), [Img(bands)])
    return Coll(result.bands if isinstance(result, (Img, Coll)) else bands)


def _reduce(bands: tuple[Band, ...], reducer: Any) -> tuple[Band, ...]:
    """ImageCollection.reduce suffixes outputs with the reducer's name (B4 -> B4_median)."""
    if isinstance(reducer, Call) and reducer.name.startswith("Reducer."):
        suffix = reducer.name.partition(".")[2]
        dtype = F64 if suffix == "mean" else None
        return tuple((f"{b}_{suffix}", dtype or t) for b, t in bands)
    return bands


def _number(op: str, left: Any, right: Any) -> Any:
    if not all(isinstance(v, (int, float)) for v in (left, right)):
        return Call(f"Number.{op}", {"left": left, "right": right})
    if op == "divide":
        return 0 if right == 0 else left / right
    return {"add": left + right, "subtract": left - right, "multiply": left * right}[op]


def _fallback(name: str, args: dict[str, Any]) -> Any:
    """Unknown algorithm: same bands as its first image-valued argument, preferring the usual names."""
    ordered = [args[k] for k in _IMAGE_ARG_ORDER if k in args] + list(args.values())
    for value in ordered:
        if isinstance(value, Img):
            return value
        if isinstance(value, Coll):
            return Coll(value.bands) if name.startswith(("Collection.", "ImageCollection.")) else Img(value.bands)
    return Call(name, args)
