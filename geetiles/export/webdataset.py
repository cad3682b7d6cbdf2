"""The ``webdataset`` format: tar shards per split for streaming, one sample per chip.

Layout under ``dest``::

    {split}/{name}-{split}-000000.tar, ...   the shards of each split
    shards.json                              every shard (file, samples, bytes, sha256), totals, what a
                                             sample holds, the class table; written last

A sample is the chip's identifier (``__key__``) and up to three members, in this order:

- ``{key}.image.npy``: the images chip, every band, (bands, height, width), its native dtype;
- ``{key}.label.npy``: the labels chip's first band, (height, width), native dtype (absent without labels);
- ``{key}.json``: the chip's index row: ``identifier``, ``split``, ``bounds`` [minlon, minlat, maxlon,
  maxlat], ``centre_lon``/``centre_lat`` and ``centre_method`` (see :func:`chip_centres`), the image
  chip's ``crs``, ``transform`` (GDAL order: x0, dx, row rotation, y0, column rotation, dy), ``width``
  and ``height``, the labels' ``proportions`` (class key → share) and ``valid_frac``, then every other
  JSON-able column of the tiles file (``area_km2``, ``foreignid_*``, ``split_*``, ...); NaN is null.

``.npy`` members never hold objects, so readers load them with ``allow_pickle=False``: the
``webdataset`` library in secure mode (``WDS_SECURE=1``) or :func:`geetiles.dataset.shards.iterate_shards`,
which needs nothing but numpy.

Chips are shuffled per split (numpy ``default_rng`` seeded with the export seed and the split's name),
then spread evenly over the split's shards: as many shards as the target size asks for, but at least
``min_shards`` when the split has that many chips, never an empty one. Shards are byte-for-byte
reproducible: the same input gives the same files (tar headers with mtime 0, owner 0/0 and no owner
names, mode 0644, members in a fixed order). Each shard is written atomically; large exports write
shards in worker processes.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import tarfile
import zlib
from concurrent.futures import FIRST_COMPLETED, wait
from pathlib import Path

import numpy as np

from geetiles.errors import UserInputError
from geetiles.export.inputs import ExportInput
from geetiles.names import (
    RULE,
    UnsafePathError,
    check_member,
    is_safe_name,
    shown,
    unsafe_identifiers,
)

SHARDS_JSON = "shards.json"
PARALLEL_FROM = 2_000  # fewer chips are written faster in one process than after starting workers (~1 s)
PROGRESS_EVERY = 500  # chips between progress updates in one process
_ESTIMATE_CHIPS = 4  # chips read per split to estimate a sample's size in the tar
_BLOCK = tarfile.BLOCKSIZE
_END_BYTES = 2 * _BLOCK  # the end-of-archive marker: two zero blocks
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def write_webdataset(inp: ExportInput, dest: Path, shard_size_mb: float = 256, min_shards: int = 8,
                     progress=None, workers: int | None = None) -> dict:
    """Write the chips of ``inp`` as WebDataset tar shards under ``dest``; return the ``shards.json`` summary.

    ``progress`` (a ``download.progress.Progress``) is told of chips as shards fill; ``workers``
    processes write shards in parallel (default: one per core from ``PARALLEL_FROM`` chips).
    Raises :class:`geetiles.tiff.UnreadableChip` naming the chip when a chip file cannot be read (the stage
    verifies files first: this is a safety net).
    """
    if inp.images is None and inp.labels is None:
        raise ValueError("webdataset export: neither an images nor a labels dataset to package")
    if shard_size_mb <= 0:
        raise ValueError(f"webdataset export: shard_size_mb must be positive, not {shard_size_mb}")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / SHARDS_JSON).unlink(missing_ok=True)  # until the new one is written, the folder is incomplete
    rows = ChipRows(inp)
    name = _UNSAFE_NAME.sub("_", inp.name).strip("_") or "dataset"
    target = shard_size_mb * 2**20
    spec = (str(inp.images.folder) if inp.images else None, str(inp.labels.folder) if inp.labels else None)

    tasks = []  # (split, path, the rows of its chips in shard order)
    for split in inp.split_names():
        folder = _UNSAFE_NAME.sub("_", split) or "split"
        chips = np.flatnonzero(rows.splits == split)
        order = chips[_split_rng(inp.seed, split).permutation(len(chips))]
        count = shard_count(len(order), _estimate_sample_bytes(spec, rows, order), target, min_shards)
        for index, part in enumerate(np.array_split(order, count)):
            tasks.append((split, dest / check_member(f"{folder}/{name}-{folder}-{index:06d}.tar"), part))

    results = _run(spec, rows, tasks, _workers(workers, len(rows.identifiers), len(tasks)), progress)
    summary = _summary(inp, dest, tasks, results, shard_size_mb, min_shards)
    _remove_stale(dest, name, {task[1] for task in tasks})
    from geetiles.atomic import write_text

    write_text(dest / SHARDS_JSON, json.dumps(summary, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
    return summary


def shard_count(chips: int, sample_bytes: float, target_bytes: float, min_shards: int) -> int:
    """How many shards a split of ``chips`` gets: the fewest that keep every shard within the target
    size (chips spread evenly, a chip larger than the target alone in its shard), but at least
    ``min_shards`` when there are that many chips, and never an empty shard."""
    if chips <= 0:
        return 0
    room = target_bytes - _END_BYTES  # a shard ends with two zero blocks
    per_shard = max(1, math.floor(room / sample_bytes)) if sample_bytes > 0 else chips
    by_size = math.ceil(chips / per_shard)
    if chips >= min_shards:
        by_size = max(by_size, min_shards)
    return min(by_size, chips)


class ChipRows:
    """The chips' index rows (their ``.json`` members), made a shard at a time so that a million chips
    never sit in memory as dicts."""

    HEAD = ("identifier", "split", "bounds", "centre_lon", "centre_lat", "centre_method")
    GRID = ("crs", "transform", "width", "height")  # filled in by the shard writer from the image chip

    def __init__(self, inp: ExportInput) -> None:
        import shapely

        frame = inp.frame
        self.identifiers = np.asarray(inp.identifiers).astype(str)
        self.splits = np.asarray(inp.splits).astype(str)
        check_keys(self.identifiers)
        geometry = np.asarray(frame.geometry.values)
        self.bounds = shapely.bounds(geometry) if len(geometry) else np.zeros((0, 4))
        self.lon, self.lat, self.method = chip_centres(geometry)
        self.columns: list[tuple[str, object, bool]] = []  # (key, frame column or None, parse JSON strings)
        skip = {frame.geometry.name, "identifier", "split"}
        if inp.labels is not None:
            for key, column in (("proportions", f"{inp.labels.name}_proportions"),
                                ("valid_frac", f"{inp.labels.name}_valid_frac")):
                parse = key == "proportions"
                usable = column in frame.columns and _column_values(frame[column], parse) is not None
                self.columns.append((key, frame[column] if usable else None, parse))
                skip.add(column)
        taken = set(self.HEAD + self.GRID) | {key for key, _, _ in self.columns}
        for column in frame.columns:
            if column in skip or _column_values(frame[column]) is None:  # not JSON-able: geometries, bytes, ...
                continue
            key = str(column)
            while key in taken:
                key = f"tiles_{key}"
            taken.add(key)
            self.columns.append((key, frame[column], False))

    def rows(self, indices: np.ndarray) -> list[tuple[str, dict, dict]]:
        """(identifier, head, tail) of the chips at ``indices``; the writer puts the grid between."""
        indices = np.asarray(indices, dtype=np.int64)
        identifiers = self.identifiers[indices].tolist()
        splits = self.splits[indices].tolist()
        bounds = _nulls(self.bounds[indices].tolist())
        lon, lat = _nulls(self.lon[indices].tolist()), _nulls(self.lat[indices].tolist())
        method = [self.method[i] for i in indices.tolist()]
        names = [key for key, _, _ in self.columns]
        values = [_column_values(series.iloc[indices], parse) if series is not None else [None] * len(indices)
                  for _, series, parse in self.columns]
        out = []
        for at, identifier in enumerate(identifiers):
            head = {"identifier": identifier, "split": splits[at], "bounds": bounds[at], "centre_lon": lon[at],
                    "centre_lat": lat[at], "centre_method": method[at]}
            out.append((identifier, head, {key: column[at] for key, column in zip(names, values)}))
        return out


def chip_centres(geometry: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Each footprint's true centre (lon, lat) and how it was found.

    A footprint that is a lon/lat rectangle (its own bounding box: the chips of a lon/lat grid)
    gets its box centre, ``"bbox"``. Any other footprint (UTM chips, irregular units) gets the centroid
    of its area computed in a local metric CRS, the UTM zone of its box centre (UPS beyond ±84°), and
    ``"centroid:EPSG:n"`` names that CRS. Empty footprints get NaN and ``"none"``.
    """
    import shapely

    count = len(geometry)
    lon, lat = np.full(count, np.nan), np.full(count, np.nan)
    method = np.full(count, "none", dtype=object)
    if count == 0:
        return lon, lat, []
    bounds = shapely.bounds(geometry)
    present = np.isfinite(bounds).all(axis=1)
    box_area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    with np.errstate(invalid="ignore"):
        rectangle = present & (np.abs(shapely.area(geometry) - box_area) <= 1e-9 * np.abs(box_area))
    lon[rectangle] = (bounds[rectangle, 0] + bounds[rectangle, 2]) / 2
    lat[rectangle] = (bounds[rectangle, 1] + bounds[rectangle, 3]) / 2
    method[rectangle] = "bbox"
    other = np.flatnonzero(present & ~rectangle)
    if len(other):
        mid_lon = (bounds[other, 0] + bounds[other, 2]) / 2
        mid_lat = (bounds[other, 1] + bounds[other, 3]) / 2
        zone = np.clip(np.floor((mid_lon + 180) / 6).astype(int) + 1, 1, 60)
        epsg = np.where(mid_lat >= 0, 32600, 32700) + zone
        epsg = np.where(mid_lat > 84, 32661, np.where(mid_lat < -80, 32761, epsg))
        for code in np.unique(epsg).tolist():
            rows = other[epsg == code]
            forward, back = _transformers(code)
            projected = shapely.transform(geometry[rows], lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1])))
            xy = shapely.get_coordinates(shapely.centroid(projected))
            lon[rows], lat[rows] = back.transform(xy[:, 0], xy[:, 1])
            method[rows] = f"centroid:EPSG:{code}"
    return lon, lat, method.tolist()


def _transformers(code: int):
    from pyproj import Transformer

    return (Transformer.from_crs("EPSG:4326", f"EPSG:{code}", always_xy=True),
            Transformer.from_crs(f"EPSG:{code}", "EPSG:4326", always_xy=True))


# --- a shard ---------------------------------------------------------------------------------------


def _write_shard(spec, path: Path, rows, on_chips=None) -> dict:
    """Write one shard atomically; return its samples, bytes, sha256 and what its first sample holds."""
    from geetiles.atomic import atomic_path

    digest = hashlib.sha256()
    size = 0
    first = None
    pending = 0
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        for identifier, head, tail in rows:
            members = _sample_members(spec, identifier, head, tail)
            if first is None:
                first = _describe(members)
            data = _tar_sample(identifier, members)
            out.write(data)
            digest.update(data)
            size += len(data)
            pending += 1
            if on_chips is not None and pending >= PROGRESS_EVERY:
                on_chips(pending)
                pending = 0
        end = bytes(_END_BYTES)  # the end-of-archive marker
        out.write(end)
        digest.update(end)
        size += len(end)
    if on_chips is not None and pending:
        on_chips(pending)
    return {"samples": len(rows), "bytes": size, "sha256": digest.hexdigest(), "sample": first}


def _sample_members(spec, identifier: str, head: dict, tail: dict) -> list[tuple[str, bytes]]:
    """(member suffix, bytes) of one chip: image.npy, label.npy, json."""
    images, labels = spec
    members = []
    grid = None
    if images is not None:
        pixels, grid = _read_chip(os.path.join(images, f"{identifier}.tif"), identifier, "images", all_bands=True)
        members.append(("image.npy", _npy(pixels)))
    if labels is not None:
        values, label_grid = _read_chip(os.path.join(labels, f"{identifier}.tif"), identifier, "labels", all_bands=False)
        members.append(("label.npy", _npy(values)))
        grid = grid or label_grid
    crs, transform, width, height = grid
    row = {**head, "crs": crs, "transform": list(transform), "width": width, "height": height, **tail}
    members.append(("json", json.dumps(row, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()))
    return members


def _tar_sample(key: str, members: list[tuple[str, bytes]]) -> bytes:
    """The tar bytes of one sample: per member a header, the data, zeros to the next 512-byte block."""
    if not is_safe_name(key) or "." in key:  # checked at entry (check_keys); in depth, one regex a sample
        raise UnsafePathError(f"refusing the WebDataset sample key {key!r}: members {key}.* would not be plain names")
    parts = []
    for suffix, data in members:
        parts.append(_tar_header(f"{key}.{suffix}", len(data)))
        parts.append(data)
        if len(data) % _BLOCK:
            parts.append(bytes(_BLOCK - len(data) % _BLOCK))
    return b"".join(parts)


_USTAR = bytearray(_BLOCK)  # a regular file's ustar header: mode 0644, uid/gid 0, no owner names, mtime 0
for _at, _field in ((100, b"0000644\0"), (108, b"0000000\0"), (116, b"0000000\0"), (136, b"00000000000\0"),
                    (156, b"0"), (257, b"ustar\x0000")):
    _USTAR[_at:_at + len(_field)] = _field
del _at, _field


def _tar_header(name: str, size: int) -> bytes:
    """A member's header, byte for byte what ``tarfile`` writes (PAX format) for the same TarInfo,
    ten times faster; long or non-ASCII names go through ``tarfile`` (a PAX extended header)."""
    raw = name.encode("utf-8")
    if len(raw) > 100 or not raw.isascii() or size >= 8**11:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, 0, 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
    header = _USTAR.copy()
    header[:len(raw)] = raw
    header[124:136] = b"%011o\0" % size
    header[148:156] = b"        "
    header[148:155] = b"%06o\0" % sum(header)
    return bytes(header)


_NPY_HEADERS: dict[tuple[str, tuple[int, ...]], bytes] = {}


def _npy(array: np.ndarray) -> bytes:
    """``.npy`` bytes of an array of numbers (never pickles)."""
    key = (array.dtype.str, array.shape)
    header = _NPY_HEADERS.get(key)
    if header is None:
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.zeros(array.shape, array.dtype), allow_pickle=False)
        data = buffer.getvalue()
        header = _NPY_HEADERS[key] = data[:len(data) - array.nbytes]
    return header + array.tobytes()


def _describe(members) -> dict:
    """What a sample holds: per member its dtype and shape (arrays) or keys (json)."""
    out = {}
    for suffix, data in members:
        if suffix.endswith(".npy"):
            array = np.load(io.BytesIO(data), allow_pickle=False)
            out[suffix] = {"dtype": array.dtype.name, "shape": list(array.shape)}
        else:
            out[suffix] = {"keys": list(json.loads(data))}
    return out


def _read_chip(path: str, identifier: str, dataset: str, all_bands: bool):
    """(pixels, (crs, transform, width, height)) of a chip: every band, or the first as (height, width)."""
    from geetiles.tiff import UnreadableChip, read_chip

    try:
        chip = read_chip(path, all_bands)
    except UnreadableChip as error:
        what = f"is missing ({path})" if str(error) == "missing" else f"cannot be read ({path}): {error}"
        raise UnreadableChip(f"webdataset export: {dataset} chip {identifier} {what}") from None
    height, width = chip.values.shape[-2:]
    return chip.values, (chip.crs, tuple(chip.transform), int(width), int(height))


# --- planning, running, summary --------------------------------------------------------------------


def _estimate_sample_bytes(spec, rows: ChipRows, order: np.ndarray) -> float:
    """Mean tar bytes of a sample, from a few of the split's chips."""
    if len(order) == 0:
        return 0.0
    picks = np.unique(np.linspace(0, len(order) - 1, min(_ESTIMATE_CHIPS, len(order))).astype(int))
    sizes = [len(_tar_sample(identifier, _sample_members(spec, identifier, head, tail)))
             for identifier, head, tail in rows.rows(order[picks])]
    return float(np.mean(sizes))


def _split_rng(seed: int, split: str) -> np.random.Generator:
    """The split's shuffle: the export seed and the split's name, so a split's order does not depend
    on which other splits exist."""
    return np.random.default_rng([int(seed) % 2**64, zlib.crc32(split.encode("utf-8"))])


def _workers(workers: int | None, chips: int, shards: int) -> int:
    if workers is None:
        workers = 1 if chips < PARALLEL_FROM else (os.cpu_count() or 1)
    return max(1, min(workers, shards))


def _run(spec, rows: ChipRows, tasks, workers: int, progress) -> list[dict]:
    """Write every shard: in this process, or in ``workers`` processes, a shard per task (the rows of
    at most two shards per worker in flight, so memory stays bounded)."""
    def update(chips: int) -> None:
        if progress is not None:
            progress.update(chips, 0, 0)

    if workers <= 1:
        return [_write_shard(spec, path, rows.rows(part), update) for _, path, part in tasks]
    from geetiles.process_pool import process_pool

    results: list[dict | None] = [None] * len(tasks)
    queue = iter(enumerate(tasks))
    with process_pool(workers) as pool:
        running: dict = {}

        def submit() -> None:
            for at, (_, path, part) in queue:
                running[pool.submit(_write_shard, spec, path, rows.rows(part))] = at
                return

        for _ in range(2 * workers):
            submit()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                results[running.pop(future)] = result = future.result()
                update(result["samples"])
                submit()
    return results  # type: ignore[return-value]


def _summary(inp: ExportInput, dest: Path, tasks, results, shard_size_mb: float, min_shards: int) -> dict:
    splits: dict[str, dict] = {}
    sample = None
    for (split, path, _), result in zip(tasks, results):
        entry = splits.setdefault(split, {"samples": 0, "bytes": 0, "shards": []})
        entry["shards"].append({"file": path.relative_to(dest).as_posix(), "samples": result["samples"],
                                "bytes": result["bytes"], "sha256": result["sha256"]})
        entry["samples"] += result["samples"]
        entry["bytes"] += result["bytes"]
        sample = sample or result["sample"]

    def describe(info):
        if info is None:
            return None
        return {"name": info.name, "bands": list(info.bands), "dtype": info.dtype,
                "nodata": _jsonable(info.nodata)[1], "classes": [_jsonable(dict(c))[1] for c in info.classes]}

    members = {"__key__": "the chip identifier"}
    members.update(sample or {})
    return {
        "format": "webdataset",
        "name": inp.name,
        "seed": int(inp.seed),
        "shard_size_mb": float(shard_size_mb),
        "min_shards": int(min_shards),
        "samples": sum(s["samples"] for s in splits.values()),
        "bytes": sum(s["bytes"] for s in splits.values()),
        "shard_count": len(tasks),
        "splits": splits,
        "sample": members,  # members of a sample (dtype/shape of the first chip's arrays, its json keys)
        "transform_order": "gdal",  # json transform: x0, dx, row rotation, y0, column rotation, dy
        "images": describe(inp.images),
        "labels": describe(inp.labels),
        "classes": describe(inp.labels)["classes"] if inp.labels is not None else [],
    }


def _remove_stale(dest: Path, name: str, written: set[Path]) -> None:
    """Shards of an earlier export into ``dest`` that this one did not rewrite (fewer shards, a split gone)."""
    for folder in dest.iterdir():
        if not folder.is_dir():
            continue
        pattern = re.compile(re.escape(f"{name}-{folder.name}-") + r"\d{6}\.tar")
        for path in folder.iterdir():
            if pattern.fullmatch(path.name) and path not in written:
                path.unlink()


def check_keys(identifiers: np.ndarray) -> None:
    """WebDataset keys are a member's name up to its first dot: identifiers must follow the rule for
    names (``geetiles.names``), hold no '.', and be unique. One line (exit 2) otherwise."""
    identifiers = np.asarray(identifiers).astype(str)
    count, bad = unsafe_identifiers(identifiers)
    dotted = [i for i in identifiers.tolist() if "." in i] if not count else []
    if count or dotted:
        named = ", ".join(shown(i) for i in (bad or dotted)[:3])
        raise UserInputError(f"webdataset export: {count or len(dotted)} chip identifier(s) cannot be sample keys "
                             f"({RULE}, and no '.', which ends a WebDataset key): {named}; export.formats without "
                             "webdataset packages them, or give a tiles file made by the tiling stage")
    unique, counts = np.unique(identifiers, return_counts=True)
    if (counts > 1).any():
        repeated = unique[counts > 1]
        raise UserInputError(f"webdataset export: {len(repeated)} chip identifier(s) repeat "
                             f"({', '.join(shown(i) for i in repeated[:3].tolist())}); each is a sample's key, so "
                             "identifiers must be unique: fix the tiles file or export without webdataset")


# --- JSON values -----------------------------------------------------------------------------------


def _nulls(values: list) -> list:
    """Nested lists of floats with NaN/inf as None."""
    return [_nulls(v) if isinstance(v, list) else (None if isinstance(v, float) and not math.isfinite(v) else v)
            for v in values]


def _column_values(series, parse_json: bool = False) -> list | None:
    """A frame column as JSON values (NaN and missing as None), or None when it is not JSON-able."""
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return _nulls(series.to_numpy().tolist())
    if isinstance(dtype, np.dtype) and dtype.kind in "biu":
        return series.to_numpy().tolist()
    if isinstance(dtype, np.dtype) and dtype.kind == "M" or isinstance(dtype, pd.DatetimeTZDtype):
        return [None if pd.isna(v) else v.isoformat() for v in series.tolist()]
    out = []
    for value in series.astype(object).tolist():
        if parse_json and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        ok, converted = _jsonable(value)
        if not ok:
            return None
        out.append(converted)
    return out


def _jsonable(value) -> tuple[bool, object]:
    """(whether ``value`` maps to JSON, the JSON value); NaN, NA and NaT as None."""
    import datetime

    if value is None or isinstance(value, (str, bool)):
        return True, value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return True, int(value)
    if isinstance(value, np.bool_):
        return True, bool(value)
    if isinstance(value, (float, np.floating)):
        return True, float(value) if math.isfinite(value) else None
    if isinstance(value, (datetime.date, datetime.datetime)):
        return True, value.isoformat()
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            ok, converted = _jsonable(item)
            if not ok:
                return False, None
            out[str(key)] = converted
        return True, out
    if isinstance(value, (list, tuple, np.ndarray)):
        out_list = []
        for item in (value.tolist() if isinstance(value, np.ndarray) else value):
            ok, converted = _jsonable(item)
            if not ok:
                return False, None
            out_list.append(converted)
        return True, out_list
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return True, None
    except ImportError:  # pragma: no cover
        pass
    return False, None
