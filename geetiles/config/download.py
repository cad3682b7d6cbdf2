"""The ``download`` keys: the engine's caps, retries, filters and where chips are written."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import List, Optional


class OnChange(Enum):
    refetch = "refetch"  # chips on disk made by another request (other settings) are fetched again
    refuse = "refuse"  # stop with exit 2, nothing changed: a dataset folder stays as it was made


class WriteOn(Enum):
    worker = "worker"  # workers write chips straight to data_dir (local disk or a shared filesystem)
    driver = "driver"  # workers send GeoTIFF bytes back; the driver writes (no shared filesystem needed)


@dataclass
class DownloadConfig:
    tiles_file: Optional[str] = None  # when the download stage runs alone; else the tiling stage's file
    skip_if_exists: bool = True  # skip chips whose file is present and valid (no request sent)
    max_in_flight: int = 40  # ONE cap on concurrent requests across all workers (EE default quota)
    max_requests_per_s: float = 100.0  # ONE cap on request rate across all workers (EE default quota)
    actors: Optional[int] = None  # download workers; default min(4, CPUs of the Ray cluster)
    max_attempts: int = 10  # per request, for retryable errors (429, 5xx, timeouts): 0.3^10 ≈ 6e-6 at 30 % errors
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    request_timeout_s: float = 300.0  # Earth Engine's own limit for interactive requests
    max_request_bytes: int = 50_331_648  # w * h * sum(bytes per band + 1), Earth Engine's limit
    max_pixels_per_side: int = 32768
    max_downloads: Optional[int] = None  # at most this many chips (after skipping existing ones)
    shuffle: bool = False
    seed: int = 0
    groups: Optional[List[str]] = None  # only chips whose `group` column is one of these
    aoi: Optional[str] = None  # only chips intersecting this bundled country/continent
    write_on: WriteOn = WriteOn.worker
    batch_size: int = 64  # chips per message between the driver and a worker
    stall_timeout_s: float = 600.0  # stop (keeping every finished chip) when no chip finishes for this long
    on_change: OnChange = OnChange.refetch  # chips on disk made with other settings: refetch them, or refuse
    progress: str = "auto"  # auto (bar on a terminal, log lines otherwise) | bar | log | none
    # aligned chips (same CRS and pixel grid: tiling=utm) fetched several per request, cut apart on the client:
    # auto (blocks up to 1024 px a side), off (one request per chip), or the largest block side in pixels
    coalesce: str = "auto"
