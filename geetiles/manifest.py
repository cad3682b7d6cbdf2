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

MANIFEST = "manifest.csv"
FAILURES = "failures.csv"
JOURNAL = ".manifest-journal.jsonl"
COLUMNS = [
    "identifier",
    "status",
    "attempts",
    "bytes",
    "checksum",
    "error",
    "file_size",
    "file_mtime_ns",
    "node",
    "request",
    "grid",
    "updated_utc",
    "requeued",
]
_INTEGER = ("attempts", "bytes", "file_size", "file_mtime_ns", "requeued")  # requeued: times its worker died with it
_SCHEMA = pa.schema([(c, pa.int64() if c in _INTEGER else pa.string()) for c in COLUMNS])


class Manifest:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.previous = _empty()  # rows of earlier runs (manifest.csv, then a killed run's journal)
        self._journal = None
        self._journal_start = 0  # journal bytes that belong to a killed earlier run
        self._load()
        self._index = None

    def _load(self) -> None:
        tables = []
        manifest = self.directory / MANIFEST
        if manifest.exists():
            tables.append(_read_csv(manifest))
        journal = self.directory / JOURNAL
        if journal.exists():
            self._journal_start = journal.stat().st_size
            tables.append(_read_journal(journal, 0, self._journal_start))
        if tables:
            self.previous = _latest(pa.concat_tables(tables))

    def lookup(self, identifiers: np.ndarray) -> dict[str, np.ndarray]:
        """For each identifier, the latest earlier row's status, file size, mtime, request, grid and
        checksum (``found`` False where there is none), as arrays aligned with ``identifiers``. Earlier rows
        are found by their 64-bit hash in a sorted array (16 bytes a row, no Python string each),
        then checked by their text: a hash collision only makes a chip be fetched again."""
        import pyarrow.compute as pc

        if self._index is None:
            self._index = _HashIndex(self.previous.column("identifier"))
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
            for batch in (_journal_batches(journal, self._journal_start, ["identifier"]) if journal.exists() else [])
        ]
        hashes = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
        if len(np.unique(hashes)) < len(hashes):  # one chip twice in one run (or a hash collision): fold in memory
            this_table = pa.Table.from_batches(list(_journal_batches(journal, self._journal_start)), _SCHEMA)
            rows = _latest(pa.concat_tables([self.previous, this_table]))
            earlier, run_batches, this_run = rows, [], pa.array([], pa.string())
        else:
            earlier = self.previous
            run_batches = _journal_batches(journal, self._journal_start) if len(hashes) else []
            this_run = pa.array([], pa.string())  # this run's identifiers, only when earlier rows need them
            if len(self.previous) and len(hashes):
                this_run = pa.chunked_array(
                    [b.column("identifier") for b in _journal_batches(journal, self._journal_start, ["identifier"])],
                    pa.string(),
                ).combine_chunks()
        del hashes
        counter = _FailureCounter()
        with (
            atomic_path(self.directory / MANIFEST) as manifest_tmp,
            atomic_path(self.directory / FAILURES) as failures_tmp,
        ):
            with (
                _CsvOut(manifest_tmp, _SCHEMA, self.directory / MANIFEST) as manifest_out,
                _CsvOut(failures_tmp, _FAILURE_SCHEMA, self.directory / FAILURES) as failures_out,
            ):
                kept = earlier.filter(
                    pa.compute.invert(pa.compute.is_in(earlier.column("identifier"), value_set=this_run))
                )
                for batch in kept.to_batches(FOLD_ROWS):
                    manifest_out.write(batch)
                    failures_out.write(counter.failed(batch))
                earlier_attempts = _earlier_attempts(this_run, self.previous)  # aligned with this run's rows
                offset = 0
                for batch in run_batches:
                    if earlier_attempts is not None:
                        batch = _add_attempts(batch, earlier_attempts.slice(offset, batch.num_rows))
                    offset += batch.num_rows
                    manifest_out.write(batch)
                    failures_out.write(counter.failed(batch))
        if journal.exists():
            os.unlink(journal)
        self.previous, self._index, self._journal_start = _empty(), None, 0
        result = counter.result(identifiers)
        pa.default_memory_pool().release_unused()  # the fold's buffers: give them back, a long process goes on
        return result


FOLD_ROWS = 65_536
_FAILURE_SCHEMA = pa.schema([_SCHEMA.field("identifier"), _SCHEMA.field("attempts"), _SCHEMA.field("error")])


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


class _HashIndex:
    """Rows of a string column by the 64-bit hash of their text, sorted, for vectorised lookups."""

    def __init__(self, column: pa.ChunkedArray | pa.Array) -> None:
        from geetiles.identifier_hash import hash64

        step = FOLD_ROWS
        parts = [
            hash64(column.slice(i, step).to_numpy(zero_copy_only=False).astype(str))
            for i in range(0, len(column), step)
        ]
        hashes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
        self.order = np.argsort(hashes, kind="stable")
        self.sorted = hashes[self.order]

    def find(self, identifiers: np.ndarray) -> np.ndarray:
        """The row of each identifier's hash (the first row with it), -1 where none has it."""
        from geetiles.identifier_hash import hash64

        if not len(self.sorted):
            return np.full(len(identifiers), -1, dtype=np.int64)
        hashes = hash64(identifiers)
        at = np.minimum(np.searchsorted(self.sorted, hashes), len(self.sorted) - 1)
        return np.where(self.sorted[at] == hashes, self.order[at], -1).astype(np.int64)


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


def _earlier_attempts(this_run: pa.Array, previous: pa.Table) -> pa.Array | None:
    """For each of this run's rows, the attempts of the chip's earlier row (0 if none); None when
    there is no earlier row at all. One hash lookup for the whole run."""
    import pyarrow.compute as pc

    if not len(previous) or not len(this_run):
        return None
    position = pc.index_in(this_run, value_set=previous.column("identifier"))
    earlier = pc.take(pc.fill_null(previous.column("attempts"), 0), pc.fill_null(position, 0))
    return pc.if_else(pc.is_null(position), 0, earlier)


def _add_attempts(batch: pa.RecordBatch, earlier: pa.Array) -> pa.RecordBatch:
    """A chip redone in this run counts the attempts of its earlier rows too."""
    import pyarrow.compute as pc

    attempts = pc.add(pc.fill_null(batch.column("attempts"), 0), earlier)
    return batch.set_column(COLUMNS.index("attempts"), "attempts", attempts)


def _journal_batches(path: Path, start: int, columns: list[str] | None = None):
    """This run's journal rows (from byte ``start``), parsed by Arrow a block at a time."""
    from pyarrow import json as pa_json

    options = pa_json.ParseOptions(explicit_schema=_SCHEMA, unexpected_field_behavior="ignore")
    yielded = 0
    with open(path, "rb") as f:
        f.seek(start)
        try:
            # small blocks: Arrow's JSON reader keeps several blocks' parse buffers (8 MB blocks: +400 MB at 1 M rows)
            # and the system allocator: Arrow's default (mimalloc) keeps what the reader freed, tens of MB at 200 k rows
            reader = pa_json.open_json(
                f,
                read_options=pa_json.ReadOptions(block_size=256 << 10),
                parse_options=options,
                memory_pool=pa.system_memory_pool(),
            )
            for batch in reader:
                table = _conform(pa.Table.from_batches([batch]))
                yielded += len(table)
                yield from (table.select(columns) if columns else table).to_batches()
            return
        except pa.ArrowInvalid:  # a cut line (a kill): the tolerant reader, after the rows already given
            pass
    table = _read_journal(path, start, None).slice(yielded)
    yield from (table.select(columns) if columns else table).to_batches(FOLD_ROWS)


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


def _empty() -> pa.Table:
    return _SCHEMA.empty_table()


def _conform(table: pa.Table) -> pa.Table:
    """The manifest's columns in order and type; columns an older geetiles did not write are null."""
    columns = []
    for field in _SCHEMA:
        if field.name in table.column_names:
            column = table.column(field.name)
            if column.type != field.type:
                if pa.types.is_integer(field.type) and not pa.types.is_integer(column.type):
                    column = pa.compute.cast(
                        pa.compute.if_else(
                            pa.compute.equal(pa.compute.cast(column, pa.string()), ""),
                            None,
                            pa.compute.cast(column, pa.string()),
                        ),
                        field.type,
                    )
                else:
                    column = pa.compute.cast(column, field.type)
        else:
            column = pa.nulls(len(table), field.type)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=_SCHEMA)


def _read_csv(path: Path) -> pa.Table:
    from pyarrow import csv

    options = csv.ConvertOptions(
        column_types={c: pa.string() for c in COLUMNS if c not in _INTEGER},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    return _conform(csv.read_csv(path, convert_options=options))


def _read_journal(path: Path, start: int, end: int | None) -> pa.Table:
    """The journal's rows from byte ``start`` to ``end`` (the file's end when None), tolerating a
    line cut short by a kill (dropped: that chip is fetched again). This run's own rows are read
    streaming by _journal_batches; this is for a killed run's rows and that reader's fallback."""
    from pyarrow import json as pa_json

    options = pa_json.ParseOptions(explicit_schema=_SCHEMA, unexpected_field_behavior="ignore")
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read() if end is None else f.read(end - start)
    if not data.strip():
        return _empty()
    try:
        return _conform(pa_json.read_json(pa.BufferReader(data), parse_options=options))
    except pa.ArrowInvalid:  # a cut or blank line: keep the lines that parse
        lines = [line for line in data.splitlines() if line.strip() and _parses(line)]
        if not lines:
            return _empty()
        return _conform(pa_json.read_json(pa.BufferReader(b"\n".join(lines)), parse_options=options))


def _parses(line: bytes) -> bool:
    try:
        json.loads(line)
        return True
    except ValueError:
        return False


def _latest(table: pa.Table) -> pa.Table:
    """The last row of each identifier, with the attempts of all its rows added up; in Arrow (no
    Python object per row), so a million rows cost tens of MB, not hundreds."""
    import pyarrow.compute as pc

    if len(table) == 0:
        return table
    position = pa.array(np.arange(len(table), dtype=np.int64))
    order = pc.sort_indices(
        table.append_column("__row", position), sort_keys=[("identifier", "ascending"), ("__row", "ascending")]
    )
    ids = table.column("identifier").take(order)
    differs = pc.not_equal(ids.slice(1), ids.slice(0, len(ids) - 1)).to_numpy(zero_copy_only=False)
    last = np.append(differs, True)
    result = table.take(pc.filter(order, pa.array(last)))
    if len(result) < len(table):
        attempts = pc.fill_null(table.column("attempts"), 0).take(order).to_numpy(zero_copy_only=False)
        starts = np.flatnonzero(np.insert(differs, 0, True))
        result = result.set_column(COLUMNS.index("attempts"), "attempts", pa.array(np.add.reduceat(attempts, starts)))
    return result
