"""A map-style dataset over an exported dataset folder: ``chips.parquet`` and the chip GeoTIFFs.

    from geetiles.dataset import ChipDataset
    train = ChipDataset("outputs/data/lux_partitions_aschips_<hash>_dataset", split="train")
    sample = train[0]  # {"image": (bands, H, W), "label": (H, W) or None, "proportions": (classes,), "metadata": {...}}

With PyTorch: ``DataLoader(train, batch_size=32, num_workers=4)`` (the default collate turns the
arrays into tensors; give ``collate_fn`` to keep the metadata as is). Chips are read by
``geetiles.tiff`` (its fast path for the COGs the export writes, GDAL for anything else); a chip
file that cannot be read raises ``geetiles.tiff.UnreadableChip``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from geetiles.tiff import read_pixels

INDEX = "chips.parquet"
_METADATA_COLUMNS = ("identifier", "split", "centre_lon", "centre_lat", "crs", "transform", "width", "height", "area_km2")


class ChipDataset:
    """Chips of one split (or all with ``split=None``) of a dataset folder written by the export stage."""

    def __init__(self, root: str | Path, split: str | None = "train") -> None:
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
        names = table.column_names
        self.image_paths = table.column("image_path").to_pylist()
        self.label_paths = table.column("label_path").to_pylist() if "label_path" in names else None
        labels = (self.info.get("labels") or {}).get("name")
        class_columns = [c for c in names if labels and c.startswith(f"{labels}_class_")]
        self.classes = [c[len(f"{labels}_class_"):] for c in class_columns]
        self.proportions = np.column_stack([table.column(c).to_numpy(zero_copy_only=False) for c in class_columns]) \
            .astype(np.float32) if class_columns else None
        kept = [c for c in names if c in _METADATA_COLUMNS or c.startswith(("foreignid_", "split_"))
                or (labels and c == f"{labels}_valid_frac")]
        self._metadata = table.select(kept).to_pylist()
        bounds = table.column("bbox").to_pylist() if "bbox" in names else [None] * len(self.image_paths)
        for row, box in zip(self._metadata, bounds):
            row["bounds"] = None if box is None else [box["xmin"], box["ymin"], box["xmax"], box["ymax"]]

    def __len__(self) -> int:
        return len(self.image_paths)

    def __getitem__(self, index: int) -> dict:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"chip {index} of {len(self)}")
        label = None
        if self.label_paths is not None:
            label = read_pixels(self.root / self.label_paths[index])[0]
        return {"image": read_pixels(self.root / self.image_paths[index]), "label": label,
                "proportions": None if self.proportions is None else self.proportions[index],
                "metadata": dict(self._metadata[index])}

    def __repr__(self) -> str:
        return f"ChipDataset({str(self.root)!r}, split={self.split!r}): {len(self)} chips"
