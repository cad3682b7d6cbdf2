"""Content-addressed chip ids and tiles-file hashes, bit-compatible with geetiles 0.1.7.

The original id is ``sha256(str(np.round(envelope_ring, 5)))`` per chip, where the envelope ring is the
5x2 array (minx,miny) (maxx,miny) (maxx,maxy) (minx,maxy) (minx,miny). Rather than call numpy's
``str()`` once per chip, :func:`chip_ids` reproduces numpy's array formatting with vectorised string
ufuncs and falls back to the real ``str()`` only for the rare chips that numpy would print in scientific
notation or that contain a zero coordinate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

_MOD = 10**15
_DECIMALS = 5
_SCALE = 10.0**_DECIMALS


def digest_to_id(text: str) -> str:
    """sha256 of ``text`` as an integer mod 10**15, written as 13 lowercase hex digits."""
    value = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest(), "big") % _MOD
    return format(value, "013x")


def envelope_ring(bounds: Sequence[float]) -> np.ndarray:
    """The 5x2 envelope ring of ``(minx, miny, maxx, maxy)`` in shapely's vertex order."""
    minx, miny, maxx, maxy = bounds
    return np.array([[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]], float)


def reference_chip_id(bounds: Sequence[float]) -> str:
    """The original algorithm, one chip at a time (the specification the fast path is tested on)."""
    with np.printoptions(**_NUMPY_DEFAULT_PRINT):
        return digest_to_id(str(envelope_ring(bounds).round(_DECIMALS)))


def list_hash(ids: Iterable[str]) -> str:
    """Hash of a tiles file: the chip ids joined by single spaces, in row order."""
    return digest_to_id(" ".join(ids))


def chip_ids(bounds: np.ndarray) -> list[str]:
    """Ids of many chips at once; ``bounds`` is an (N, 4) array of (minx, miny, maxx, maxy)."""
    bounds = np.asarray(bounds, dtype=float).reshape(-1, 4)
    ids = np.empty(len(bounds), dtype=object)
    for rows, texts in _envelope_texts(bounds):
        ids[rows] = [_digest_bytes_to_id(text) for text in texts]
    return ids.tolist()


_NUMPY_DEFAULT_PRINT = dict(
    precision=8,
    threshold=1000,
    edgeitems=3,
    linewidth=75,
    suppress=False,
    nanstr="nan",
    infstr="inf",
    sign="-",
    floatmode="maxprec",
    legacy=False,
)


def _digest_bytes_to_id(text: bytes) -> str:
    value = int.from_bytes(hashlib.sha256(text).digest(), "big") % _MOD
    return format(value, "013x")


def _envelope_texts(bounds: np.ndarray) -> Iterator[tuple[np.ndarray, list[bytes]]]:
    """UTF-8 of ``str(np.round(envelope_ring, 5))`` for every row of ``bounds``, as numpy prints it.

    numpy (floatmode 'maxprec', precision 8) prints each value with its shortest round-trip
    digits, pads integer parts on the left and fractions on the right to the widest in the array,
    and switches the whole array to scientific notation when a non-zero magnitude is < 1e-4,
    >= 1e8, or the max/min magnitude ratio exceeds 1000. Values rounded to 5 decimals have exactly
    the digits of ``k / 10**5``, so the integer ``k`` gives the text without any float printing.
    Rows that numpy would print otherwise (zeros, scientific notation) take the real ``str()``.
    """
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        k = np.rint(bounds * _SCALE)
        magnitude = np.abs(k / _SCALE)
        ratio = magnitude.max(axis=1) / magnitude.min(axis=1)
    slow = (k == 0).any(axis=1) | ~np.isfinite(bounds).all(axis=1)
    slow |= (magnitude.max(axis=1) >= 1e8) | (magnitude.min(axis=1) < 1e-4) | (ratio > 1000)

    fast_rows = np.flatnonzero(~slow)
    scaled = k[fast_rows].astype(np.int64)
    negative = scaled < 0
    scaled = np.abs(scaled)
    integer, fraction = scaled // 100000, scaled % 100000
    int_len = _digit_count(integer) + negative
    frac_len = 5 - _trailing_zeros(fraction)
    pad_left = int_len.max(axis=1)
    pad_right = frac_len.max(axis=1)
    layout_key = pad_left * 16 + pad_right
    # return_inverse: numpy's plain unique() imports numpy.ma (start-up time) to check for masks
    keys, which = np.unique(layout_key, return_inverse=True)
    for index, key in enumerate(keys.tolist()):
        left, right = divmod(key, 16)
        group = np.flatnonzero(which == index)
        cells = _cells(integer[group], fraction[group], negative[group], frac_len[group], left, right)
        text = _assemble(cells)
        width = text.shape[1]
        data = text.tobytes()
        yield fast_rows[group], [data[j : j + width] for j in range(0, len(data), width)]
    slow_rows = np.flatnonzero(slow)
    with np.printoptions(**_NUMPY_DEFAULT_PRINT):
        yield slow_rows, [str(envelope_ring(bounds[r]).round(_DECIMALS)).encode() for r in slow_rows]


def _digit_count(values: np.ndarray) -> np.ndarray:
    count = np.ones(values.shape, dtype=np.int64)
    for power in range(1, 9):  # fast-path magnitudes are < 1e8
        count += values >= 10**power
    return count


def _trailing_zeros(fraction: np.ndarray) -> np.ndarray:
    zeros = np.zeros(fraction.shape, dtype=np.int64)
    still = np.ones(fraction.shape, dtype=bool)
    for power in range(1, 6):
        still &= fraction % 10**power == 0
        zeros += still
    return zeros


def _cells(integer, fraction, negative, frac_len, left: int, right: int) -> np.ndarray:
    """(n, 4, left + 1 + right) uint8: each value right-aligned integer, '.', left-aligned fraction."""
    n = integer.shape[0]
    cells = np.full((n, 4, left + 1 + right), ord(" "), dtype=np.uint8)
    digits = _digit_count(integer)
    for pos in range(left):
        place = left - 1 - pos
        digit = (integer // 10**place) % 10 + ord("0")
        cells[:, :, pos] = np.where(place < digits, digit, np.where((place == digits) & negative, ord("-"), ord(" ")))
    cells[:, :, left] = ord(".")
    for j in range(right):
        digit = (fraction // 10 ** (4 - j)) % 10 + ord("0")
        cells[:, :, left + 1 + j] = np.where(j < frac_len, digit, ord(" "))
    return cells


def _assemble(cells: np.ndarray) -> np.ndarray:
    """Lay the 4 cells of each chip out as numpy prints the 5x2 envelope ring."""
    x0, y0, x1, y1 = range(4)
    layout = [
        b"[[",
        x0,
        b" ",
        y0,
        b"]\n [",
        x1,
        b" ",
        y0,
        b"]\n [",
        x1,
        b" ",
        y1,
        b"]\n [",
        x0,
        b" ",
        y1,
        b"]\n [",
        x0,
        b" ",
        y0,
        b"]]",
    ]
    pieces = [
        np.broadcast_to(np.frombuffer(item, dtype=np.uint8), (cells.shape[0], len(item)))
        if isinstance(item, bytes)
        else cells[:, item, :]
        for item in layout
    ]
    return np.concatenate(pieces, axis=1)
