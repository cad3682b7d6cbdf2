"""The catalogs written beside the index, when present, against it: ``stac/items.parquet`` (one
STAC Item per chip, stac-geoparquet's form: its ``id`` column names exactly the index's chips, once
each) with its ``stac/collection.json`` (a STAC Collection), and ``croissant.json`` (its distribution's
files lie inside the dataset and exist, with the SHA-256 it records). What these formats say beyond
that is for their own validators (stac-pydantic, pystac, mlcroissant)."""

from __future__ import annotations

import fnmatch
import io
import json
from collections import Counter

from geetiles.verify.context import Context
from geetiles.verify.report import Problem, chip, file, path_text
from geetiles.verify.source import safe_relative

STAC_ITEMS = "stac/items.parquet"
STAC_COLLECTION = "stac/collection.json"
CROISSANT = "croissant.json"
SHOWN = 5


def check(context: Context) -> list[Problem]:
    return _stac(context) + _croissant(context)


def _stac(context: Context) -> list[Problem]:
    problems: list[Problem] = []
    if context.has(STAC_ITEMS) or context.has(STAC_COLLECTION):
        problems += _collection(context)
    if not context.has(STAC_ITEMS):
        return problems + (
            [file(STAC_ITEMS, f"is missing beside {STAC_COLLECTION}")] if context.has(STAC_COLLECTION) else []
        )
    import pyarrow.parquet as pq

    try:
        ids = pq.ParquetFile(io.BytesIO(context.read(STAC_ITEMS))).read(columns=["id"]).column("id").to_pylist()
    except Exception as error:  # pyarrow raises several types for a damaged file or a missing column
        return problems + [file(STAC_ITEMS, f"cannot be read as STAC items ({' '.join(str(error).split())[:160]})")]
    problems += [chip(i, f"has {n} items in {STAC_ITEMS}") for i, n in Counter(ids).items() if n > 1]
    if context.index is not None:
        indexed = set(context.index.identifiers)
        problems += [chip(i, f"is in the index but has no item in {STAC_ITEMS}") for i in sorted(indexed - set(ids))]
        problems += [
            file(STAC_ITEMS, f"item {path_text(str(i))} is not a chip of the index")
            for i in sorted(set(map(str, ids)) - indexed)
        ]
    return problems


def _collection(context: Context) -> list[Problem]:
    if not context.has(STAC_COLLECTION):
        return [file(STAC_COLLECTION, f"is missing beside {STAC_ITEMS}")]
    try:
        value = json.loads(context.read(STAC_COLLECTION))
    except (OSError, ValueError) as error:
        return [file(STAC_COLLECTION, f"cannot be read ({' '.join(str(error).split())[:160]})")]
    if not isinstance(value, dict) or value.get("type") != "Collection":
        return [file(STAC_COLLECTION, 'is not a STAC Collection (no "type": "Collection")')]
    return []


def _croissant(context: Context) -> list[Problem]:
    if not context.has(CROISSANT):
        return []
    try:
        value = json.loads(context.read(CROISSANT))
    except (OSError, ValueError) as error:
        return [file(CROISSANT, f"cannot be read ({' '.join(str(error).split())[:160]})")]
    distribution = value.get("distribution") if isinstance(value, dict) else None
    if not isinstance(distribution, list):
        return [file(CROISSANT, "has no distribution list")]
    problems: list[Problem] = []
    for entry in distribution:
        if not isinstance(entry, dict):
            continue
        label = str(entry.get("@id") or entry.get("name") or "?")
        url = entry.get("contentUrl")
        if isinstance(url, str) and "://" not in url:
            problems += _file_object(context, label, url, entry.get("sha256"))
        includes = entry.get("includes")
        for pattern in [includes] if isinstance(includes, str) else includes if isinstance(includes, list) else []:
            if not isinstance(pattern, str) or not safe_relative(pattern):
                problems.append(
                    file(
                        CROISSANT, f"file set {path_text(label)}: pattern {path_text(str(pattern))} leaves the dataset"
                    )
                )
            elif not any(fnmatch.fnmatchcase(path, pattern) for path in context.listing.files):
                problems.append(file(CROISSANT, f"file set {path_text(label)}: no file matches {path_text(pattern)}"))
    return problems


def _file_object(context: Context, label: str, url: str, sha256) -> list[Problem]:
    relative = url.removeprefix("./")
    if not safe_relative(relative):
        return [file(CROISSANT, f"file {path_text(label)}: {path_text(url)} leaves the dataset: not read")]
    if not context.has(relative):
        return [file(CROISSANT, f"file {path_text(label)}: {path_text(url)} is missing")]
    if isinstance(sha256, str) and relative != CROISSANT and context.digest(relative) != sha256.lower():
        return [file(relative, f"SHA-256 differs from {CROISSANT}'s (changed or corrupt)")]
    return []
