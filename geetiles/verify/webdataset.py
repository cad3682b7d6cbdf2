"""``webdataset/shards.json`` against the shards: each listed shard is present with the recorded size
and SHA-256, holds the recorded number of samples, each sample complete (``image.npy``, ``label.npy``
when the dataset has labels, ``json``) with arrays of the recorded dtype and of the chip's shape, and its
JSON naming the same chip and split; no chip in two samples or two splits; each split's samples are the
index's chips of that split (when there is an index); no shard left unlisted.

Shards are read once, as a stream: the SHA-256 is computed while ``tarfile`` walks the members (no
member is extracted; a member's name is only compared, never used as a path)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections import defaultdict
from functools import lru_cache

import numpy as np

from geetiles.verify.context import SHARDS, Context
from geetiles.verify.report import Problem, chip, file, name, path_text
from geetiles.verify.source import safe_relative

FOLDER = "webdataset"
JSON_LIMIT = 1 << 20  # a sample's JSON is a few hundred bytes; a larger one is not read


def load_shards(context: Context) -> list[Problem]:
    """Read ``webdataset/shards.json`` into ``context.shards`` when the dataset has one."""
    if not context.has(SHARDS):
        return [file(FOLDER, f"holds shards but no {SHARDS}")] if context.listing.under(FOLDER) else []
    try:
        value = json.loads(context.read(SHARDS))
    except (OSError, ValueError) as error:
        return [file(SHARDS, f"cannot be read ({' '.join(str(error).split())[:160]})")]
    if not isinstance(value, dict) or not isinstance(value.get("splits"), dict):
        return [file(SHARDS, "is not a mapping with 'splits'")]
    context.shards = value
    return []


def check(context: Context) -> list[Problem]:
    shards = context.shards
    if shards is None:
        return []
    spec = _spec(shards)
    problems: list[Problem] = []
    seen: dict[str, str] = {}  # identifier → split of its first sample
    listed: set[str] = set()
    tasks: list[tuple[str, dict, str]] = []
    total = 0
    for split, entry in shards["splits"].items():
        for shard in entry.get("shards", []) if isinstance(entry, dict) else []:
            path = f"{FOLDER}/{shard.get('file')}" if isinstance(shard, dict) else None
            if path is None or not safe_relative(path):
                problems.append(
                    file(
                        SHARDS,
                        f"split {name(split)}: shard entry {path_text(str(shard)[:80])} does "
                        "not name a file inside the dataset: not read",
                    )
                )
                continue
            listed.add(path)
            if not context.has(path):
                problems.append(file(path, f"listed in {SHARDS} but missing"))
                continue
            tasks.append((path, shard, str(split)))
    samples = shards.get("samples")
    pool = context.executor(samples if isinstance(samples, int) else len(tasks))
    results = (
        [check_shard(context.source, *task, spec) for task in tasks]
        if pool is None
        else list(pool.map(check_shard, *zip(*[(context.source, *task, spec) for task in tasks])))
    )
    keys_of: dict[str, list[str]] = defaultdict(list)
    for (path, _, split), (keys, found, digest) in zip(tasks, results):
        problems += found
        keys_of[split] += keys
        if digest is not None:
            context.note(path, digest)
    for split, entry in shards["splits"].items():
        keys = keys_of[str(split)]
        for key in keys:
            if key in seen:
                problems.append(chip(key, f"is in two WebDataset samples (splits {name(seen[key])}, {name(split)})"))
            else:
                seen[key] = str(split)
        if isinstance(entry, dict) and entry.get("samples") is not None and entry.get("samples") != len(keys):
            problems.append(
                file(
                    SHARDS, f"split {name(split)}: {len(keys)} samples in its shards, it records {entry.get('samples')}"
                )
            )
        total += len(keys)
    problems += _against_index(context, seen)
    for path in sorted(context.listing.under(FOLDER)):
        if path.endswith(".tar") and path not in listed:
            problems.append(file(path, f"is a shard not listed in {SHARDS}"))
    if context.index is None:
        context.chips = total
    return problems


def _spec(shards: dict) -> dict:
    """Per array member, the dtype shards.json records, and the image band count."""
    members = shards.get("sample") if isinstance(shards.get("sample"), dict) else {}
    out = {
        suffix: (members.get(suffix) or {}).get("dtype")
        for suffix in ("image.npy", "label.npy")
        if isinstance(members.get(suffix), dict)
    }
    images = shards.get("images") if isinstance(shards.get("images"), dict) else {}
    out["bands"] = len(images["bands"]) if isinstance(images.get("bands"), list) else None
    out["labels"] = isinstance(shards.get("labels"), dict) or "label.npy" in members
    return out


class _Hashing:
    """A file object that hashes what is read through it (tarfile's stream mode reads it once, in order)."""

    def __init__(self, handle):
        self.handle, self.digest, self.size = handle, hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


def check_shard(source, path: str, shard: dict, split: str, spec: dict) -> tuple[list[str], list[Problem], str | None]:
    """One shard, in a worker: its sample keys, the problems found and its SHA-256 (None: unreadable)."""
    problems: list[Problem] = []
    samples: dict[str, dict] = defaultdict(dict)
    try:
        with source.open(path) as handle:
            stream = _Hashing(handle)
            try:
                with tarfile.open(fileobj=stream, mode="r|") as archive:
                    for member in archive:
                        _member(archive, member, samples, path, problems)
            except (tarfile.TarError, EOFError, ValueError) as error:
                problems.append(file(path, f"is not a readable tar ({' '.join(str(error).split())[:120]})"))
            while stream.read(1 << 20):
                pass
    except OSError as error:
        return [], [file(path, f"cannot be read ({error.strerror or error})")], None
    if shard.get("sha256") is not None and shard["sha256"] != stream.digest.hexdigest():
        problems.append(file(path, f"SHA-256 differs from {SHARDS}'s (changed or corrupt)"))
    if shard.get("bytes") is not None and shard["bytes"] != stream.size:
        problems.append(file(path, f"is {stream.size} bytes, {SHARDS} records {shard['bytes']}"))
    if shard.get("samples") is not None and shard["samples"] != len(samples):
        problems.append(file(path, f"holds {len(samples)} samples, {SHARDS} records {shard['samples']}"))
    for key, members in samples.items():
        problems += [chip(key, f"{path}: {what}") for what in _sample_problems(members, split, spec, key)]
    return list(samples), problems, stream.digest.hexdigest()


def _member(archive: tarfile.TarFile, member: tarfile.TarInfo, samples: dict, path: str, problems: list) -> None:
    key, dot, suffix = member.name.partition(".")
    if not member.isfile() or not dot or "/" in member.name:
        problems.append(file(path, f"member {path_text(member.name)} is not a sample file ({{key}}.{{suffix}})"))
        return
    if suffix in samples[key]:
        problems.append(chip(key, f"{path}: member {suffix} twice"))
        return
    handle = archive.extractfile(member)
    if suffix.endswith(".npy"):
        samples[key][suffix] = _npy_header(handle, member.size)
    elif suffix == "json":
        samples[key][suffix] = _json(handle, member.size)
    else:
        samples[key][suffix] = None


def _npy_header(handle, size: int):
    """(dtype name, shape) of a ``.npy`` member whose size matches its header, or the problem (text).
    The header's text is parsed once per distinct header (every chip of a dataset shares a few)."""
    head = handle.read(HEAD)
    try:
        parsed = _parse_npy_header(head[: _header_end(head)])
    except Exception as error:  # numpy raises ValueError and others for a damaged header
        return f"not a readable .npy ({' '.join(str(error).split())[:100]})"
    if isinstance(parsed, str):
        return parsed
    dtype, shape, expected = parsed
    if expected != size:
        return f"is {size} bytes, its .npy header says {expected} (cut short or padded)"
    return dtype, shape


HEAD = 4096  # a .npy header is padded to a multiple of 64 bytes, a few hundred at most


def _header_end(head: bytes) -> int:
    if len(head) < 10 or head[:6] != b"\x93NUMPY":
        raise ValueError("no .npy magic")
    if head[6] == 1:
        return 10 + int.from_bytes(head[8:10], "little")
    return 12 + int.from_bytes(head[8:12], "little")


@lru_cache(maxsize=256)
def _parse_npy_header(head: bytes):
    stream = io.BytesIO(head)
    version = np.lib.format.read_magic(stream)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read_header(stream)
    if dtype.hasobject:
        return "holds Python objects (pickles), not an array"
    if len(head) != stream.tell():
        raise ValueError("header cut short")
    return dtype.name, tuple(shape), stream.tell() + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize


def _json(handle, size: int):
    if size > JSON_LIMIT:
        return f"json of {size} bytes, not read"
    try:
        value = json.loads(handle.read())
    except ValueError:
        return "json does not parse"
    return value if isinstance(value, dict) else "json is not a mapping"


def _sample_problems(members: dict, split: str, spec: dict, key: str) -> list[str]:
    found = []
    wanted = ["image.npy", "json"] + (["label.npy"] if spec.get("labels") else [])
    found += [f"sample lacks {suffix}" for suffix in wanted if suffix not in members]
    for suffix, value in members.items():
        if isinstance(value, str):
            found.append(f"{suffix} {value}")
    meta = members.get("json") if isinstance(members.get("json"), dict) else {}
    if meta:
        if meta.get("identifier") != key:
            found.append(f"json names chip {name(str(meta.get('identifier')))}")
        if meta.get("split") != split:
            found.append(f"json says split {name(str(meta.get('split')))}, the shard is in {name(split)}")
    width, height = meta.get("width"), meta.get("height")
    for suffix in ("image.npy", "label.npy"):
        value = members.get(suffix)
        if not isinstance(value, tuple):
            continue
        dtype, shape = value
        if spec.get(suffix) and dtype != spec[suffix]:
            found.append(f"{suffix} is {dtype}, {SHARDS} records {spec[suffix]}")
        bands = spec.get("bands") if suffix == "image.npy" else None
        grid = (height, width) if isinstance(width, int) and isinstance(height, int) else None
        wanted_shape = None if grid is None else ((bands, *grid) if bands is not None else grid)
        if suffix == "image.npy" and wanted_shape is not None and shape != wanted_shape:
            found.append(f"{suffix} has shape {list(shape)}, the sample's json says {list(wanted_shape)}")
        if suffix == "label.npy" and len(shape) != 2:
            found.append(f"{suffix} has shape {list(shape)}, not (height, width)")
    return found


def _against_index(context: Context, seen: dict[str, str]) -> list[Problem]:
    index = context.index
    if index is None or index.splits is None:
        return []
    problems = []
    in_index = dict(zip(index.identifiers, map(str, index.splits)))
    for identifier, split in sorted(in_index.items()):
        if identifier not in seen:
            problems.append(chip(identifier, "is in the index but in no WebDataset shard"))
        elif seen[identifier] != split:
            problems.append(
                chip(identifier, f"is in the index's split {name(split)} but in the shards of {name(seen[identifier])}")
            )
    for identifier in sorted(set(seen) - set(in_index)):
        problems.append(chip(identifier, "is in a WebDataset shard but not in the index"))
    return problems
