"""The arrays a pickle holds: pixel values through the dataset's class keys, as 0.1.7's ``map_values``
made them, and stored as int16 where int16 holds every value exactly, as 0.1.7 stored them."""

from __future__ import annotations

import numpy as np

from geetiles.export.inputs import DatasetInfo

INT16 = np.dtype(np.int16)
INT16_EXACT = (np.dtype(np.uint8), np.dtype(np.int8), INT16)  # the dtypes whose every value int16 holds


def value_map(info: DatasetInfo | None) -> ValueMap | None:
    """What turns a dataset's pixel values into its proportions keys, as 0.1.7's ``map_values`` did,
    or None where 0.1.7's map was the identity (no class keyed otherwise than by its code, no
    ranges). Chips without classes in their record (0.1.7's folders) take those of the packaged
    recipe of the same name."""
    if info is None:
        return None
    classes = list(info.classes)
    if not classes:
        from geetiles.sources.base import class_table
        from geetiles.sources.catalog import find_recipe

        recipe = find_recipe(info.name)
        if recipe is None or not recipe.classes and not recipe.range_map:
            return None
        classes = class_table(recipe.classes, recipe.remap, recipe.range_map, recipe.proportion_keys)
    if not any("key" in c or "min" in c or "max" in c for c in classes):
        return None
    from geetiles.classes import LabelTable

    return ValueMap(LabelTable.from_classes(info.name, classes, info.nodata))


class ValueMap:
    """Pixel values → their class's proportions key (values in no class, and nodata, → 0), in the
    values' dtype when every key fits in it, else the smallest integer type that holds them; one
    table lookup per chip for 8- and 16-bit integer chips."""

    def __init__(self, table) -> None:
        self.table = table
        self.keys = np.asarray([int(k) for k in table.keys], dtype=np.int64)
        self.low, self.high = min(0, int(self.keys.min())), max(0, int(self.keys.max()))
        self._lookup: dict = {}

    def dtype(self, dtype: np.dtype) -> np.dtype:
        if dtype.kind in "iu" and np.iinfo(dtype).min <= self.low and self.high <= np.iinfo(dtype).max:
            return dtype
        return np.result_type(np.min_scalar_type(self.low), np.min_scalar_type(self.high))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        if values.dtype.kind in "iu" and values.dtype.itemsize <= 2:
            if values.dtype not in self._lookup:
                info = np.iinfo(values.dtype)
                self._lookup[values.dtype] = self._map(np.arange(info.min, info.max + 1).astype(values.dtype))
            lookup = self._lookup[values.dtype]
            if values.dtype.kind == "u":
                return lookup[values]
            return lookup[values.astype(np.int32) - np.iinfo(values.dtype).min]
        return self._map(values)

    def _map(self, values: np.ndarray) -> np.ndarray:
        from geetiles.classes import NODATA, UNKNOWN

        index = self.table.class_index(values)
        out = np.where((index == NODATA) | (index == UNKNOWN), 0, self.keys[np.clip(index, 0, None)])
        return out.astype(self.dtype(values.dtype))


def apply_map(values: np.ndarray, mapping: ValueMap | None) -> np.ndarray:
    """``values`` through ``mapping`` (unchanged without one)."""
    return values if mapping is None else mapping(values)


def stored(values: np.ndarray, mapping: ValueMap | None = None) -> np.ndarray:
    """``values`` as a pickle holds them: int16, as 0.1.7 stored every chip, wherever int16 holds every
    value exactly (uint8, int8 and int16 chips; mapped labels whose keys fit in int16), so code written
    for 0.1.7's datasets (``chip - 128``) computes as it did; the values' own dtype where int16 would
    lose data (uint16, 32-bit integers, floats: 0.1.7 wrapped or truncated them). Decided by the dtype
    (or the map's keys), never by one chip's values, so every chip of a dataset has the same dtype."""
    if mapping is not None:
        exact = int(np.iinfo(INT16).min) <= mapping.low and mapping.high <= int(np.iinfo(INT16).max)
    else:
        exact = values.dtype in INT16_EXACT
    return values.astype(INT16) if exact and values.dtype != INT16 else values
