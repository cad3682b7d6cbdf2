"""The whole ``webdataset`` export: plan the shards of every split, write them, remove shards of an
earlier export into the same folder, and write ``shards.json`` last."""

from __future__ import annotations

import json
import re
from pathlib import Path

from geetiles.dataset.sample import class_table
from geetiles.export.inputs import ExportInput
from geetiles.export.webdataset.rows import ChipRows, jsonable
from geetiles.export.webdataset.sample import check_keys
from geetiles.export.webdataset.shards import plain_name, plan_shards, worker_count, write_shards

SHARDS_JSON = "shards.json"


def write_webdataset(
    inp: ExportInput,
    dest: Path,
    shard_size_mb: float = 256,
    min_shards: int = 8,
    progress=None,
    workers: int | None = None,
) -> dict:
    """Write the chips of ``inp`` as WebDataset tar shards under ``dest``; return the ``shards.json`` summary.

    ``progress`` (a ``geetiles.progress.Progress``) is told of chips as shards fill; ``workers``
    processes write shards in parallel (default: one per core from ``shards.PARALLEL_FROM`` chips).
    Raises :class:`geetiles.tiff.UnreadableChip` naming the chip when a chip
    file cannot be read.
    """
    if inp.images is None and inp.labels is None:
        raise ValueError("webdataset export: neither an images nor a labels dataset to package")
    if shard_size_mb <= 0:
        raise ValueError(f"webdataset export: shard_size_mb must be positive, not {shard_size_mb}")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / SHARDS_JSON).unlink(missing_ok=True)  # until the new one is written, the folder is incomplete
    check_keys(inp.identifiers)
    rows = ChipRows(inp)
    name = plain_name(inp.name).strip("_") or "dataset"
    spec = (str(inp.images.folder) if inp.images else None, str(inp.labels.folder) if inp.labels else None)
    tasks = plan_shards(spec, rows, dest, name, inp.split_names(), inp.seed, shard_size_mb * 2**20, min_shards)
    results = write_shards(spec, rows, tasks, worker_count(workers, len(rows.identifiers), len(tasks)), progress)
    summary = _summary(inp, dest, tasks, results, shard_size_mb, min_shards)
    _remove_stale(dest, name, {task[1] for task in tasks})
    from geetiles.atomic import write_text

    write_text(dest / SHARDS_JSON, json.dumps(summary, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
    return summary


def _summary(inp: ExportInput, dest: Path, tasks, results, shard_size_mb: float, min_shards: int) -> dict:
    splits: dict[str, dict] = {}
    sample = None
    for (split, path, _), result in zip(tasks, results):
        entry = splits.setdefault(split, {"samples": 0, "bytes": 0, "shards": []})
        entry["shards"].append(
            {
                "file": path.relative_to(dest).as_posix(),
                "samples": result["samples"],
                "bytes": result["bytes"],
                "sha256": result["sha256"],
            }
        )
        entry["samples"] += result["samples"]
        entry["bytes"] += result["bytes"]
        sample = sample or result["sample"]

    def describe(info):
        if info is None:
            return None
        return {
            "name": info.name,
            "bands": list(info.bands),
            "dtype": info.dtype,
            "nodata": jsonable(info.nodata)[1],
            "classes": [jsonable(dict(c))[1] for c in info.classes],
        }

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
        "class_keys": [c.key for c in class_table(inp.labels.classes)] if inp.labels is not None else [],
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
