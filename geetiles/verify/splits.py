"""Disjoint splits: no chip in two splits, and ``splits/{split}.parquet`` holding exactly the index's
rows of that split (the dataset card's ``data_files``), one file per split and none more; the splits
named in the index's metadata are those of its ``split`` column."""

from __future__ import annotations

import io
from collections import defaultdict

from geetiles.names import is_safe_name
from geetiles.verify.context import Context
from geetiles.verify.report import Problem, chip, file, name

FOLDER = "splits"
SHOWN = 5  # identifiers named in a line about many chips


def check(context: Context) -> list[Problem]:
    index = context.index
    if index is None or index.splits is None:
        return []
    problems: list[Problem] = []
    by_split: dict[str, set[str]] = defaultdict(set)
    for identifier, split in zip(index.identifiers, index.splits):
        by_split[str(split)].add(identifier)
    recorded = (index.metadata or {}).get("splits")
    if isinstance(recorded, list) and sorted(map(str, recorded)) != sorted(by_split):
        problems.append(
            file(
                "chips.parquet",
                f"its metadata lists splits {_names(recorded)}, its split column holds {_names(by_split)}",
            )
        )
    seen_in: dict[str, list[str]] = defaultdict(list)
    for split in sorted(by_split):
        if not is_safe_name(split):
            problems.append(
                file("chips.parquet", f"split {name(split)} is not a usable file name: no split file checked for it")
            )
            continue
        path = f"{FOLDER}/{split}.parquet"
        if not context.has(path):
            problems.append(
                file(path, f"is missing (the index has {len(by_split[split])} chips in split {name(split)})")
            )
            continue
        identifiers, splits, problem = _read(context, path)
        if problem is not None:
            problems.append(problem)
            continue
        for identifier in identifiers:
            seen_in[identifier].append(split)
        wrong = sorted({str(s) for s in splits if str(s) != split})
        if wrong:
            problems.append(file(path, f"has rows of split(s) {_names(wrong)}"))
        missing, extra = by_split[split] - set(identifiers), set(identifiers) - by_split[split]
        if missing:
            problems.append(
                file(path, f"lacks {len(missing)} chip(s) the index puts in {name(split)}: {_names(missing)}")
            )
        if extra:
            problems.append(
                file(path, f"holds {len(extra)} chip(s) the index does not put in {name(split)}: {_names(extra)}")
            )
        if len(identifiers) != len(set(identifiers)):
            problems.append(file(path, "names a chip more than once"))
    for identifier, splits in sorted(seen_in.items()):
        if len(set(splits)) > 1:
            problems.append(chip(identifier, f"is in more than one split: {_names(sorted(set(splits)))}"))
    expected = {f"{FOLDER}/{split}.parquet" for split in by_split}
    for path in sorted(context.listing.under(FOLDER)):
        if path not in expected:
            problems.append(file(path, "is a split file for a split the index does not have"))
    return problems


def _read(context: Context, path: str) -> tuple[list[str], list, Problem | None]:
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(io.BytesIO(context.read(path))).read(columns=["identifier", "split"])
    except Exception as error:  # pyarrow raises several types for a damaged file or a missing column
        return [], [], file(path, f"cannot be read as a split file ({' '.join(str(error).split())[:160]})")
    return [str(v) for v in table.column("identifier").to_pylist()], table.column("split").to_pylist(), None


def _names(values) -> str:
    values = sorted(map(str, values))
    shown = ", ".join(name(v) for v in values[:SHOWN])
    return shown + (f" and {len(values) - SHOWN} more" if len(values) > SHOWN else "")
