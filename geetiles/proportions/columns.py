"""The proportions columns, from counted class pixels.

- ``{dataset}_proportions``: a JSON object per chip, class key (a string) → share of the chip's valid
  pixels, classes present only, as geetiles 0.1.7 wrote it; ``{}`` for a chip with no valid pixel,
  null for a chip whose file could not be read.
- ``{dataset}_valid_frac``: the share of the chip's geometry with valid labels (nodata and values in
  no class left out).
- ``{dataset}_class_{key}``: one column per class with its share (0 where absent), in the GeoParquet
  twin only, where analysts want them wide.
"""

from __future__ import annotations

import numpy as np


def proportions_column(dataset: str) -> str:
    return f"{dataset}_proportions"


def valid_frac_column(dataset: str) -> str:
    return f"{dataset}_valid_frac"


def class_column(dataset: str, key: str) -> str:
    return f"{dataset}_class_{key}"


def shares(classes: np.ndarray) -> np.ndarray:
    """Row-normalised class pixels; rows without valid pixels stay 0."""
    valid = classes.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid > 0, classes / np.where(valid > 0, valid, 1), 0.0)


def as_dicts(table: np.ndarray, keys: tuple[str, ...], failed=()) -> list[dict | None]:
    """One ``{key: share}`` per row, classes present only; None for the ``failed`` rows."""
    keys = list(keys)
    rows = np.asarray(table).tolist()  # Python lists once, not numpy calls per row (a million rows)
    out: list[dict | None] = [{key: share for key, share in zip(keys, row) if share > 0} for row in rows]
    for row in failed:
        out[row] = None
    return out


def columns_from_counts(
    dataset: str, keys: tuple[str, ...], classes: np.ndarray, inside: np.ndarray, failed: dict[int, str]
) -> tuple[dict[str, object], list[str]]:
    """The columns to write (GeoJSON and twin) and the names of those for the twin only."""
    table = shares(classes)
    valid = classes.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        valid_frac = np.clip(np.where(inside > 0, valid / np.where(inside > 0, inside, 1), 0.0), 0.0, 1.0)
    rows = np.fromiter(failed, dtype=np.int64, count=len(failed))
    valid_frac[rows] = np.nan
    table[rows] = np.nan
    columns: dict[str, object] = {
        proportions_column(dataset): as_dicts(table, keys, failed),
        valid_frac_column(dataset): valid_frac,
    }
    wide = {class_column(dataset, key): table[:, index] for index, key in enumerate(keys)}
    columns.update(wide)
    return columns, list(wide)
