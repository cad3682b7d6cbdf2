"""The Hugging Face ``datasets`` features of the WebDataset shards, declared in the dataset card
(``dataset_info``), so ``load_dataset(<dataset folder>)`` types every column as written (pixels in their
native dtype, the JSON's numbers and strings) instead of guessing from the first few samples.

The YAML form is the one ``datasets.Features._to_yaml_list`` writes; made here from the shards
themselves (no ``datasets`` import: it is no dependency of geetiles)."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path

SAMPLES = 64  # samples read from the first shard to type the JSON's columns (a column null in all: string)


def webdataset_features(folder: Path) -> list[dict] | None:
    """The features of the shards under ``folder`` (holding ``shards.json``), or None without shards."""
    from geetiles.dataset.shards import read_shard

    try:
        summary = json.loads((folder / "shards.json").read_text(encoding="utf-8"))
        first = next(shard for split in summary["splits"].values() for shard in split["shards"])
    except (OSError, ValueError, KeyError, StopIteration):
        return None
    samples = list(islice(read_shard(folder / first["file"]), SAMPLES))
    if not samples:
        return None
    features: list[dict] = []
    for member in ("image", "label"):
        array = samples[0][member]
        if array is not None:
            features.append({"name": f"{member}.npy", **_nested(array.ndim, array.dtype.name)})
    metas = [sample["meta"] for sample in samples]
    fields = []
    for key in metas[0]:
        value = next((meta[key] for meta in metas if meta.get(key) is not None), None)
        fields.append({"name": key, **_type_of(value)})
    features.append({"name": "json", "struct": fields})
    features += [{"name": "__key__", "dtype": "string"}, {"name": "__url__", "dtype": "string"}]
    return features


def _nested(depth: int, dtype: str) -> dict:
    feature: dict = {"list": dtype}
    for _ in range(depth - 1):
        feature = {"list": feature}
    return feature


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    return "string"


def _type_of(value) -> dict:
    if isinstance(value, dict):
        return {"struct": [{"name": str(k), **_type_of(v)} for k, v in value.items()]}
    if isinstance(value, list):
        items = [v for v in value if v is not None]
        if items and all(isinstance(v, list) for v in items):
            inner = _type_of(items[0])
            return {"list": inner.get("dtype", inner)}
        kinds = {_scalar(v) for v in items}
        kind = kinds.pop() if len(kinds) == 1 else ("float64" if kinds <= {"int64", "float64"} else "string")
        return {"list": kind if items else "float64"}
    return {"dtype": _scalar(value)}
