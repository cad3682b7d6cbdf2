"""The chip pass: every indexed image and label file is present, hashes to the SHA-256 the index
records, and decodes whole (``geetiles.tiff``'s fast reader, GDAL for other layouts) to the grid the
index gives: width, height, CRS and transform, and the dtype and band count of the index's metadata.

Each file is read once; its digest is kept for the manifest check. Batches of chips go to worker
processes for large datasets (``geetiles.process_pool``), as the export writes them."""

from __future__ import annotations

import hashlib
import math
from concurrent.futures import as_completed
from dataclasses import dataclass

from geetiles.verify.context import Context
from geetiles.verify.report import Problem, chip
from geetiles.verify.source import safe_relative

BATCH = 256


@dataclass(frozen=True)
class Expected:
    """What every image (and label) file should hold, from the index's metadata (None: not recorded)."""

    image_dtype: str | None
    image_bands: int | None
    label_dtype: str | None
    label_bands: int | None


def expected(metadata: dict | None) -> Expected:
    def part(role: str) -> tuple[str | None, int | None]:
        info = (metadata or {}).get(role)
        if not isinstance(info, dict):
            return None, None
        bands = info.get("bands")
        return (str(info["dtype"]) if info.get("dtype") else None), (len(bands) if isinstance(bands, list) else None)

    return Expected(*part("images"), *part("labels"))


def check(context: Context) -> list[Problem]:
    index = context.index
    if index is None:
        return []
    problems: list[Problem] = []
    rows = []
    columns = [
        index.image_path,
        index.image_sha256,
        index.label_path,
        index.label_sha256,
        index.crs,
        index.transform,
        index.width,
        index.height,
    ]
    columns = [c if c is not None else [None] * len(index) for c in columns]
    for identifier, image, image_sha, label, label_sha, crs, transform, width, height in zip(
        index.identifiers, *columns
    ):
        files = []
        for role, path, sha in (("image", image, image_sha), ("label", label, label_sha)):
            if path is None:
                continue
            if not safe_relative(path):
                problems.append(
                    chip(identifier, f"{role} path {path!r} leaves the dataset (absolute or '..'): not read")
                )
            elif not context.has(path):
                problems.append(chip(identifier, f"{role} file {path} is missing"))
            else:
                files.append((role, path, sha))
        if files:
            rows.append((identifier, tuple(files), crs, transform, width, height))
    context.chips = len(index)
    spec = expected(index.metadata)
    for batch_problems, digests in _run(context, spec, rows):
        problems += batch_problems
        for path, digest in digests:
            context.note(path, digest)
    return problems


def _run(context: Context, spec: Expected, rows: list):
    batches = [rows[start : start + BATCH] for start in range(0, len(rows), BATCH)]
    pool = context.executor(len(rows))
    if pool is None:
        for batch in batches:
            yield check_batch(context.source, spec, batch)
        return
    futures = [pool.submit(check_batch, context.source, spec, batch) for batch in batches]
    for future in as_completed(futures):
        yield future.result()


def check_batch(source, spec: Expected, rows: list) -> tuple[list[Problem], list[tuple[str, str]]]:
    """One batch, in a worker: the problems found and each file's (path, SHA-256)."""
    from geetiles.tiff.reader import UnreadableChip, verified_header

    problems: list[Problem] = []
    digests: list[tuple[str, str]] = []
    for identifier, files, crs, transform, width, height in rows:
        for role, path, recorded in files:
            try:
                data = source.read(path)
            except OSError as error:
                problems.append(chip(identifier, f"{role} file {path} cannot be read ({error.strerror or error})"))
                continue
            digest = hashlib.sha256(data).hexdigest()
            digests.append((path, digest))
            if recorded is not None and digest != recorded:
                problems.append(
                    chip(
                        identifier,
                        f"{role} file {path}: SHA-256 {digest[:12]}… differs from the "
                        f"index's {str(recorded)[:12]}… (changed or corrupt)",
                    )
                )
            try:
                header = verified_header(data)
            except UnreadableChip as error:
                problems.append(chip(identifier, f"{role} file {path} does not decode: {error}"))
                continue
            problems += [
                chip(identifier, f"{role} file {path}: {what}")
                for what in _grid_problems(role, header, spec, crs, transform, width, height)
            ]
    return problems, digests


def _grid_problems(role: str, header, spec: Expected, crs, transform, width, height) -> list[str]:
    found = []
    dtype, bands = (spec.image_dtype, spec.image_bands) if role == "image" else (spec.label_dtype, spec.label_bands)
    if dtype is not None and header.dtype != dtype:
        found.append(f"dtype {header.dtype}, the index says {dtype}")
    if bands is not None and header.count != bands:
        found.append(f"{header.count} band(s), the index says {bands}")
    if crs is not None and header.crs != crs:
        found.append(f"CRS {header.crs[:60]}, the index says {str(crs)[:60]}")
    if role == "image":
        if (width, height) != (None, None) and (header.width, header.height) != (width, height):
            found.append(f"{header.width}x{header.height} pixels, the index says {width}x{height}")
        if transform is not None and not _same(header.transform, transform):
            found.append(f"transform {list(header.transform)}, the index says {list(transform)}")
    elif None not in (transform, width, height) and not _same_footprint(header, transform, width, height):
        # a label may have its own pixel grid; it covers the image's footprint, to within one of its pixels
        found.append("footprint differs from the image's in the index by more than one label pixel")
    return found


def _same(a, b) -> bool:
    try:
        return len(a) == len(b) == 6 and all(
            math.isclose(x, float(y), rel_tol=1e-9, abs_tol=1e-12) for x, y in zip(a, b)
        )
    except (TypeError, ValueError):  # an index value that is not six numbers
        return False


def _bounds(transform, width: int, height: int) -> tuple[float, float, float, float]:
    x0, dx, _, y0, _, dy = (float(v) for v in transform)
    xs, ys = (x0, x0 + dx * width), (y0, y0 + dy * height)
    return min(xs), min(ys), max(xs), max(ys)


def _same_footprint(header, transform, width: int, height: int) -> bool:
    try:
        label = _bounds(header.transform, header.width, header.height)
        image = _bounds(transform, width, height)
    except (TypeError, ValueError):  # an index value that is not six numbers, or a size that is not one
        return False
    tolerance = (abs(header.transform[1]) + abs(header.transform[5])) * (1 + 1e-9)
    return all(abs(a - b) <= tolerance for a, b in zip(label, image))
