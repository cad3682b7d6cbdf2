"""What the download left in each chip folder beside a tiles file: the record's summary of its last
run, the manifest's state of every chip, and the failures with their most frequent reasons."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geetiles.layout import chips_root
from geetiles.manifest import FAILURES, MANIFEST

log = logging.getLogger(__name__)

TOP_ERRORS = 5
ERROR_CHARS = 300


@dataclass
class DownloadSummary:
    name: str  # the dataset (its chip folder's name)
    folder: Path
    record: dict  # the download record ({} without one)
    statuses: dict[str, int]  # chips per manifest status (done, failed, ...)
    failed: np.ndarray  # identifiers of failed chips (manifest status failed, or listed in failures.csv)
    top_errors: list[tuple[str, int]] = field(default_factory=list)  # most frequent reasons, with counts

    @property
    def summary(self) -> dict:
        value = self.record.get("summary")
        return value if isinstance(value, dict) else {}

    @property
    def classes(self) -> list:
        return list(self.record.get("classes") or [])


def chip_folders(tiles_path: Path) -> dict[str, Path]:
    """The dataset folders beside a tiles file (``{tiles file without .geojson}/{dataset}/``), by name."""
    root = chips_root(tiles_path)
    if not root.is_dir():
        return {}
    return {p.name: p for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")}


def read_downloads(folders: dict[str, Path]) -> list[DownloadSummary]:
    """A summary for every folder holding a manifest or a download record."""
    from geetiles.record import DOWNLOAD_RECORD, read_download_record

    out = []
    for name, folder in folders.items():
        if not (folder / MANIFEST).exists() and not (folder / DOWNLOAD_RECORD).exists():
            continue
        try:
            record = read_download_record(folder) or {}
        except Exception as error:  # a damaged record should not stop the report
            log.warning("report: cannot read the download record of %s (%s)", folder, error)
            record = {}
        statuses, failed, errors = _read_manifest(folder / MANIFEST)
        failed_list, listed_errors = _read_failures(folder / FAILURES)
        failed = np.union1d(failed, failed_list) if len(failed_list) else failed
        errors = listed_errors or errors
        out.append(DownloadSummary(name, folder, record, statuses, failed, errors.most_common(TOP_ERRORS)))
    return out


def _read_csv(path: Path, columns: list[str]):
    """The named columns (those present) of a CSV, as strings; None when unreadable."""
    from pyarrow import csv

    try:
        header = path.open(encoding="utf-8").readline().strip().split(",")
        present = [c for c in columns if c in [h.strip('"') for h in header]]
        return csv.read_csv(
            path,
            convert_options=csv.ConvertOptions(
                include_columns=present, column_types={c: "string" for c in present}, strings_can_be_null=False
            ),
        )
    except Exception as error:  # pyarrow raises several types
        log.warning("report: cannot read %s (%s)", path, error)
        return None


def _read_manifest(path: Path) -> tuple[dict[str, int], np.ndarray, Counter]:
    import pyarrow.compute as pc

    empty = np.zeros(0, dtype=str)
    if not path.exists():
        return {}, empty, Counter()
    table = _read_csv(path, ["identifier", "status", "error"])
    if table is None or "status" not in table.column_names:
        return {}, empty, Counter()
    counts = pc.value_counts(table.column("status")).to_pylist()
    statuses = {str(row["values"]): int(row["counts"]) for row in counts}
    failed_rows = table.filter(pc.equal(table.column("status"), "failed"))
    failed = (
        failed_rows.column("identifier").to_numpy(zero_copy_only=False).astype(str)
        if "identifier" in table.column_names
        else empty
    )
    errors = (
        Counter(_short(e) for e in failed_rows.column("error").to_pylist())
        if "error" in table.column_names
        else Counter()
    )
    return statuses, failed, errors


def _read_failures(path: Path) -> tuple[np.ndarray, Counter]:
    empty = np.zeros(0, dtype=str)
    if not path.exists():
        return empty, Counter()
    table = _read_csv(path, ["identifier", "error"])
    if table is None or "identifier" not in table.column_names:
        return empty, Counter()
    errors = (
        Counter(_short(e) for e in table.column("error").to_pylist()) if "error" in table.column_names else Counter()
    )
    return table.column("identifier").to_numpy(zero_copy_only=False).astype(str), errors


def _short(message) -> str:
    text = " ".join(str(message or "").split()) or "(no message)"
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"
