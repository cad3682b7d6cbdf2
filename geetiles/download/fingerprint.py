"""Fingerprints of what was asked for a chip, so a rerun skips only chips made by the same request."""

from __future__ import annotations

import hashlib
import struct

import numpy as np

from geetiles.fetching.grid import PixelGrid


def grid_fingerprint(grid: PixelGrid) -> str:
    """CRS, affine transform and size of a chip's pixel grid, as 16 hex digits."""
    packed = struct.pack("<6d2q", *grid.transform, grid.width, grid.height)
    return hashlib.blake2b(grid.crs.encode() + packed, digest_size=8).hexdigest()


def grid_fingerprints(grids) -> np.ndarray:
    """``grid_fingerprint`` of every grid of a GridTable, packed by numpy in one go (a million in
    about a second), without making PixelGrids."""
    rows = np.empty(len(grids), dtype=[("t", "<f8", 6), ("w", "<i8"), ("h", "<i8")])
    rows["t"], rows["w"], rows["h"] = grids.transforms, grids.width, grids.height
    packed = rows.tobytes()
    size = rows.dtype.itemsize
    prefixes = [name.encode() for name in grids.crs_names]
    index = grids.crs_index.tolist()
    blake2b = hashlib.blake2b
    return np.array(
        [
            blake2b(prefixes[index[i]] + packed[i * size : (i + 1) * size], digest_size=8).hexdigest()
            for i in range(len(grids))
        ],
        dtype=object,
    )


IGNORED = ("name",)  # the folder's name: another name is another folder, not another request


def request_settings(source_config, source, dtype, band_names: list[str], nodata) -> dict:
    """Everything that decides a chip's pixels except its grid: the source's config (recipe, dataset,
    pixel size, nodata, resampling), what the source reports (serialised image, file digests), and
    the band layout learned from the probe. Flat ``a.b`` keys, so a change reads as one line."""
    from omegaconf import OmegaConf

    try:
        config = OmegaConf.to_container(source_config, resolve=True, enum_to_str=True)
    except ValueError:  # a plain dataclass (tests)
        import dataclasses

        config = dataclasses.asdict(source_config)
    settings = {k: _plain(v) for k, v in _flatten(config).items() if k.split(".")[0] not in IGNORED}
    settings.update(_flatten(source.describe()))
    settings.update(
        {
            "dtype": str(np.dtype(dtype)),
            "bands": list(band_names),
            "nodata_value": None if nodata is None or nodata != nodata else nodata,
        }
    )
    return settings


def request_fingerprint(settings: dict) -> str:
    import json

    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def describe_change(old: dict | None, new: dict, limit: int = 3) -> str:
    """``pixels_lonlat [100, 100] → [50, 50]``: the settings that differ, the first few of them."""
    if old is None:
        return "settings not recorded (the run record was removed or predates fingerprints)"
    keys = sorted(set(old) | set(new), key=lambda k: (k.endswith("sha256"), k))
    changed = [f"{k} {_short(old.get(k))} → {_short(new.get(k))}" for k in keys if old.get(k) != new.get(k)]
    if not changed:
        return "pixel grid changed"
    return ", ".join(changed[:limit]) + (f" (+{len(changed) - limit} more)" if len(changed) > limit else "")


def _plain(value):
    """YAML- and JSON-safe: enums by value, lists element-wise."""
    import json
    from enum import Enum

    return json.loads(json.dumps(value, default=lambda o: o.value if isinstance(o, Enum) else str(o)))


def _short(value) -> str:
    text = str(value)
    return text[:12] if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else text[:60]


def _flatten(value: dict, prefix: str = "") -> dict:
    out = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict) and item:
            out.update(_flatten(item, name + "."))
        else:
            out[name] = item
    return out
