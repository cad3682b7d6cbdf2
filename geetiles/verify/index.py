"""``chips.parquet`` against the files: the index reads, has the columns the export writes, names each
chip once with the paths the export gives it (``images/{id}.tif``, ``labels/{id}.tif``), and every chip
file in the folder is indexed. (That each indexed file is present, hashes to the index's SHA-256 and
decodes is the chip pass's, ``chips.py``, which reads each file once.)"""

from __future__ import annotations

import io
import json
from collections import Counter

from geetiles.verify.context import INDEX, Context, Index
from geetiles.verify.report import Problem, chip, file, name

REQUIRED = ("identifier", "split", "crs", "transform", "width", "height", "image_path", "image_sha256")
OPTIONAL = ("label_path", "label_sha256")
METADATA_KEY = b"geetiles"


def load_index(context: Context) -> list[Problem]:
    """Read ``chips.parquet`` into ``context.index`` (None when it cannot be read at all)."""
    import pyarrow.parquet as pq

    try:
        data = context.read(INDEX)
        parquet = pq.ParquetFile(io.BytesIO(data))
        present = set(parquet.schema_arrow.names)
        table = parquet.read(columns=[c for c in (*REQUIRED, *OPTIONAL) if c in present])
    except Exception as error:  # pyarrow raises several types for a damaged file
        return [file(INDEX, f"the index cannot be read ({' '.join(str(error).split())[:200]}); no chip checked")]
    problems = [file(INDEX, f"has no {column!r} column") for column in REQUIRED if column not in present]
    if "identifier" not in present:
        return problems
    metadata, problem = _metadata(parquet.schema_arrow.metadata or {})
    problems += [problem] if problem else []
    columns = {c: table.column(c).to_pylist() for c in table.column_names}
    context.index = Index(
        columns["identifier"], *(columns.get(c) for c in (*REQUIRED[1:], *OPTIONAL)), metadata=metadata
    )
    return problems


def _metadata(schema_metadata: dict) -> tuple[dict | None, Problem | None]:
    raw = schema_metadata.get(METADATA_KEY)
    if raw is None:
        return None, file(INDEX, "has no geetiles metadata (dtypes, bands, class table): dtypes not checked")
    try:
        value = json.loads(raw)
    except ValueError:
        return None, file(INDEX, "its geetiles metadata is not JSON: dtypes not checked")
    return (value, None) if isinstance(value, dict) else (None, file(INDEX, "its geetiles metadata is not a mapping"))


def check(context: Context) -> list[Problem]:
    """Each chip once, each path where the export puts it, and no chip file without a row."""
    index = context.index
    if index is None:
        return []
    problems: list[Problem] = []
    counts = Counter(index.identifiers)
    for identifier, count in counts.items():
        if count > 1:
            splits = sorted({str(s) for i, s in zip(index.identifiers, index.splits or []) if i == identifier})
            where = f" (splits {', '.join(name(s) for s in splits)})" if len(splits) > 1 else ""
            problems.append(chip(identifier, f"has {count} rows in the index{where}"))
        if not isinstance(identifier, str) or not identifier:
            problems.append(chip(identifier, "the index's identifier is not a non-empty text"))
    for folder, paths in (("images", index.image_path), ("labels", index.label_path)):
        if paths is None:
            continue
        for identifier, path in zip(index.identifiers, paths):
            if path != f"{folder}/{identifier}.tif":
                problems.append(
                    chip(identifier, f"the index gives {folder[:-1]} path {path!r}, not {folder}/{{identifier}}.tif")
                )
    indexed = context.index.chip_of_path()
    for folder in ("images", "labels"):
        for path in sorted(context.listing.under(folder)):
            if path not in indexed:
                problems.append(file(path, "is not in the index (no chips.parquet row names it)"))
    if index.label_path is None and context.listing.under("labels"):
        problems.append(file("labels", "the folder holds labels but the index has no label_path column"))
    return problems
