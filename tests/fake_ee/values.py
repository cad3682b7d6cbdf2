"""The values an Earth Engine expression evaluates to in the fake, and the error it raises.

Kept apart from the graph walker (`expressions.py`) and the algorithms (`algorithms.py`,
`bands.py`) because all of them build and inspect these values: an image is only its
bands (name and dtype), a collection likewise, and anything else is kept as a `Call`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Band = tuple[str, np.dtype]

U8, I8, U16, I16, U32, I32, I64 = (np.dtype(t) for t in ("u1", "i1", "u2", "i2", "u4", "i4", "i8"))
F32, F64 = np.dtype("f4"), np.dtype("f8")


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
