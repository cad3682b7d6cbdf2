"""The ``export`` group: the dataset package and its formats."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import List, Optional


class ExportFormat(Enum):
    geotiff = "geotiff"  # images/ and labels/ as Cloud-Optimised GeoTIFFs, chips.parquet index, card, checksums
    webdataset = "webdataset"  # tar shards per split for streaming (image.npy, label.npy, json)
    legacy_zip = "legacy_zip"  # geetiles 0.1.7's zip of one pickle per chip (geet zip.dataset)


class OnMissing(Enum):
    refuse = "refuse"  # a chip missing or corrupt stops the export (nothing written)
    skip = "skip"  # leave such chips out, list them, and still fail the run's exit status


@dataclass
class ExportConfig:
    """The dataset package (group ``export``)."""

    formats: List[ExportFormat] = field(default_factory=lambda: [ExportFormat.geotiff])
    tiles_file: Optional[str] = None  # when the stage runs alone; else the tiling stage's file
    images: Optional[str] = None  # the images dataset (its chip folder's name); default: this run's source
    labels: Optional[str] = None  # the labels dataset; default: this run's labels
    dest: Optional[str] = None  # the dataset folder; default: {tiles file without .geojson}_dataset
    name: Optional[str] = None  # the dataset's name (card, shard names); default: {aoi}-{images}
    splits: Optional[str] = None  # the column holding each chip's split; default: split when present, else one "all"
    include_gap: bool = False  # also export the guard gap's chips (split "gap")
    zip: bool = False  # also pack the dataset folder into {dest}.zip (members STORED: GDAL reads them in place)
    shard_size_mb: float = 256.0  # webdataset: target shard size ...
    min_shards: int = 8  # ... but at least this many shards per split when there are enough chips
    seed: int = 0  # webdataset: the order chips are shuffled into
    on_missing: OnMissing = OnMissing.refuse
    license: str = "other"  # the dataset card's license field (e.g. cc-by-4.0)
    workers: Optional[int] = None  # processes; default one per core from 2,000 chips
    foreign_file: Optional[str] = None  # legacy_zip: the foreign units' tiles file, copied without its hash
    readme_file: Optional[str] = None  # legacy_zip: copied as README.txt
