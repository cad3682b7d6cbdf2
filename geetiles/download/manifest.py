"""The manifest of a dataset folder: one row per chip, surviving crashes.

While a run goes, every finished chip is appended to a journal (``.manifest-journal.jsonl``,
flushed per batch), so a killed run loses nothing it had finished. At the end the journal is folded
into ``manifest.csv`` (atomically) and ``failures.csv`` lists the chips that failed, with reasons.
A rerun reads both, so resuming never asks twice for a chip already written and valid.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from pathlib import Path

from geetiles.atomic import write_text

MANIFEST = "manifest.csv"
FAILURES = "failures.csv"
JOURNAL = ".manifest-journal.jsonl"
COLUMNS = ["identifier", "status", "attempts", "bytes", "checksum", "error", "file_size", "file_mtime_ns", "node", "updated_utc"]


class Manifest:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.rows: dict[str, dict] = {}
        self._load()
        self._journal = None

    def _load(self) -> None:
        manifest = self.directory / MANIFEST
        if manifest.exists():
            with open(manifest, newline="", encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    self.rows[row["identifier"]] = row
        journal = self.directory / JOURNAL
        if journal.exists():
            for line in journal.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except ValueError:  # a line cut short by a kill: that chip is simply fetched again
                    continue
                self.rows[row["identifier"]] = row

    def recorded_valid(self, identifier: str, path: Path) -> bool:
        """Done in a previous run and the file is untouched since (same size and mtime)."""
        row = self.rows.get(identifier)
        if not row or row.get("status") != "done":
            return False
        try:
            stat = path.stat()
        except FileNotFoundError:
            return False
        return str(stat.st_size) == str(row.get("file_size")) and str(stat.st_mtime_ns) == str(row.get("file_mtime_ns"))

    def record(self, rows: list[dict]) -> None:
        """Add finished chips and append them to the journal, flushed, before anything else."""
        if self._journal is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._journal = open(self.directory / JOURNAL, "a", encoding="utf-8")
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        for row in rows:
            previous = self.rows.get(row["identifier"], {})
            row = {**row, "attempts": int(previous.get("attempts") or 0) + int(row["attempts"]), "updated_utc": now}
            self.rows[row["identifier"]] = row
            self._journal.write(json.dumps(row) + "\n")
        self._journal.flush()

    def finalize(self) -> list[dict]:
        """Write manifest.csv and failures.csv atomically, drop the journal; return the failures."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        self.directory.mkdir(parents=True, exist_ok=True)
        rows = sorted(self.rows.values(), key=lambda r: r["identifier"])
        write_text(self.directory / MANIFEST, _csv(rows, COLUMNS))
        failures = [r for r in rows if r.get("status") != "done"]
        write_text(self.directory / FAILURES, _csv(failures, ["identifier", "attempts", "error"]))
        journal = self.directory / JOURNAL
        if journal.exists():
            os.unlink(journal)
        return failures


def _csv(rows: list[dict], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
