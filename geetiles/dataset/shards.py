"""Read the WebDataset shards of an exported dataset (``export.formats=[webdataset]``) with nothing but
the standard library and numpy: no ``webdataset`` package, no pickle, nothing extracted to disk.
See :func:`iterate_shards`.
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from geetiles.dataset.sample import class_table, make_sample

SHARDS_JSON = "shards.json"


def shard_index(root: str | Path) -> tuple[Path, dict]:
    """The folder holding ``shards.json`` (``root`` or ``root/webdataset``) and its content."""
    root = Path(root)
    for folder in (root, root / "webdataset"):
        if (folder / SHARDS_JSON).is_file():
            return folder, json.loads((folder / SHARDS_JSON).read_text(encoding="utf-8"))
    raise FileNotFoundError(f"no {SHARDS_JSON} in {root} or {root / 'webdataset'}: is it a finished webdataset export?")


def iterate_shards(root: str | Path, split: str | None, shuffle_buffer: int = 0, seed: int = 0) -> Iterator[dict]:
    """Yield the chips of ``split`` (``None``: every split) as the samples :class:`ChipDataset` returns
    (:mod:`geetiles.dataset.sample`: ``image``, ``label``, ``proportions``, ``valid_frac``, ``identifier``,
    ``split``, ``crs``, ``transform_gdal``, ``bounds``) from the shards ``shards.json`` lists under ``root``
    (the webdataset folder, or the dataset folder holding it in ``webdataset/``).

    Example::

        from geetiles.dataset import iterate_shards
        for chip in iterate_shards("outputs/data/lux_dataset", "train", shuffle_buffer=1000, seed=0):
            image, label, proportions = chip["image"], chip["label"], chip["proportions"]

    With PyTorch, wrap it in an ``IterableDataset``; the default collate batches its samples. Inside
    ``DataLoader`` workers each worker reads every ``num_workers``-th shard, so together they yield every
    chip once per epoch::

        class Chips(torch.utils.data.IterableDataset):
            def __iter__(self): return iterate_shards(root, "train", shuffle_buffer=1000)
        loader = DataLoader(Chips(), batch_size=32, num_workers=4)

    With the ``webdataset`` package: ``webdataset.WebDataset(urls, shardshuffle=100).shuffle(1000).decode()``,
    ``urls`` being the shard files ``shards.json`` lists (``WDS_SECURE=1`` makes it refuse pickles; these
    shards hold none); :func:`read_shard` gives a shard's raw members.

    Arrays are loaded with ``allow_pickle=False``. Without shuffling, chips come in shard order (the export
    already shuffled them with its seed); ``shuffle_buffer > 0`` shuffles the shard order and draws chips
    at random from a buffer of that many, reproducibly for a given ``seed``.
    """
    folder, index = shard_index(root)
    splits = index.get("splits", {})
    if split is not None and split not in splits:
        raise KeyError(f"split {split!r} is not in {folder / SHARDS_JSON}; it has {sorted(splits)}")
    chosen = list(splits) if split is None else [split]
    files = [folder / shard["file"] for name in chosen for shard in splits[name]["shards"]]
    class_keys = [entry.key for entry in class_table(index.get("classes"))] if index.get("labels") else None
    rng = np.random.default_rng(seed)
    if shuffle_buffer > 0:
        files = [files[i] for i in rng.permutation(len(files)).tolist()]
    worker, workers = _torch_worker()
    files = files[worker::workers]
    samples = (as_sample(raw, class_keys) for path in files for raw in read_shard(path))
    if shuffle_buffer <= 0:
        yield from samples
        return
    buffer: list[dict] = []
    for sample in samples:
        if len(buffer) < shuffle_buffer:
            buffer.append(sample)
            continue
        at = int(rng.integers(len(buffer)))
        buffer[at], sample = sample, buffer[at]
        yield sample
    for at in rng.permutation(len(buffer)).tolist():
        yield buffer[at]


def as_sample(raw: dict, class_keys: list[int] | None) -> dict:
    """A shard's raw sample (:func:`read_shard`) as the loaders' sample. Shards of geetiles before the
    dense proportions (a class → share mapping, ``transform``) are read too, in ``shards.json``'s class order."""
    meta = raw["meta"]
    proportions = meta.get("proportions") if class_keys is not None else None
    if isinstance(proportions, dict):
        shares = {str(k): v for k, v in proportions.items()}
        proportions = [float(shares.get(str(key), 0.0) or 0.0) for key in class_keys]
    elif class_keys is not None and proportions is None:
        proportions = [None] * len(class_keys)
    return make_sample(
        raw["image"],
        raw["label"],
        proportions,
        meta.get("valid_frac"),
        meta.get("identifier", raw["__key__"]),
        meta.get("split", ""),
        meta.get("crs"),
        meta.get("transform_gdal", meta.get("transform")),
        meta.get("bounds"),
        int(meta.get("height", 0)),
        int(meta.get("width", 0)),
    )


def read_shard(path: str | Path) -> Iterator[dict]:
    """The raw samples of one tar shard (``{"__key__", "image", "label", "meta"}``, arrays None when
    absent), in order (members of a sample are consecutive, as WebDataset requires)."""
    current: dict | None = None
    with tarfile.open(path, mode="r|") as tar:  # streaming: one pass, no seeks, nothing extracted
        for member in tar:
            if not member.isfile():
                continue
            base = member.name.rsplit("/", 1)[-1]
            key, dot, suffix = base.partition(".")
            if not dot:
                continue
            if current is None or current["__key__"] != key:
                if current is not None:
                    yield current
                current = {"__key__": key, "image": None, "label": None, "meta": {}}
            data = tar.extractfile(member).read()
            if suffix == "image.npy":
                current["image"] = np.load(io.BytesIO(data), allow_pickle=False)
            elif suffix == "label.npy":
                current["label"] = np.load(io.BytesIO(data), allow_pickle=False)
            elif suffix == "json":
                current["meta"] = json.loads(data)
    if current is not None:
        yield current


def _torch_worker() -> tuple[int, int]:
    """(this DataLoader worker's id, the number of workers); (0, 1) outside one (torch is never imported here)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return 0, 1
    try:
        info = torch.utils.data.get_worker_info()
    except Exception:  # a torch without its data utilities loaded
        return 0, 1
    return (info.id, info.num_workers) if info is not None else (0, 1)
