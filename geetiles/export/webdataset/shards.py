"""The shards of a split: which chips go in which shard (shuffled with the seed, spread evenly, as many
shards as the target size asks for), and writing them, in this process or in worker processes."""

from __future__ import annotations

import math
import os
import re
import zlib
from concurrent.futures import FIRST_COMPLETED, wait
from pathlib import Path

import numpy as np

from geetiles.export.webdataset.rows import ChipRows
from geetiles.export.webdataset.sample import describe, sample_members
from geetiles.export.webdataset.tar import END, ShardTar, sample_bytes
from geetiles.names import check_member

PARALLEL_FROM = 2_000  # chips from which shards are written in worker processes (starting them takes a while)
PROGRESS_EVERY = 500  # chips between progress updates in one process
_ESTIMATE_CHIPS = 4  # chips read per split to estimate a sample's size in the tar
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def plain_name(text: str) -> str:
    """``text`` with every run of characters other than letters, digits, ``_`` and ``-`` made one ``_``."""
    return _UNSAFE_NAME.sub("_", text)


def shard_count(chips: int, sample_bytes: float, target_bytes: float, min_shards: int) -> int:
    """How many shards a split of ``chips`` gets: the fewest that keep every shard within the target
    size (chips spread evenly, a chip larger than the target alone in its shard), but at least
    ``min_shards`` when there are that many chips, and never an empty shard."""
    if chips <= 0:
        return 0
    room = target_bytes - len(END)  # a shard ends with two zero blocks
    per_shard = max(1, math.floor(room / sample_bytes)) if sample_bytes > 0 else chips
    by_size = math.ceil(chips / per_shard)
    if chips >= min_shards:
        by_size = max(by_size, min_shards)
    return min(by_size, chips)


def plan_shards(
    spec, rows: ChipRows, dest: Path, name: str, splits: list[str], seed: int, target_bytes: float, min_shards: int
) -> list[tuple[str, Path, np.ndarray]]:
    """(split, shard path, the rows of its chips in shard order) of every shard, splits in order."""
    tasks = []
    for split in splits:
        folder = plain_name(split) or "split"
        chips = np.flatnonzero(rows.splits == split)
        order = chips[split_rng(seed, split).permutation(len(chips))]
        count = shard_count(len(order), _estimate_sample_bytes(spec, rows, order), target_bytes, min_shards)
        for index, part in enumerate(np.array_split(order, count)):
            tasks.append((split, dest / check_member(f"{folder}/{name}-{folder}-{index:06d}.tar"), part))
    return tasks


def split_rng(seed: int, split: str) -> np.random.Generator:
    """The split's shuffle: the export seed and the split's name, so a split's order does not depend
    on which other splits exist."""
    return np.random.default_rng([int(seed) % 2**64, zlib.crc32(split.encode("utf-8"))])


def _estimate_sample_bytes(spec, rows: ChipRows, order: np.ndarray) -> float:
    """Mean tar bytes of a sample, from a few of the split's chips."""
    if len(order) == 0:
        return 0.0
    picks = np.unique(np.linspace(0, len(order) - 1, min(_ESTIMATE_CHIPS, len(order))).astype(int))
    sizes = [
        len(sample_bytes(identifier, sample_members(spec, identifier, head, tail)))
        for identifier, head, tail in rows.rows(order[picks])
    ]
    return float(np.mean(sizes))


def write_shard(spec, path: Path, rows, on_chips=None) -> dict:
    """Write one shard atomically; return its samples, bytes, sha256 and what its first sample holds."""
    from geetiles.atomic import atomic_path

    first = None
    pending = 0
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        tar = ShardTar(out)
        for identifier, head, tail in rows:
            members = sample_members(spec, identifier, head, tail)
            if first is None:
                first = describe(members)
            tar.add(identifier, members)
            pending += 1
            if on_chips is not None and pending >= PROGRESS_EVERY:
                on_chips(pending)
                pending = 0
        sha256 = tar.close()
    if on_chips is not None and pending:
        on_chips(pending)
    return {"samples": len(rows), "bytes": tar.size, "sha256": sha256, "sample": first}


def worker_count(workers: int | None, chips: int, shards: int) -> int:
    if workers is None:
        workers = 1 if chips < PARALLEL_FROM else (os.cpu_count() or 1)
    return max(1, min(workers, shards))


def write_shards(spec, rows: ChipRows, tasks, workers: int, progress) -> list[dict]:
    """Write every shard: in this process, or in ``workers`` processes, a shard per task (the rows of
    at most two shards per worker in flight, so memory stays bounded)."""

    def update(chips: int) -> None:
        if progress is not None:
            progress.update(chips, 0, 0)

    if workers <= 1:
        return [write_shard(spec, path, rows.rows(part), update) for _, path, part in tasks]
    from geetiles.process_pool import process_pool

    results: list[dict | None] = [None] * len(tasks)
    queue = iter(enumerate(tasks))
    with process_pool(workers) as pool:
        running: dict = {}

        def submit() -> None:
            for at, (_, path, part) in queue:
                running[pool.submit(write_shard, spec, path, rows.rows(part))] = at
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
