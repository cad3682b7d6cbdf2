"""The manifest of a chip folder: one row per chip, surviving crashes, small at a million chips.
The download writes it; the export checks chips against it and ``geet cleanup`` marks removed ones.

While a run goes, every finished chip is appended to a journal (``.manifest-journal.jsonl``,
flushed per batch), so a killed run loses nothing it had finished. At the end the journal is folded
into ``manifest.csv`` (atomically) and ``failures.csv`` lists the chips that failed, with reasons.
A rerun reads both, so resuming never asks twice for a chip already written and valid.

Memory: earlier rows are held as columns (Arrow), and this run's rows only in the journal on disk,
streamed back a block at a time when the run ends; the driver keeps no per-chip Python objects.
manifest.csv lists earlier rows not redone, then this run's rows in the order they finished.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from geetiles.atomic import atomic_path, writing
from geetiles.identifier_hash import hash64
from geetiles.manifest_rows import (
    FOLD_ROWS,
    SCHEMA,
    HashIndex,
    add_attempts,
    earlier_attempts,
    empty_table,
    journal_batches,
    latest,
    read_csv,
    read_journal,
)

MANIFEST = "manifest.csv"
FAILURES = "failures.csv"
JOURNAL = ".manifest-journal.jsonl"


class Manifest:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.previous = empty_table()  # rows of earlier runs (manifest.csv, then a killed run's journal)
        self._journal = None
        self._journal_start = 0  # journal bytes that belong to a killed earlier run
        self._load()
        self._index = None

    def _load(self) -> None:
        tables = []
        manifest = self.directory / MANIFEST
        if manifest.exists():
            tables.append(read_csv(manifest))
        journal = self.directory / JOURNAL
        if journal.exists():
            self._journal_start = journal.stat().st_size
            tables.append(read_journal(journal, 0, self._journal_start))
        if tables:
            self.previous = latest(pa.concat_tables(tables))

    def lookup(self, identifiers: np.ndarray) -> dict[str, np.ndarray]:
        """For each identifier, the latest earlier row's status, file size, mtime, request, grid and
        checksum (``found`` False where there is none), as arrays aligned with ``identifiers``. Earlier rows
        are found by their 64-bit hash in a sorted array (16 bytes a row, no Python string each),
        then checked by their text: a hash collision only makes a chip be fetched again."""
        import pyarrow.compute as pc

        if self._index is None:
            self._index = HashIndex(self.previous.column("identifier"))
        position = self._index.find(identifiers)
        take = pa.array(np.maximum(position, 0))
        found = position >= 0
        if found.any():
            same = pc.equal(self.previous.column("identifier").take(take), pa.array(np.asarray(identifiers, dtype=str)))
            found &= same.to_numpy(zero_copy_only=False)
        out = {"found": found}
        for column in ("status", "file_size", "file_mtime_ns", "request", "grid", "checksum"):
            values = self.previous.column(column).take(take) if len(self.previous) else pa.nulls(len(identifiers))
            out[column] = values.to_numpy(zero_copy_only=False)
        return out

    def untouched(self, known: dict[str, np.ndarray], i: int, stat: os.stat_result) -> bool:
        """Row ``i`` of ``lookup()`` says the chip was done and its file has not changed since
        (same size and mtime), so the file need not be opened to trust it."""
        return bool(
            known["found"][i]
            and known["status"][i] == "done"
            and known["file_size"][i] == stat.st_size
            and known["file_mtime_ns"][i] == stat.st_mtime_ns
        )

    def record(self, rows: list[dict]) -> None:
        """Append finished chips to the journal, flushed, before anything else (a full disk: DiskFull,
        and the line it cut short is dropped when the journal is read back)."""
        with writing(self.directory / JOURNAL):
            if self._journal is None:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._journal = open(self.directory / JOURNAL, "a", encoding="utf-8")
                if self._journal.tell() > 0:
                    self._journal.write("\n")  # end a line a kill cut short, so it cannot swallow the next
            now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            self._journal.write("".join(json.dumps({**row, "updated_utc": now}) + "\n" for row in rows))
            self._journal.flush()

    def discard(self) -> None:
        """Take back the rows this run journaled (a run that refuses to go on leaves no trace)."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        journal = self.directory / JOURNAL
        if journal.exists():
            if self._journal_start:
                os.truncate(journal, self._journal_start)
            else:
                os.unlink(journal)

    def finalize(self, identifiers=None) -> tuple[int, list[dict]]:
        """Write manifest.csv and failures.csv atomically, drop the journal. Returns the number of
        failed chips and the first few of them (among ``identifiers`` when given: an array, or
        arrays one after another, as ChipTable.identifiers() gives them).

        Streamed: earlier rows that this run did not redo, then this run's rows in the order they
        finished (attempts added to the earlier row's), written a slice at a time, so folding a
        million rows costs a few slices and 8 bytes a chip of this run (its identifiers' hashes, to
        find a chip journaled twice), plus its identifiers when there are earlier rows to match.
        A Manifest is finished after this. A full disk raises DiskFull and leaves the journal as it
        was (the next run folds it), with no temporary file."""
        if self._journal is not None:
            journal_file, self._journal = self._journal, None
            with writing(self.directory / JOURNAL):
                journal_file.close()
        self.directory.mkdir(parents=True, exist_ok=True)
        journal = self.directory / JOURNAL
        hashes = [
            hash64(batch.column("identifier").to_numpy(zero_copy_only=False).astype(str))
            for batch in (journal_batches(journal, self._journal_start, ["identifier"]) if journal.exists() else [])
        ]
        hashes = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
        if len(np.unique(hashes)) < len(hashes):  # one chip twice in one run (or a hash collision): fold in memory
            this_table = pa.Table.from_batches(list(journal_batches(journal, self._journal_start)), SCHEMA)
            rows = latest(pa.concat_tables([self.previous, this_table]))
            earlier, run_batches, this_run = rows, [], pa.array([], pa.string())
        else:
            earlier = self.previous
            run_batches = journal_batches(journal, self._journal_start) if len(hashes) else []
            this_run = pa.array([], pa.string())  # this run's identifiers, only when earlier rows need them
            if len(self.previous) and len(hashes):
                this_run = pa.chunked_array(
                    [b.column("identifier") for b in journal_batches(journal, self._journal_start, ["identifier"])],
                    pa.string(),
                ).combine_chunks()
        del hashes
        counter = _FailureCounter()
        with (
            atomic_path(self.directory / MANIFEST) as manifest_tmp,
            atomic_path(self.directory / FAILURES) as failures_tmp,
        ):
            with (
                _CsvOut(manifest_tmp, SCHEMA, self.directory / MANIFEST) as manifest_out,
                _CsvOut(failures_tmp, _FAILURE_SCHEMA, self.directory / FAILURES) as failures_out,
            ):
                kept = earlier.filter(
                    pa.compute.invert(pa.compute.is_in(earlier.column("identifier"), value_set=this_run))
                )
                for batch in kept.to_batches(FOLD_ROWS):
                    manifest_out.write(batch)
                    failures_out.write(counter.failed(batch))
                attempts_before = earlier_attempts(this_run, self.previous)  # aligned with this run's rows
                offset = 0
                for batch in run_batches:
                    if attempts_before is not None:
                        batch = add_attempts(batch, attempts_before.slice(offset, batch.num_rows))
                    offset += batch.num_rows
                    manifest_out.write(batch)
                    failures_out.write(counter.failed(batch))
        if journal.exists():
            os.unlink(journal)
        self.previous, self._index, self._journal_start = empty_table(), None, 0
        result = counter.result(identifiers)
        pa.default_memory_pool().release_unused()  # the fold's buffers: give them back, a long process goes on
        return result


_FAILURE_SCHEMA = pa.schema([SCHEMA.field("identifier"), SCHEMA.field("attempts"), SCHEMA.field("error")])


class _FailureCounter:
    """The failed rows, for failures.csv; at the end, how many are among the chips asked (failures
    are few: their identifiers are kept, and matched against the asked chips once)."""

    def __init__(self) -> None:
        self.batches: list[pa.RecordBatch] = []

    def failed(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        failed = batch.filter(pa.compute.not_equal(batch.column("status"), "done")).select(_FAILURE_SCHEMA.names)
        if failed.num_rows:
            self.batches.append(failed)
        return failed

    def result(self, identifiers) -> tuple[int, list[dict]]:
        if not self.batches:
            return 0, []
        failed = pa.Table.from_batches(self.batches)
        if identifiers is not None:
            ids = failed.column("identifier")
            asked = np.zeros(len(failed), dtype=bool)
            for part in [identifiers] if isinstance(identifiers, np.ndarray) else identifiers:
                value_set = pa.array(np.asarray(part, dtype=object), pa.string())
                asked |= pa.compute.is_in(ids, value_set=value_set).to_numpy(zero_copy_only=False)
            failed = failed.filter(pa.array(asked))
        return len(failed), failed.slice(0, 5).to_pylist()


class _CsvOut:
    """A CSV file written a batch at a time (a header even when no row comes) to ``path``, the
    temporary name of ``name`` (the file a full disk is reported for)."""

    def __init__(self, path: Path, schema: pa.Schema, name: Path) -> None:
        from pyarrow import csv

        self.name = name
        with writing(name):
            self.file = open(path, "wb")
            self.file.write((",".join(schema.names) + "\n").encode())  # a plain header, as pandas and 0.1.7 write
            self.writer = csv.CSVWriter(
                self.file, schema, write_options=csv.WriteOptions(include_header=False, quoting_style="needed")
            )

    def __enter__(self) -> _CsvOut:
        return self

    def __exit__(self, *exc) -> None:
        with writing(self.name):
            try:
                self.writer.close()
            finally:
                self.file.close()

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            with writing(self.name):
                self.writer.write_batch(batch)


def chip_row(
    identifier: str,
    status: str,
    request: str,
    grid: str,
    attempts: int = 0,
    nbytes: int = 0,
    checksum: str = "",
    error: str = "",
    node: str = "",
    stat: os.stat_result | None = None,
    requeued: int = 0,
) -> dict:
    """One chip's journal row; ``stat`` of its file when it is done (what resume trusts it by);
    ``requeued``: how often a worker died holding it in this run (it went back to the queue)."""
    row = {
        "identifier": str(identifier),
        "status": status,
        "attempts": attempts,
        "bytes": nbytes,
        "checksum": checksum,
        "error": error,
        "node": node,
        "request": request,
        "grid": grid,
        "requeued": requeued,
    }
    if stat is not None:
        row.update(file_size=stat.st_size, file_mtime_ns=stat.st_mtime_ns)
    return row
