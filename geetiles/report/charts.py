"""The class distribution per split: the mean share of each label class over the chips of each split
(as the split report computes it), as numbers and as a stacked bar chart."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geetiles.report.inputs import ReportInputs


def class_distribution(inputs: ReportInputs) -> dict[str, dict[str, float]] | None:
    """split → class key → mean share over that split's chips with proportions ("all" without a split)."""
    chips = inputs.chips
    if inputs.labels is None or chips.shares is None or not len(chips.keys):
        return None
    from geetiles.report.maps import split_codes

    split = chips.split if chips.split is not None else np.full(len(chips), "all", dtype=object)
    codes, names, _ = split_codes(split)
    valid = ~np.isnan(chips.shares).all(axis=1)
    out = {}
    for code, name in enumerate(names):
        rows = (codes == code) & valid
        if rows.any():
            means = np.nan_to_num(chips.shares[rows], nan=0.0).mean(axis=0, dtype=np.float64)
            out[name] = {k: float(v) for k, v in zip(chips.keys, means)}
    return out or None


def class_chart(inputs: ReportInputs, distribution: dict[str, dict[str, float]], path: Path) -> Path:
    """One horizontal bar per split, stacked by class, in the class colours."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    splits = list(distribution)
    keys = [k for k in inputs.chips.keys if any(distribution[s].get(k, 0) > 0 for s in splits)]
    fig = Figure(figsize=(9.5, 0.55 * len(splits) + 1.6), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    left = np.zeros(len(splits))
    y = np.arange(len(splits))[::-1]
    for key in keys:
        name, color = inputs.labels.describe(key)
        widths = np.array([distribution[s].get(key, 0.0) for s in splits])
        ax.barh(y, widths, left=left, color=color, edgecolor="white", linewidth=0.5, label=name, height=0.7)
        left += widths
    ax.set_yticks(y, [f"{s} ({_count(inputs, s):,})" for s in splits], fontsize=9)
    ax.set_xlim(0, 1)
    ax.set_xlabel("mean class share of the chips", fontsize=9)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title(f"Class distribution per split ({inputs.labels.name})", fontsize=11)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    fig.savefig(path, bbox_inches="tight", facecolor="white", metadata={"Software": None})
    return path


def _count(inputs: ReportInputs, split: str) -> int:
    chips = inputs.chips
    if chips.split is None:
        return len(chips)
    return int((chips.split == split).sum())
