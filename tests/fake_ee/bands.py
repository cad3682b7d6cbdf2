"""Band operations: which bands, with which dtypes, an image algorithm outputs.

The fake tracks no pixels through an expression, only band names and dtypes, so
each Earth Engine image algorithm it knows is one function here from its input
bands to its output bands, raising `ExpressionError` with the service's message
where the service refuses. `algorithms.py` maps algorithm names onto them.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .values import F32, F64, I8, I16, I32, I64, U8, U16, Band, Call, Coll, ExpressionError, Img


def image_bands(args: dict[str, Any], key: str) -> tuple[Band, ...]:
    value = args.get(key)
    if isinstance(value, (Img, Coll)):
        return value.bands
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return constant(value)  # the client promotes numbers to Image.constant, but be lenient
    raise ExpressionError(f"Expected an Image for argument '{key}', got {type(value).__name__}.")


def collection_bands(args: dict[str, Any], key: str) -> tuple[Band, ...]:
    value = args.get(key)
    if isinstance(value, (Coll, Img)):
        return value.bands
    raise ExpressionError(f"Expected an ImageCollection for argument '{key}', got {type(value).__name__}.")


def select(bands: tuple[Band, ...], selectors: Any, new_names: Any) -> tuple[Band, ...]:
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
    return rename(tuple(chosen), new_names) if new_names else tuple(chosen)


def _pattern_matches(pattern: str, band: str) -> bool:
    """Selectors are regular expressions on the service; a bad regex is treated as a literal name."""
    try:
        return re.fullmatch(pattern, band) is not None
    except re.error:
        return pattern == band


def rename(bands: tuple[Band, ...], names: Any) -> tuple[Band, ...]:
    names = names if isinstance(names, list) else [names]
    if len(names) != len(bands):
        raise ExpressionError(
            f"Image.rename: The number of names ({len(names)}) must match the number of bands ({len(bands)})."
        )
    return tuple((str(n), t) for n, (_, t) in zip(names, bands))


def visualize(bands: tuple[Band, ...], args: dict[str, Any]) -> tuple[Band, ...]:
    """Three bands or a palette give RGB; one band without a palette gives vis-gray, as on the service."""
    wanted = args.get("bands")
    if wanted:
        bands = select(bands, wanted, None)
    if len(bands) not in (1, 3):
        raise ExpressionError(f"Image.visualize: Expected 1 or 3 bands, but got {len(bands)}.")
    if len(bands) == 1 and not args.get("palette"):
        return (("vis-gray", U8),)
    return (("vis-red", U8), ("vis-green", U8), ("vis-blue", U8))


def constant(value: Any) -> tuple[Band, ...]:
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


def arithmetic(left: tuple[Band, ...], right: tuple[Band, ...]) -> tuple[Band, ...]:
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


def add_bands(dst: tuple[Band, ...], src: tuple[Band, ...], names: Any, overwrite: Any) -> tuple[Band, ...]:
    if names:
        src = select(src, names, None)
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


def reduce_bands(bands: tuple[Band, ...], reducer: Any) -> tuple[Band, ...]:
    """ImageCollection.reduce suffixes outputs with the reducer's name (B4 -> B4_median)."""
    if isinstance(reducer, Call) and reducer.name.startswith("Reducer."):
        suffix = reducer.name.partition(".")[2]
        dtype = F64 if suffix == "mean" else None
        return tuple((f"{b}_{suffix}", dtype or t) for b, t in bands)
    return bands
