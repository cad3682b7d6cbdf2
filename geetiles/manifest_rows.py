"""The manifest's rows as Arrow tables: its columns, reading ``manifest.csv`` and the journal (a line a
kill cut short is dropped), and folding rows to each chip's latest with its attempts added up.

Why apart from :mod:`geetiles.manifest` (the journal and the atomic writes): these are the pure,
columnar parts, and the memory rules live here: no Python object per row, a block at a time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

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
INTEGER = ("attempts", "bytes", "file_size", "file_mtime_ns", "requeued")  # requeued: times its worker died with it
SCHEMA = pa.schema([(c, pa.int64() if c in INTEGER else pa.string()) for c in COLUMNS])
FOLD_ROWS = 65_536


class HashIndex:
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


def earlier_attempts(this_run: pa.Array, previous: pa.Table) -> pa.Array | None:
    """For each of this run's rows, the attempts of the chip's earlier row (0 if none); None when
    there is no earlier row at all. One hash lookup for the whole run."""
    import pyarrow.compute as pc

    if not len(previous) or not len(this_run):
        return None
    position = pc.index_in(this_run, value_set=previous.column("identifier"))
    earlier = pc.take(pc.fill_null(previous.column("attempts"), 0), pc.fill_null(position, 0))
    return pc.if_else(pc.is_null(position), 0, earlier)


def add_attempts(batch: pa.RecordBatch, earlier: pa.Array) -> pa.RecordBatch:
    """A chip redone in this run counts the attempts of its earlier rows too."""
    import pyarrow.compute as pc

    attempts = pc.add(pc.fill_null(batch.column("attempts"), 0), earlier)
    return batch.set_column(COLUMNS.index("attempts"), "attempts", attempts)


def journal_batches(path: Path, start: int, columns: list[str] | None = None):
    """This run's journal rows (from byte ``start``), parsed by Arrow a block at a time."""
    from pyarrow import json as pa_json

    options = pa_json.ParseOptions(explicit_schema=SCHEMA, unexpected_field_behavior="ignore")
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
                table = conform(pa.Table.from_batches([batch]))
                yielded += len(table)
                yield from (table.select(columns) if columns else table).to_batches()
            return
        except pa.ArrowInvalid:  # a cut line (a kill): the tolerant reader, after the rows already given
            pass
    table = read_journal(path, start, None).slice(yielded)
    yield from (table.select(columns) if columns else table).to_batches(FOLD_ROWS)


def empty_table() -> pa.Table:
    return SCHEMA.empty_table()


def conform(table: pa.Table) -> pa.Table:
    """The manifest's columns in order and type; columns an older geetiles did not write are null."""
    columns = []
    for field in SCHEMA:
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
    return pa.Table.from_arrays(columns, schema=SCHEMA)


def read_csv(path: Path, columns: list[str] | None = None) -> pa.Table:
    """``manifest.csv``'s rows as they are (not folded to each chip's latest); ``columns``: only these
    (string columns; one a manifest lacks is null): the export's check needs three of the thirteen."""
    from pyarrow import csv

    options = csv.ConvertOptions(
        column_types={c: pa.string() for c in COLUMNS if c not in INTEGER},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        include_columns=columns,
        include_missing_columns=columns is not None,
    )
    table = csv.read_csv(path, convert_options=options)
    return table if columns is not None else conform(table)


def read_journal(path: Path, start: int, end: int | None) -> pa.Table:
    """The journal's rows from byte ``start`` to ``end`` (the file's end when None), tolerating a
    line cut short by a kill (dropped: that chip is fetched again). This run's own rows are read
    streaming by journal_batches; this is for a killed run's rows and that reader's fallback."""
    from pyarrow import json as pa_json

    options = pa_json.ParseOptions(explicit_schema=SCHEMA, unexpected_field_behavior="ignore")
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read() if end is None else f.read(end - start)
    if not data.strip():
        return empty_table()
    try:
        return conform(pa_json.read_json(pa.BufferReader(data), parse_options=options))
    except pa.ArrowInvalid:  # a cut or blank line: keep the lines that parse
        lines = [line for line in data.splitlines() if line.strip() and _parses(line)]
        if not lines:
            return empty_table()
        return conform(pa_json.read_json(pa.BufferReader(b"\n".join(lines)), parse_options=options))


def _parses(line: bytes) -> bool:
    try:
        json.loads(line)
        return True
    except ValueError:
        return False


def latest(table: pa.Table) -> pa.Table:
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
