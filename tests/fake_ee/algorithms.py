"""The algorithms the fake knows: an Earth Engine function name applied to evaluated arguments.

`invoke` is the one dispatch from algorithm names to what they produce: image
algorithms to the band operations of `bands.py`, collection reductions, Number
arithmetic, and the client-side features, geometries and projections that
`Image.reduceRegions` needs (computed in `reduce_regions.py`). An unknown
algorithm keeps the bands of its first image-valued argument.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import reduce_regions as rr
from .bands import (
    add_bands,
    arithmetic,
    collection_bands,
    constant,
    image_bands,
    reduce_bands,
    rename,
    select,
    visualize,
)
from .catalog import load
from .values import F32, F64, I8, I16, I32, I64, U8, U16, U32, Call, Coll, ExpressionError, Img

if TYPE_CHECKING:
    from .expressions import Graph

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


def invoke(graph: Graph, name: str, args: dict[str, Any]) -> Any:
    """Apply one algorithm to already-evaluated arguments."""
    prefix, _, method = name.rpartition(".")
    if name in ("Image.load", "ImageCollection.load"):
        bands = load(args.get("id"))
        return Img(bands) if prefix == "Image" else Coll(bands)
    if name == "Image.select":
        return Img(select(image_bands(args, "input"), args.get("bandSelectors"), args.get("newNames")))
    if name == "Image.rename":
        return Img(rename(image_bands(args, "input"), args.get("names")))
    if name == "Image.visualize":
        return Img(visualize(image_bands(args, "image"), args))
    if name == "Image.constant":
        return Img(constant(args.get("value")))
    if name == "Image.bandNames":
        return [b for b, _ in image_bands(args, "image")]
    if prefix == "Image" and method in _CASTS:
        return Img(tuple((b, _CASTS[method]) for b, _ in image_bands(args, "value")))
    if prefix == "Image" and method in _ARITHMETIC:
        return Img(arithmetic(image_bands(args, "image1"), image_bands(args, "image2")))
    if name == "Image.addBands":
        return Img(
            add_bands(
                image_bands(args, "dstImg"), image_bands(args, "srcImg"), args.get("names"), args.get("overwrite")
            )
        )
    if name in _TERRAIN:
        image_bands(args, "input")
        return Img(_TERRAIN[name])
    if name == "Image.linkCollection":  # each image gains the named bands of its match in the other collection
        linked = select(collection_bands(args, "imageCollection"), args.get("linkedBands") or [], None)
        return Img(add_bands(image_bands(args, "input"), linked, None, False))
    if name == "ImageCollection.qualityMosaic":
        bands = collection_bands(args, "collection")
        if args.get("qualityBand") not in [b for b, _ in bands]:
            raise ExpressionError(f"ImageCollection.qualityMosaic: Band '{args.get('qualityBand')}' not found.")
        return Img(bands)
    if name == "Collection.map" and isinstance(args.get("collection"), rr.Features):
        return _map_features(graph, args)
    if name == "Collection.map":
        return _map(graph, args)
    if name in ("Collection.filter", "Collection.limit", "Collection.sort", "Collection.merge"):
        return Coll(collection_bands(args, "collection"))
    if name == "ImageCollection.fromImages":
        images = args.get("images") or []
        return Coll(images[0].bands if images and isinstance(images[0], Img) else ())
    if name == "ImageCollection.reduce":
        return Img(reduce_bands(collection_bands(args, "collection"), args.get("reducer")))
    if name == "ImageCollection.toBands":
        return Img(tuple((f"0_{b}", t) for b, t in collection_bands(args, "collection")))
    if name in ("reduce.mean", "ImageCollection.mean"):
        return Img(tuple((b, F64) for b, _ in collection_bands(args, "collection")))
    if prefix in ("reduce", "ImageCollection", "Collection") and method in _COLLAPSES:
        return Img(collection_bands(args, "collection"))
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
    image_bands(args, "image")
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
        list(image_bands(a, "image")),
        a.get("collection"),
        a.get("reducer"),
        a.get("scale"),
        a.get("crs"),
        a.get("crsTransform"),
    ),
    "Image.projection": _image_projection,
    "Projection.nominalScale": _nominal_scale,
}


def _map_features(graph: Graph, args: dict[str, Any]) -> rr.Features:
    """A function mapped over client-side features (e.g. Feature.select after reduceRegions)."""
    out = []
    for feature in args["collection"].features:
        result = graph.call(args.get("baseAlgorithm"), [feature])
        if not isinstance(result, rr.Feature):
            raise ExpressionError("Collection.map: the fake server only maps functions returning a Feature.")
        out.append(result)
    return rr.Features(tuple(out))


def _map(graph: Graph, args: dict[str, Any]) -> Coll:
    """Infer from the mapped function's body; keep the collection's bands if that fails."""
    bands = collection_bands(args, "collection")
    result = graph.call(args.get("baseAlgorithm"), [Img(bands)])
    return Coll(result.bands if isinstance(result, (Img, Coll)) else bands)


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
