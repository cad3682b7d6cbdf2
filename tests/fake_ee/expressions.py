"""Band-name and dtype inference for serialized Earth Engine expressions: the graph walker.

A test double, not an evaluator: it walks the expression graph the client sends
(`{"result": id, "values": {id: node}}`) and tracks only what a pixel request
needs to know, which bands come out and with which dtypes. Unknown functions
fall back to the bands of their first image-valued argument.

For value:compute it also builds client-side features and answers
`Image.reduceRegions` with `Reducer.frequencyHistogram` (see `reduce_regions.py`),
and reports every image's native projection as EPSG:4326 at 0.001 degrees.

This module holds the entry points and the walk over the graph's nodes; what each
algorithm produces is in `algorithms.py` (dispatch) and `bands.py` (band
operations), the assets in `catalog.py`, the value types in `values.py`.
"""

from __future__ import annotations

from typing import Any

from . import reduce_regions as rr
from .algorithms import invoke
from .values import Band, Call, Coll, ExpressionError, Func, Img

__all__ = ["Band", "ExpressionError", "Graph", "evaluate", "infer_bands"]


def infer_bands(expression: dict[str, Any]) -> list[Band]:
    """Output bands of an Image-valued expression; raises ExpressionError like the service would."""
    value = Graph(expression).evaluate_ref(str(expression.get("result")), {})
    if isinstance(value, Img):
        return list(value.bands)
    kind = "ImageCollection" if isinstance(value, Coll) else type(value).__name__
    raise ExpressionError(f"Expected a value of type Image, got {kind}.")


def evaluate(expression: dict[str, Any]) -> Any:
    """Evaluate for value:compute; only constants, Number arithmetic and Image.bandNames are known."""
    return _plain(Graph(expression).evaluate_ref(str(expression.get("result")), {}))


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


class Graph:
    """The values of one expression by id, evaluated on demand (`env`: the arguments of a function body)."""

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
                return invoke(self, inv["functionName"], args)
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
