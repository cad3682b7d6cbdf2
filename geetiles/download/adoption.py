"""The files a dead worker may have written for the chips it held and had not reported.

Each is checked as a resume checks an unjournaled file (``geotiff.inspect``: size, bands, dtype,
CRS, transform, request tag) and, when valid, becomes a journal row made from the file itself (its
size, modification time and checksum); the others are fetched again. The check reads the files with
``geetiles.tiff``, which opens those not in the plain layouts geetiles writes with GDAL, and GDAL costs
a process some 50 MB the first time: the driver has it run as a Ray task (a worker process's memory,
not the driver's, and not in the dispatch loop's time), and runs it itself only when Ray is gone (a
salvage).
"""

from __future__ import annotations

import os
from pathlib import Path

from geetiles.download import geotiff
from geetiles.download.messages import ChipJob
from geetiles.manifest import chip_row


def adoptable_rows(
    jobs: list[ChipJob], band_count: int, dtype: str, request: str, node: str = "", dead_pid: int | None = None
) -> list[dict | None]:
    """For each job, the journal row of its valid file, or None (no file, or not the one asked).
    The dead worker's temporary files (``dead_pid``) are removed: they will never be renamed."""
    from geetiles.download.fingerprint import grid_fingerprint

    rows: list[dict | None] = []
    for job in jobs:
        path = Path(job.path)
        if dead_pid is not None:
            path.with_name(f".{path.stem}.tmp{dead_pid}{path.suffix}").unlink(missing_ok=True)
        grid = job.grid
        expected = geotiff.Expected(grid.width, grid.height, band_count, dtype, grid.crs, grid.transform, request)
        try:
            stat = os.stat(path)
            if geotiff.inspect(path, expected) != "valid":
                rows.append(None)
                continue
            data = path.read_bytes()
        except OSError:  # not written (the usual case): fetched again
            rows.append(None)
            continue
        rows.append(
            chip_row(
                job.identifier,
                "done",
                request,
                grid_fingerprint(grid),
                attempts=1,
                nbytes=len(data),
                checksum=geotiff.checksum(data),
                node=node,
                stat=stat,
            )
        )
    return rows
