"""A sample's members: the chip's pixels as ``.npy`` (never pickles), its index row as ``.json``, and the
rule its key (the chip identifier) must follow."""

from __future__ import annotations

import io
import json
import os

import numpy as np

from geetiles.errors import UserInputError
from geetiles.names import RULE, shown, unsafe_identifiers


def check_keys(identifiers: np.ndarray) -> None:
    """WebDataset keys are a member's name up to its first dot: identifiers must follow the rule for
    names (``geetiles.names``), hold no '.', and be unique. One line (exit 2) otherwise."""
    identifiers = np.asarray(identifiers).astype(str)
    count, bad = unsafe_identifiers(identifiers)
    dotted = [i for i in identifiers.tolist() if "." in i] if not count else []
    if count or dotted:
        named = ", ".join(shown(i) for i in (bad or dotted)[:3])
        raise UserInputError(
            f"webdataset export: {count or len(dotted)} chip identifier(s) cannot be sample keys "
            f"({RULE}, and no '.', which ends a WebDataset key): {named}; export.formats without "
            "webdataset packages them, or give a tiles file made by the tiling stage"
        )
    unique, counts = np.unique(identifiers, return_counts=True)
    if (counts > 1).any():
        repeated = unique[counts > 1]
        raise UserInputError(
            f"webdataset export: {len(repeated)} chip identifier(s) repeat "
            f"({', '.join(shown(i) for i in repeated[:3].tolist())}); each is a sample's key, so "
            "identifiers must be unique: fix the tiles file or export without webdataset"
        )


def sample_members(spec, identifier: str, head: dict, tail: dict) -> list[tuple[str, bytes]]:
    """(member suffix, bytes) of one chip: image.npy, label.npy, json. ``spec`` is (images folder,
    labels folder), either None; ``head`` and ``tail`` are the index row around the chip's grid."""
    images, labels = spec
    members = []
    grid = None
    if images is not None:
        pixels, grid = read_chip(os.path.join(images, f"{identifier}.tif"), identifier, "images", all_bands=True)
        members.append(("image.npy", npy(pixels)))
    if labels is not None:
        values, label_grid = read_chip(os.path.join(labels, f"{identifier}.tif"), identifier, "labels", all_bands=False)
        members.append(("label.npy", npy(values)))
        grid = grid or label_grid
    crs, transform, width, height = grid
    row = {**head, "crs": crs, "transform_gdal": list(transform), "width": width, "height": height, **tail}
    members.append(("json", json.dumps(row, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()))
    return members


def read_chip(path: str, identifier: str, dataset: str, all_bands: bool):
    """(pixels, (crs, transform, width, height)) of a chip: every band, or the first as (height, width).
    The one place this format reads a chip."""
    from geetiles.tiff import UnreadableChip
    from geetiles.tiff import read_chip as read

    try:
        chip = read(path, all_bands)
    except UnreadableChip as error:
        what = f"is missing ({path})" if str(error) == "missing" else f"cannot be read ({path}): {error}"
        raise UnreadableChip(f"webdataset export: {dataset} chip {identifier} {what}") from None
    height, width = chip.values.shape[-2:]
    return chip.values, (chip.crs, tuple(chip.transform), int(width), int(height))


_NPY_HEADERS: dict[tuple[str, tuple[int, ...]], bytes] = {}


def npy(array: np.ndarray) -> bytes:
    """``.npy`` bytes of an array of numbers (never pickles)."""
    key = (array.dtype.str, array.shape)
    header = _NPY_HEADERS.get(key)
    if header is None:
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.zeros(array.shape, array.dtype), allow_pickle=False)
        data = buffer.getvalue()
        header = _NPY_HEADERS[key] = data[: len(data) - array.nbytes]
    return header + array.tobytes()


def describe(members) -> dict:
    """What a sample holds: per member its dtype and shape (arrays) or keys (json)."""
    out = {}
    for suffix, data in members:
        if suffix.endswith(".npy"):
            array = np.load(io.BytesIO(data), allow_pickle=False)
            out[suffix] = {"dtype": array.dtype.name, "shape": list(array.shape)}
        else:
            out[suffix] = {"keys": list(json.loads(data))}
    return out
