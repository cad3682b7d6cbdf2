"""``verify_dataset``: every check, in turn, over one dataset folder (or its zip).

The checks are independent families, one module each, run in :data:`CHECKS`' order (each reads the
files it needs once through the context; the chip pass first, so the files it hashes are not hashed
again). A new format adds its module and one line here."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from geetiles.errors import UserInputError
from geetiles.verify import card, catalogs, chips, index, manifest, splits, webdataset
from geetiles.verify.context import INDEX, SHARDS, Context
from geetiles.verify.report import Problem, Report
from geetiles.verify.source import open_source

Check = Callable[[Context], list[Problem]]

CHECKS: tuple[tuple[str, Check], ...] = (
    ("index", index.load_index),
    ("shards", webdataset.load_shards),
    ("chips", chips.check),  # reads and hashes every chip file once
    ("index", index.check),
    ("webdataset", webdataset.check),  # reads and hashes every shard once
    ("manifest", manifest.check),
    ("splits", splits.check),
    ("card", card.check),
    ("catalogs", catalogs.check),
)


def verify_dataset(path: str | os.PathLike[str], workers: int | None = None) -> Report:
    """Check the dataset the export wrote at ``path`` (its folder or ``{dest}.zip``): the report lists
    every problem found (none: the dataset is as the export wrote it). Raises UserInputError (one line)
    when ``path`` is not a dataset."""
    started = time.perf_counter()
    source = open_source(path)
    if not source.holds(INDEX) and not source.holds(SHARDS):  # before walking a folder that may be anything
        raise UserInputError(
            f"{source.label} is not a geetiles dataset: it has no {INDEX} (the index export=geotiff "
            f"writes) nor {SHARDS} (export=webdataset); give the folder the export wrote "
            "({tiles file}_dataset) or its zip"
        )
    listing = source.listing()
    context = Context(source, listing, workers)
    report = Report(source.label, problems=list(listing.problems))
    try:
        for family, check in CHECKS:
            if family == "index" and INDEX not in listing.files:
                continue
            report.problems += check(context)
            if family not in report.checks:
                report.checks.append(family)
    finally:
        context.close()
    report.chips, report.files = context.chips, len(context.files_read)
    report.seconds = time.perf_counter() - started
    return report
