"""The label classes of a downloaded dataset, as the proportions columns key them.

They come from the dataset's download record (``classes``, after any remap or range map), so no
dataset needs its own code here. Chips that geetiles 0.1.7 downloaded have no record; their classes
come from the packaged recipe of the same name (``proportions.definition``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geetiles.errors import UserInputError
from geetiles.record import read_download_record

NODATA, UNKNOWN = -1, -2  # class indices of pixels left out: nodata, and values in no class


@dataclass(frozen=True)
class LabelTable:
    """Class keys, names and colours, and the rule that turns pixel values into class indices."""

    dataset: str
    keys: tuple[str, ...]  # proportions keys, one per class (distinct)
    names: tuple[str, ...]
    colors: tuple[str, ...]
    codes: np.ndarray  # code tables: the pixel value of each entry (sorted) ...
    code_class: np.ndarray  # ... and the class index it counts for
    thresholds: np.ndarray | None  # range maps: class i is [t_(i-1), t_i)
    nodata: float | None

    @classmethod
    def from_classes(cls, dataset: str, classes: list[dict], nodata: float | None) -> LabelTable:
        if not classes:
            raise UserInputError(
                f"dataset {dataset!r} has no label classes in its record: it is imagery, not labels; "
                "give a labels dataset (e.g. labels=worldcover)"
            )
        keys: list[str] = []
        names, colors, code_class = [], [], []
        for entry in classes:
            key = str(int(entry.get("key", entry["code"])))
            if key not in keys:
                keys.append(key)
                names.append(str(entry.get("name", key)))
                colors.append(str(entry.get("color", "#000000")))
            code_class.append(keys.index(key))
        thresholds = None
        if any("min" in entry or "max" in entry for entry in classes):
            thresholds = np.asarray(
                [entry["max"] for entry in classes if entry.get("max") is not None], dtype=np.float64
            )
        codes = np.asarray([int(entry["code"]) for entry in classes], dtype=np.float64)
        order = np.argsort(codes, kind="stable")
        return cls(
            dataset,
            tuple(keys),
            tuple(names),
            tuple(colors),
            codes[order],
            np.asarray(code_class, dtype=np.int64)[order],
            thresholds,
            nodata,
        )

    def class_index(self, values: np.ndarray) -> np.ndarray:
        """For every pixel, the index of its class in :attr:`keys`; NODATA or UNKNOWN where none."""
        values = np.asarray(values)
        if values.dtype in (np.uint8, np.int8, np.uint16, np.int16):
            return (
                _lookup_table(self, values.dtype.str)[values.astype(np.int64) - np.iinfo(values.dtype).min]
                if values.dtype.kind == "i"
                else _lookup_table(self, values.dtype.str)[values]
            )
        return self._class_index(values)

    def _class_index(self, values: np.ndarray) -> np.ndarray:
        if self.thresholds is not None:
            index = np.searchsorted(self.thresholds, values, side="right").astype(np.int64)
        else:
            found = np.searchsorted(self.codes, values)
            found = np.minimum(found, len(self.codes) - 1)
            index = np.where(self.codes[found] == values, self.code_class[found], UNKNOWN)
        if values.dtype.kind == "f":
            index[np.isnan(values)] = NODATA
        if self.nodata is not None and not math.isnan(self.nodata):
            index[values == self.nodata] = NODATA
        return index


_TABLES: dict = {}


def _lookup_table(table: LabelTable, dtype: str) -> np.ndarray:
    """The class index of every value of a small integer type, in value order: one gather per chip
    instead of a search per pixel."""
    key = (id(table), dtype)
    if key not in _TABLES:
        info = np.iinfo(np.dtype(dtype))
        _TABLES[key] = (table, table._class_index(np.arange(info.min, info.max + 1).astype(dtype)))
    return _TABLES[key][1]


def label_table(folder: Path, definition: str | None) -> LabelTable:
    """The classes of the chips in ``folder``: from its download record, else (chips without one, as
    geetiles 0.1.7 left them) from the recipe named ``definition`` (or the folder's own name)."""
    record = read_download_record(folder)
    if record is not None and record.get("classes") is not None:
        return LabelTable.from_classes(folder.name, list(record["classes"]), _nodata(record.get("nodata")))
    from geetiles.sources.base import class_table
    from geetiles.sources.catalog import find_recipe

    name = definition or folder.name
    recipe = find_recipe(name)
    if recipe is None:
        raise UserInputError(
            f"{folder} has no download record and {name!r} is not a packaged labels recipe, so its classes "
            "are unknown; set proportions.definition=NAME (e.g. esa-world-cover) or download it again"
        )
    classes = class_table(recipe.classes, recipe.remap, recipe.range_map, recipe.proportion_keys)
    if record is not None and record.get("nodata", "absent") != "absent":
        nodata = _nodata(record.get("nodata"))
    else:
        nodata = None if recipe.dtype is not None and recipe.dtype.value.startswith("float") else 0.0
    return LabelTable.from_classes(folder.name, classes, nodata)


def _nodata(value) -> float | None:
    return None if value is None else float(value)


def colormap_of(classes, dtype: str) -> dict[int, tuple[int, int, int, int]] | None:
    """The label colour table a chip file carries: each class code's colour, for code tables of
    uint8/uint16 labels (TIFF palettes hold no other). Shared by the download, which writes it into
    every label chip, and the export, whose COGs must carry the same to be the download's bytes."""
    kind = np.dtype(dtype)
    if not classes or kind.kind != "u" or kind.itemsize > 2:
        return None
    if any("min" in c or "max" in c for c in classes):  # range maps: the pixels hold raw values, not classes
        return None
    table = {}
    for entry in classes:
        color = str(entry.get("color", "#000000")).lstrip("#")
        if len(color) == 6:
            table[int(entry["code"])] = (int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16), 255)
    return table or None
