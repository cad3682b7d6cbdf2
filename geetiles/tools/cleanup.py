"""``geet cleanup``: remove the chip files GDAL cannot read, and make the download fetch them again.

A chip is kept only if it decodes in full: every band of it, by ``geetiles.tiff``'s fast path for
the plain one-image layouts chips are written in, or else by GDAL (every band and mask). A file cut
short by a full disk or a kill often opens fine and fails only on its last tiles,
so opening alone, as geetiles 0.1.7 did, is not enough. Readable files are never written, moved or
touched.

The folder's download manifest (``manifest.csv``, and the journal a killed run left) is brought up
to date through :class:`geetiles.manifest.Manifest`, the same code the download uses: every
removed chip that has a row gets a new latest row with status ``removed`` (and the reason as its
error), folded in and written atomically, so the manifest no longer says ``done`` for it and
``failures.csv`` lists it. A rerun of the download re-requests it: a chip whose file is missing is
always fetched (``geetiles.download.planning.Planner._resume_window``), and a ``removed`` row is never trusted
(``Manifest.untouched`` trusts only ``done`` rows whose file has the recorded size and mtime).

Do not run it while a download is writing into the same folder.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from geetiles.errors import UserInputError

REMOVED = "removed"  # the manifest status of a chip whose file cleanup removed


@dataclass
class CleanupSummary:
    directory: Path
    checked: int
    removed: list[tuple[Path, str]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # could not be read or removed (OSError)
    manifest_rows: int = 0  # manifest rows marked removed
    manifest: bool = False  # the folder has a download manifest
    seconds: float = 0.0

    def line(self) -> str:
        skipped = f"; {len(self.skipped)} could not be checked or removed (listed above)" if self.skipped else ""
        if not self.removed:
            return (
                f"cleanup: all {self.checked - len(self.skipped)} checked GeoTIFFs in {self.directory} are "
                f"readable; nothing removed{skipped}"
            )
        if self.manifest:
            ledger = (
                f"manifest.csv: {self.manifest_rows} row(s) marked {REMOVED!r}, so the next download fetches them again"
            )
        else:
            ledger = "no download manifest in the folder (the next download fetches missing chips anyway)"
        return (
            f"cleanup: removed {len(self.removed)} unreadable of {self.checked} GeoTIFFs in {self.directory}; "
            f"{ledger}{skipped} (in {self.seconds:.1f} s)"
        )


def check_chip(path: Path) -> str | None:
    """None if ``path`` is readable, else why not (one line): ``geetiles.tiff.why_undecodable`` (every
    band decodes, by its fast path for the plain one-image layouts chips are written in, or else by
    GDAL, every band and mask). Raises OSError when the file cannot be read at all (no permission,
    an I/O error): that says nothing about its content."""
    from geetiles.tiff.reader import why_undecodable

    return why_undecodable(path)


def cleanup(basedir: str | os.PathLike[str], report: Callable[[str], None] = print) -> CleanupSummary:
    """Remove the unreadable ``*.tif`` files of a chip folder (``report`` gets one line per removed
    file) and mark them in the folder's download manifest."""
    import rasterio

    began = time.monotonic()
    directory = Path(basedir)
    if not directory.is_dir():
        what = "does not exist" if not directory.exists() else "is not a folder"
        raise UserInputError(
            f"--basedir {str(directory)!r} {what}; give a chip folder, e.g. {{tiles base}}/{{dataset}}"
        )
    paths = sorted(p for p in directory.glob("*.tif") if not p.name.startswith(".") and p.is_file())
    summary = CleanupSummary(directory, len(paths))
    with rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"):  # GDAL would list the folder at every file
        for path in paths:
            try:
                reason = check_chip(path)
                if reason is None:
                    continue
                path.unlink(missing_ok=True)
            except OSError as error:  # not ours to judge (or to remove): say so, go on
                summary.skipped.append((path, " ".join(str(error).split())))
                report(f"skipped {path}: {summary.skipped[-1][1]}")
                continue
            summary.removed.append((path, reason))
            report(f"removed {path}: {reason}")
    summary.manifest, summary.manifest_rows = mark_removed(directory, summary.removed)
    summary.seconds = time.monotonic() - began
    return summary


def mark_removed(directory: Path, removed: list[tuple[Path, str]]) -> tuple[bool, int]:
    """Give every removed chip that the download manifest knows a ``removed`` row, and rewrite the
    manifest (atomically, journal folded in). Returns (the folder has a manifest, rows marked)."""
    import numpy as np

    from geetiles.manifest import JOURNAL, MANIFEST, Manifest, chip_row

    if not (directory / MANIFEST).exists() and not (directory / JOURNAL).exists():
        return False, 0
    if not removed:
        return True, 0
    from geetiles.names import is_safe_name

    removed = [(path, reason) for path, reason in removed if is_safe_name(path.stem)]  # only chips are journaled
    if not removed:
        return True, 0
    manifest = Manifest(directory)
    identifiers = np.array([path.stem for path, _ in removed], dtype=str)
    known = manifest.lookup(identifiers)
    rows = [
        chip_row(
            identifiers[i],
            REMOVED,
            request=_text(known["request"][i]),
            grid=_text(known["grid"][i]),
            error=f"unreadable file removed by geet cleanup: {reason}",
        )
        for i, (_, reason) in enumerate(removed)
        if known["found"][i]
    ]
    if rows:
        manifest.record(rows)
        manifest.finalize()
    return True, len(rows)


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)
