"""64-bit hashes of chip identifiers, so a million of them are compared as numbers (8 bytes each)
instead of as Python strings (about 60 bytes each, plus a hash table)."""

from __future__ import annotations

import numpy as np


def hash64(identifiers) -> np.ndarray:
    """FNV-1a-style 64-bit hash of each string, vectorised over its characters; the padding of a
    fixed-width array is skipped, so a string hashes the same in arrays of any width."""
    identifiers = np.asarray(identifiers, dtype=str)  # fixed-width UTF-32: 4 bytes a character
    if not len(identifiers):
        return np.zeros(0, dtype=np.uint64)
    width = max(1, identifiers.dtype.itemsize // 4)
    codes = identifiers.view(np.uint32).reshape(len(identifiers), width)
    value = np.full(len(identifiers), 0xCBF29CE484222325, dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    with np.errstate(over="ignore"):
        for column in range(codes.shape[1]):
            code = codes[:, column].astype(np.uint64)
            value = np.where(code != 0, (value ^ code) * prime, value)
    return value
