"""The pickles: one per chip, protocol 4 as 0.1.7's, naming numpy's constructors as numpy 1.x does, so
every numpy (1.x and 2.x) loads them; written in batches, in worker processes for large datasets."""

from __future__ import annotations

import io
import pickle
import zlib
from pathlib import Path

import numpy as np

from geetiles.export.legacy_zip.values import apply_map, stored
from geetiles.export.legacy_zip.zip_writer import deflate
from geetiles.names import child_path


def _numpy1_constructors() -> dict:
    """numpy's pickle constructors → the (module, name) numpy 1.x writes for them."""
    reconstruct = np.zeros(1).__reduce__()[0]
    scalar = np.float64(0).__reduce__()[0]
    return {reconstruct: ("numpy.core.multiarray", "_reconstruct"), scalar: ("numpy.core.multiarray", "scalar")}


def _numpy1_prefix(constructors: dict) -> tuple[bytes, dict]:
    """Opcodes that put each constructor, by its numpy 1.x name, in the unpickler's memo (entries
    0, 1, ...), and the pickler memo that makes the pickler refer to those entries."""
    prefix = bytearray(pickle.PROTO + bytes([4]))
    for module, name in constructors.values():
        for text in (module, name):
            prefix += pickle.SHORT_BINUNICODE + bytes([len(text)]) + text.encode("ascii")
        prefix += pickle.STACK_GLOBAL + pickle.MEMOIZE + pickle.POP
    return bytes(prefix), {id(obj): (index, obj) for index, obj in enumerate(constructors)}


_PREFIX, _MEMO = _numpy1_prefix(_numpy1_constructors())


def dumps(record: dict) -> bytes:
    """``record`` pickled (protocol 4) naming numpy's constructors as numpy 1.x does.

    The (C) pickler starts with numpy's constructors in its memo, so it refers to them by memo
    index; the prefix, ahead of its output, defines those entries under their numpy 1.x names."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=4)
    pickler.memo = dict(_MEMO)
    pickler.dump(record)
    data = buffer.getvalue()
    if data[:2] != pickle.PROTO + bytes([4]):
        raise RuntimeError("unexpected pickle header")
    return _PREFIX + memoryview(data)[2:]


def chip_pixels(path: Path, mapping) -> np.ndarray:
    """A chip as 0.1.7's pickles hold it: (height, width, bands), or (height, width) for one band, as
    its skimage read it; through ``mapping`` (a ``values.ValueMap`` or None), in the stored dtype."""
    pixels = read_chip(path)
    pixels = pixels[0] if pixels.shape[0] == 1 else np.ascontiguousarray(np.moveaxis(pixels, 0, -1))
    return stored(np.ascontiguousarray(apply_map(pixels, mapping)), mapping)


def read_chip(path: Path) -> np.ndarray:
    """Every band of a chip file, (bands, height, width), its native dtype: the one place this format
    reads a chip."""
    from geetiles.tiff import read_pixels

    return read_pixels(path)


def pickle_batch(spec, records: list[dict]) -> list[tuple[str, int, int, bytes]]:
    """One batch, in a worker: write each chip's pickle into ``data`` and return (identifier, crc32,
    size, deflated bytes) for the zip."""
    images, labels, image_map, label_map, data = spec
    out = []
    for base in records:
        identifier = base["chip_id"]
        record = {
            "chip": chip_pixels(images.path(identifier), image_map),
            "chip_id": identifier,
            "center_latlon": base["center_latlon"],
            "corners": base["corners"],
        }
        if labels is not None:
            label_path = labels.path(identifier)
            if label_path.exists():  # as 0.1.7: a chip without its label file is packaged without label
                record["label"] = chip_pixels(label_path, label_map)
                if base["label_proportions"] is not None:
                    record["label_proportions"] = base["label_proportions"]
        raw = dumps(record)
        child_path(data, identifier, ".pkl").write_bytes(raw)
        out.append((identifier, zlib.crc32(raw), len(raw), deflate(raw)))
    return out
