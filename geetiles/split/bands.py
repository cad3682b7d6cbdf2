"""Parallel bands: strips of chips dealt to splits, so each split samples the whole AOI.

Conventions (metric plane: x east, y north, metres):

- ``azimuth_deg`` is the direction of the bands' long axis, in degrees clockwise from north:
  0 gives north-south strips (cut by lines of constant x), 90 east-west strips.
- Chips are ordered across the strips by ``across = x cos(a) - y sin(a)`` with ``a`` the azimuth
  folded into [0, 180): a and a + 180 are the same strips in the same order, and -a gives the
  mirror image (x -> -x) of a, chip for chip, with the same codes (at 0 the strips are their own
  mirror image, but the mirrored chips are counted from the other side).
- Bands start at the chip furthest "left" (smallest ``across``): each is ``band_width_m`` wide, or
  the span is cut into ``bands`` equal bands; exactly one of the two is given.
- Bands are dealt in order by :func:`geetiles.split.groups.stride_codes` (each band to the split
  furthest below its running weight target: tr tr va tr tr te tr tr tr va ... for 70/15/15, so
  every split has bands all across the AOI), then single band moves or swaps
  (:func:`geetiles.split.groups.refine`) bring the weights to the targets as exactly as whole
  bands allow: within max(1 / bands, 1 %) of each fraction in practice.
"""

from __future__ import annotations

import math

import numpy as np

from geetiles.split.codes import check_fractions, check_weights, empty_codes
from geetiles.split.groups import refine, stride_codes


def across_coordinate(centres_m: np.ndarray, azimuth_deg: float) -> np.ndarray:
    """Position of each chip across bands of the given azimuth, in metres."""
    folded = float(azimuth_deg) % 180.0
    mirrored = folded > 90.0
    a = math.radians(180.0 - folded if mirrored else folded)
    cos_a, sin_a = math.cos(a), math.sin(a)
    if abs(cos_a) < 1e-15:  # exactly 90 degrees: no stray 6e-17 mixing x in
        cos_a = 0.0
    if mirrored:  # -a is the mirror image of a: same numbers for mirrored chips, bit for bit
        cos_a = -cos_a
    xy = np.asarray(centres_m, dtype=float).reshape(-1, 2)
    return xy[:, 0] * cos_a - xy[:, 1] * sin_a


def band_index(
    centres_m: np.ndarray, azimuth_deg: float, band_width_m: float | None = None, bands: int | None = None
) -> np.ndarray:
    """Band number of each chip, 0 for the band at the smallest ``across`` coordinate."""
    if (band_width_m is None) == (bands is None):
        raise ValueError("give exactly one of band_width_m and bands")
    p = across_coordinate(centres_m, azimuth_deg)
    if len(p) == 0:
        return np.empty(0, dtype=np.int64)
    start, span = p.min(), np.ptp(p)
    if band_width_m is not None:
        if not band_width_m > 0:
            raise ValueError(f"band_width_m must be positive, got {band_width_m!r}")
        width, last = float(band_width_m), np.iinfo(np.int64).max
    else:
        if int(bands) < 1:
            raise ValueError(f"bands must be at least 1, got {bands!r}")
        width, last = (span / int(bands) if span > 0 else 1.0), int(bands) - 1
    return np.minimum(np.floor((p - start) / width).astype(np.int64), last)


def band_split(
    centres_m: np.ndarray,
    weights,
    fractions,
    azimuth_deg: float,
    band_width_m: float | None = None,
    bands: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """One code per chip: the code of its band (see the module's conventions)."""
    f = check_fractions(fractions)
    index = band_index(centres_m, azimuth_deg, band_width_m, bands)
    w = check_weights(weights, len(index))
    if len(index) == 0:
        return empty_codes()
    occupied, inverse = np.unique(index, return_inverse=True)  # ordered across, empty bands skipped
    band_weights = np.bincount(inverse, w, minlength=len(occupied))
    codes = stride_codes(band_weights, f, np.random.default_rng(seed))
    return refine(band_weights, codes, f)[inverse]
