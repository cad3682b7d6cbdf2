"""What an export reads: the chips to package (verified against the download manifests), their rows
of the tiles file, and what the download records say about each dataset.

Every format (``geotiff``, ``webdataset``, ``legacy_zip``) works from one :class:`ExportInput`, so they
package the same chips in the same split and none re-reads the tiles file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ALL = "all"  # the split of every chip when the tiles file has no split column


@dataclass(frozen=True)
class DatasetInfo:
    """One downloaded dataset: its chip folder and what its download record says."""

    name: str
    folder: Path
    bands: tuple[str, ...]
    dtype: str
    nodata: float | None
    classes: tuple[dict, ...]  # label datasets: {code, name, color[, key, min, max]}; () for imagery
    record: dict  # the whole download record (config, request, summary); {} for 0.1.7's folders

    def path(self, identifier: str) -> Path:
        from geetiles.names import child_path

        return child_path(self.folder, identifier, ".tif")


@dataclass(frozen=True)
class RecordedChecks:
    """Each chip's status and checksum in its download manifests (aligned with the identifiers), for a
    writer that checks each chip as it reads it instead of a pass of its own before writing."""

    image_status: list[str]
    image_sum: list[str]
    label_status: list[str] | None
    label_sum: list[str] | None


@dataclass
class ExportInput:
    tiles_path: Path
    frame: object  # GeoDataFrame (EPSG:4326) of the chips to export, in tiles-file order, index reset
    identifiers: np.ndarray  # str, aligned with frame
    splits: np.ndarray  # str: each chip's split ("train", "val", "test", or ALL)
    images: DatasetInfo | None
    labels: DatasetInfo | None
    name: str  # the dataset's name (card title, shard file names)
    seed: int
    resolved_config: dict  # the run's resolved config (secrets redacted), for records and metadata
    skipped: dict[str, str] = field(default_factory=dict)  # identifier → why it is left out (missing, corrupt)
    checks: RecordedChecks | None = None  # set: the chips are not checked yet, the geotiff writer checks them

    def split_names(self) -> list[str]:
        """The splits present, in train, val, test order (then any other)."""
        order = {"train": 0, "val": 1, "test": 2}
        return sorted(set(self.splits.tolist()), key=lambda s: (order.get(s, 3), s))
