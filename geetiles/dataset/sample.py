"""The one sample both loaders return (:class:`~geetiles.dataset.ChipDataset` and
:func:`~geetiles.dataset.iterate_shards`), so code and ``DataLoader``\\ s work with either.

Every sample has the same keys, and across one dataset the same types and array ranks, so PyTorch's
``default_collate`` batches it as it is (arrays stacked, floats and ints as tensors, strings as lists):

- ``image``: (bands, height, width), the images' native dtype; (0, height, width) without images;
- ``label``: (height, width), the labels' first band in its native dtype; without labels an empty
  (0, 0) array of uint8, never None (None would break the default collate);
- ``proportions``: float32 (classes,), each class's share of the chip's valid pixels in class-table
  order (:attr:`ChipDataset.classes`), 0 for classes absent from the chip, NaN for every class of a
  chip whose proportions were not counted; (0,) without labels;
- ``valid_frac``: float, the share of the chip's pixels that are valid labels (NaN when unknown or
  without labels);
- ``identifier``, ``split``, ``crs``: str;
- ``transform_gdal``: float64 (6,), GDAL order ``x0, dx, row rotation, y0, column rotation, dy``
  (``affine.Affine.from_gdal(*t)``, not ``Affine(*t)``, which takes affine order a..f);
- ``bounds``: float64 (4,), the footprint's ``minlon, minlat, maxlon, maxlat`` (EPSG:4326).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SAMPLE_KEYS = ("image", "label", "proportions", "valid_frac", "identifier", "split", "crs", "transform_gdal", "bounds")
NO_LABEL = np.zeros((0, 0), dtype=np.uint8)


@dataclass(frozen=True)
class ChipClass:
    """A label class: ``key``, the integer its proportions count under (the pixel code itself for a plain
    class table), its ``name``, and the pixel ``codes`` counted for it."""

    key: int
    name: str
    codes: tuple[int, ...]


def class_table(classes: list[dict] | tuple[dict, ...] | None) -> list[ChipClass]:
    """The class table of a labels dataset (``{code, name[, key]}`` entries, as the index metadata and
    ``shards.json`` record them) in the order its proportions columns follow: one entry per key."""
    table: dict[int, ChipClass] = {}
    for entry in classes or ():
        key = int(entry.get("key", entry["code"]))
        known = table.get(key)
        if known is None:
            table[key] = ChipClass(key, str(entry.get("name", key)), (int(entry["code"]),))
        else:
            table[key] = ChipClass(key, known.name, known.codes + (int(entry["code"]),))
    return list(table.values())


def make_sample(
    image, label, proportions, valid_frac, identifier, split, crs, transform, bounds, height: int, width: int
) -> dict:
    """A sample with every key, in the types the module docstring states, whatever was missing."""
    if image is None:
        image = np.zeros((0, height, width), dtype=label.dtype if label is not None else np.uint8)
    return {
        "image": image,
        "label": NO_LABEL if label is None else label,
        "proportions": np.asarray([math.nan if v is None else v for v in proportions], dtype=np.float32)
        if proportions is not None
        else np.zeros(0, dtype=np.float32),
        "valid_frac": math.nan if valid_frac is None else float(valid_frac),
        "identifier": str(identifier),
        "split": str(split),
        "crs": "" if crs is None else str(crs),
        "transform_gdal": np.asarray(transform if transform is not None else [math.nan] * 6, dtype=np.float64),
        "bounds": np.asarray(bounds if bounds is not None else [math.nan] * 4, dtype=np.float64),
    }
