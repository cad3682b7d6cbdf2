"""Each chip's pickle without its arrays: identifier, centre, corners and label proportions, in 0.1.7's
keys and Python types."""

from __future__ import annotations

import numpy as np

from geetiles.export.inputs import ExportInput


def plain(value):
    """A tiles-file value as 0.1.7's pickles hold it: Python types, not numpy scalars."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def missing(value) -> bool:
    """None or NaN: a tiles-file cell without a value."""
    return value is None or (isinstance(value, float) and value != value)


def chip_records(inp: ExportInput, foreign: str | None) -> list[dict]:
    """Per chip (in the frame's order), the pickle's dict without its arrays."""
    import shapely

    frame = inp.frame
    bounds = shapely.bounds(np.asarray(frame.geometry.values, dtype=object))
    columns = set(frame.columns)
    labels = inp.labels.name if inp.labels is not None else None
    here = f"{labels}_proportions" if labels else None
    there = f"{labels}_proportions_at_{foreign}" if labels and foreign else None
    foreign_id = f"foreignid_{foreign}" if foreign else None
    values = {c: frame[c].tolist() for c in (here, there, foreign_id) if c and c in columns}
    records = []
    for row, identifier in enumerate(inp.identifiers.tolist()):
        west, south, east, north = bounds[row].tolist()
        proportions = {}
        if here in values and not missing(values[here][row]):
            proportions["partitions_aschip"] = plain(values[here][row])
        if foreign_id in values:
            if there in values and not missing(values[there][row]):
                proportions[f"partitions_{foreign}"] = plain(values[there][row])
            proportions[f"foreignid_{foreign}"] = plain(values[foreign_id][row])
        records.append(
            {
                "chip_id": str(identifier),
                "center_latlon": np.array([(south + north) / 2, (west + east) / 2]),
                "corners": {"nw": np.array([north, west]), "se": np.array([south, east])},
                "label_proportions": proportions or None,
            }
        )
    return records
