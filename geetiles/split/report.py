"""The split report (``{tiles base}_splits_report.json``): what the split achieved and how far apart
its parts are, so leakage is a measured number, not a hope."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from geetiles.config import SplitKind

ORDER = ("train", "val", "test", "gap")


def split_report(chips, geometry_m: np.ndarray | None, split) -> dict:
    """Achieved fractions (count, area), distances from val/test chips to the nearest train chip,
    label-class shares per split where label proportions exist, and warnings."""
    from geetiles.split.codes import NAMES
    from geetiles.split.gap import leakage_distances
    from geetiles.split.metric import local_metric

    labels = chips["split"].astype(str).to_numpy()
    if geometry_m is None:
        geometry = np.asarray(chips.geometry.values)
        geometry_m = local_metric(geometry)(geometry)
    import shapely

    area = shapely.area(geometry_m)
    present = [name for name in ORDER if (labels == name).any() or name != "gap"]
    report = {
        "strategy": split.kind.value,
        "chips": int(len(labels)),
        "requested_fractions": dict(zip(("train", "val", "test"), (float(f) for f in split.fractions))),
        "by": split.by.value,
        "counts": {name: int((labels == name).sum()) for name in present},
        "fractions_by_count": {name: float((labels == name).mean()) for name in present},
        "fractions_by_area": {
            name: float(area[labels == name].sum() / area.sum()) if area.sum() else 0.0 for name in present
        },
        "buffer_m": float(split.buffer_m),
    }
    codes = np.full(len(labels), -1, dtype=np.int8)
    for code, name in enumerate(NAMES):
        codes[labels == name] = code
    report["leakage"] = leakage_distances(geometry_m, codes, split.buffer_m)
    columns = [c for c in chips.columns if c != "split" and c.startswith("split_")]
    if columns:
        report["other_split_columns"] = {c: {k: int(v) for k, v in chips[c].value_counts().items()} for c in columns}
    report["class_shares"] = _class_shares(chips, labels)
    report["warnings"] = _warnings(report, split)
    return report


def _class_shares(chips, labels: np.ndarray) -> dict:
    """For each ``{dataset}_proportions`` column: the mean share of each class in each split."""
    out = {}
    for column in (c for c in chips.columns if c.endswith("_proportions")):
        classes, table = _share_table(chips, column)
        out[column] = {
            name: dict(zip(classes, table[labels == name].mean(axis=0).round(6).tolist()))
            for name in ("train", "val", "test")
            if (labels == name).any()
        }
    return out


def _share_table(chips, column: str) -> tuple[list[str], np.ndarray]:
    """The classes present in ``column`` (sorted by length, then name) and each chip's share of each,
    0 where absent or unreadable. Read from the proportions stage's wide ``{dataset}_class_{key}``
    columns where the frame has them (as the report does), else from the JSON objects: the same numbers,
    without a Python loop over a million dictionaries."""
    prefix = column[: -len("_proportions")] + "_class_"
    wide = [c for c in chips.columns if c.startswith(prefix)]
    if wide:
        values = np.nan_to_num(chips[wide].to_numpy(dtype=np.float64), nan=0.0)
        present = {c[len(prefix) :]: index for index, c in enumerate(wide) if (values[:, index] > 0).any()}
        classes = sorted(present, key=lambda k: (len(k), k))
        return classes, np.ascontiguousarray(values[:, [present[k] for k in classes]])
    objects = [v if isinstance(v, dict) else json.loads(v) if isinstance(v, str) and v else {} for v in chips[column]]
    classes = sorted({k for v in objects for k in v}, key=lambda k: (len(k), k))
    if not classes:
        return classes, np.zeros((len(objects), 0))
    return classes, np.asarray([[float(v.get(k, 0.0)) for k in classes] for v in objects])


def _warnings(report: dict, split) -> list[str]:
    warnings = []
    for name in ("train", "val", "test"):
        if report["counts"].get(name, 0) == 0 and report["requested_fractions"][name] > 0:
            warnings.append(f"the {name} split is empty (asked for {report['requested_fractions'][name]:.0%})")
    if split.kind is SplitKind.random:
        warnings.append(
            "split=random puts neighbouring chips in different splits: it leaks, and accuracy measured "
            "on it is overstated; use bands, blocks or groups, with split.buffer_m"
        )
    for column, shares in report["class_shares"].items():
        train = shares.get("train", {})
        for other in ("val", "test"):
            missing = [k for k, v in shares.get(other, {}).items() if v > 0 and train.get(k, 0) == 0]
            if missing:
                warnings.append(f"{column}: classes {', '.join(missing)} occur in {other} but not in train")
    return warnings


def write_report(report: dict, tiles_path: Path) -> Path:
    from geetiles.atomic import write_text
    from geetiles.layout import splits_report

    path = splits_report(tiles_path)
    write_text(path, json.dumps(report, indent=2) + "\n")
    return path
