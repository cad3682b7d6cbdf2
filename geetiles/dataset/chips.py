"""A map-style dataset over an exported dataset folder: ``chips.parquet`` and the chip GeoTIFFs.

    from geetiles.dataset import ChipDataset
    train = ChipDataset("outputs/data/lux_partitions_aschips_<hash>_dataset", split="train")
    sample = train[0]  # the sample of geetiles.dataset.sample: image, label, proportions, valid_frac, ...

``split`` is required: a split's name, or ``None`` for every chip of the dataset (so that training on
validation chips is never what an omitted argument means). With PyTorch:
``DataLoader(train, batch_size=32, num_workers=4)``; the default collate batches every key. Chips are read by
``geetiles.tiff`` (its fast path for the COGs the export writes, GDAL for anything else); a chip file
that cannot be read raises ``geetiles.tiff.UnreadableChip``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from geetiles.dataset.sample import ChipClass, class_table, make_sample
from geetiles.tiff import read_pixels

INDEX = "chips.parquet"


class ChipDataset:
    """Chips of one split (or all with ``split=None``) of a dataset folder written by the export stage.

    ``classes`` is the class table (:class:`~geetiles.dataset.sample.ChipClass`: integer key, name,
    pixel codes) in the order of every sample's ``proportions``; ``row(i)`` is chip ``i``'s whole index
    row (centre, foreign ids, area, paths, SHA-256, ...)."""

    def __init__(self, root: str | Path, split: str | None) -> None:
        import pyarrow.parquet as pq

        self.root = Path(root)
        if self.root.suffix == ".parquet":
            self.root = self.root.parent
        index = self.root / INDEX
        if not index.exists():
            raise FileNotFoundError(f"{index} does not exist: give the folder the export stage wrote (export=geotiff)")
        table = pq.read_table(index)
        self.info = json.loads((table.schema.metadata or {}).get(b"geetiles", b"{}"))
        if split is not None:
            splits = table.column("split").to_pylist()
            if split not in set(splits):
                raise ValueError(f"split {split!r} is not in {index} (it has {', '.join(sorted(set(splits)))})")
            table = table.filter(np.asarray([s == split for s in splits]))
        self.split = split
        self._table = table
        names = table.column_names
        self.image_paths = table.column("image_path").to_pylist()
        self.label_paths = table.column("label_path").to_pylist() if "label_path" in names else None
        labels = self.info.get("labels") or {}
        self.classes: list[ChipClass] = class_table(labels.get("classes")) if labels else []
        self.proportions = np.zeros((len(self.image_paths), len(self.classes)), dtype=np.float32)
        self.valid_frac = np.full(len(self.image_paths), np.nan)
        if labels:
            prefix = labels.get("name")
            columns = [f"{prefix}_class_{c.key}" for c in self.classes]
            if not any(c in names for c in columns):  # proportions never counted: NaN, not "every class absent"
                self.proportions[:] = np.nan
            for at, column in enumerate(columns):
                if column in names:
                    self.proportions[:, at] = table.column(column).to_numpy(zero_copy_only=False)
            if f"{prefix}_valid_frac" in names:
                self.valid_frac = table.column(f"{prefix}_valid_frac").to_numpy(zero_copy_only=False).astype(float)
        self._identifiers = table.column("identifier").to_pylist()
        self._splits = table.column("split").to_pylist()
        self._crs = table.column("crs").to_pylist()
        self._transform = table.column("transform").to_pylist()
        self._shape = list(zip(table.column("height").to_pylist(), table.column("width").to_pylist()))
        boxes = table.column("bbox").to_pylist() if "bbox" in names else [None] * len(self.image_paths)
        self._bounds = [None if b is None else [b["xmin"], b["ymin"], b["xmax"], b["ymax"]] for b in boxes]

    def __len__(self) -> int:
        return len(self.image_paths)

    def __getitem__(self, index: int) -> dict:
        index = self._checked(index)
        label = None
        if self.label_paths is not None:
            label = read_pixels(self.root / self.label_paths[index])[0]
        height, width = self._shape[index]
        valid = self.valid_frac[index]
        return make_sample(
            read_pixels(self.root / self.image_paths[index]),
            label,
            self.proportions[index] if self.classes else None,
            None if math.isnan(valid) else valid,
            self._identifiers[index],
            self._splits[index],
            self._crs[index],
            self._transform[index],
            self._bounds[index],
            height,
            width,
        )

    def row(self, index: int) -> dict:
        """Chip ``index``'s whole index row, footprint as WKB (for what the sample leaves out)."""
        return self._table.slice(self._checked(index), 1).to_pylist()[0]

    def _checked(self, index: int) -> int:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"chip {index} of {len(self)}")
        return index

    def __repr__(self) -> str:
        return f"ChipDataset({str(self.root)!r}, split={self.split!r}): {len(self)} chips"
