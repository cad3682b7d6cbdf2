"""The sample sheet: a few chips picked with a seed across the splits, each image (first three bands,
stretched per band between its 2nd and 98th percentiles) beside its label in the class colours."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from geetiles.names import child_path
from geetiles.report.inputs import ReportInputs

log = logging.getLogger(__name__)

SHEET = "samples.png"
MAX_TRIES = 20  # chips looked at per sample before a split is given up (missing files)


def pick_samples(identifiers: np.ndarray, split: np.ndarray | None, count: int, seed: int, exists) -> list[int]:
    """Up to ``count`` chip indices, stratified: the splits (train, val, test, others, gap last) take
    turns, each in a seeded random order, skipping chips for which ``exists(identifier)`` is false."""
    if count <= 0 or not len(identifiers):
        return []
    from geetiles.report.maps import SPLIT_ORDER

    rng = np.random.default_rng(seed)
    if split is None:
        groups = [np.arange(len(identifiers))]
    else:
        names = [s for s in SPLIT_ORDER if s != "gap" and (split == s).any()]
        names += sorted(set(split.tolist()) - set(SPLIT_ORDER))
        names += ["gap"] if (split == "gap").any() else []
        groups = [np.flatnonzero(split == name) for name in names]
    orders = [rng.permutation(g) for g in groups]
    positions = [0] * len(orders)
    picked: list[int] = []
    live = list(range(len(orders)))
    budget = max(count, 1) * MAX_TRIES
    while len(picked) < count and live and budget > 0:
        for g in list(live):
            if len(picked) >= count:
                break
            while positions[g] < len(orders[g]) and budget > 0:
                index = int(orders[g][positions[g]])
                positions[g] += 1
                budget -= 1
                if exists(str(identifiers[index])):
                    picked.append(index)
                    break
            else:
                live.remove(g)
    return picked


def display_rgb(pixels: np.ndarray, nodata: float | None) -> np.ndarray:
    """(H, W, 4) RGBA in [0, 1] of the first three bands (one band: grey), each stretched between its
    2nd and 98th percentiles of valid pixels; nodata and non-finite pixels transparent."""
    bands = pixels[:3].astype(np.float64)
    if len(bands) == 2:
        bands = bands[:1]
    valid = np.isfinite(bands).all(axis=0)
    if nodata is not None and np.isfinite(nodata):
        valid &= ~(pixels[: len(bands)] == nodata).all(axis=0)
    out = np.zeros((*bands.shape[1:], 4))
    for i, band in enumerate(bands):
        values = band[valid]
        low, high = np.percentile(values, [2, 98]) if len(values) else (0.0, 1.0)
        scaled = np.clip((band - low) / (high - low), 0, 1) if high > low else np.where(band > low, 1.0, 0.0)
        out[..., i] = np.nan_to_num(scaled)
    if len(bands) == 1:
        out[..., 1] = out[..., 2] = out[..., 0]
    out[..., 3] = valid
    return out


def display_label(pixels: np.ndarray, inputs: ReportInputs) -> tuple[np.ndarray, set[int]]:
    """(H, W, 4) RGBA of a label chip in the class colours, and the class indices present."""
    from matplotlib.colors import to_rgba_array

    labels = inputs.labels
    index = labels.table.class_index(pixels[0])
    colors = to_rgba_array(list(labels.colors))
    out = np.zeros((*index.shape, 4))
    inside = index >= 0
    out[inside] = colors[index[inside]]
    return out, set(np.unique(index[inside]).tolist())


def sample_sheet(inputs: ReportInputs, count: int, seed: int, path: Path) -> tuple[Path, list[tuple[str, str]]] | None:
    """The sheet PNG and the (identifier, split) of its chips; None without images (or chips to show).

    The chips are laid out in one mosaic array (each resampled to CELL pixels a side) drawn with a
    single ``imshow``, titles as text: one image whatever the number of chips."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    images, labels = inputs.images, inputs.labels
    if images is None:
        return None
    with_labels = labels is not None and labels.folder is not None and labels.table is not None
    chips = inputs.chips
    picked = pick_samples(
        chips.identifiers, chips.split, count, seed, lambda i: child_path(images.folder, i, ".tif").is_file()
    )
    if not picked:
        return None
    panels = 2 if with_labels else 1
    per_row = min(4 if with_labels else 6, len(picked))
    rows = -(-len(picked) // per_row)
    pair = panels * CELL + (panels - 1) * INNER
    width = per_row * pair + (per_row + 1) * GAP
    height = HEADER + rows * (TITLE + CELL + GAP)
    canvas = np.ones((height, width, 4))
    texts: list[tuple[float, float, str, str]] = []  # x, y, text, vertical alignment
    shown: list[tuple[str, str]] = []
    present: set[int] = set()
    for n, index in enumerate(picked):
        identifier = str(chips.identifiers[index])
        split = str(chips.split[index]) if chips.split is not None else ""
        row, col = divmod(n, per_row)
        x = GAP + col * (pair + GAP)
        y = HEADER + row * (TITLE + CELL + GAP) + TITLE
        texts.append((x + CELL / 2, y - 3, f"{identifier}\n{split}" if split else identifier, "bottom"))
        image_path = child_path(images.folder, identifier, ".tif")
        panels_rgba = [(x, _chip_rgba(image_path, lambda p: display_rgb(p, images.nodata)))]
        if with_labels:
            lx = x + CELL + INNER
            texts.append((lx + CELL / 2, y - 3, "label", "bottom"))
            label_path = child_path(labels.folder, identifier, ".tif")
            panels_rgba.append((lx, _chip_rgba(label_path, lambda p: display_label(p, inputs), present)))
        for px, rgba in panels_rgba:
            _paste(canvas, px, y, rgba)
            if isinstance(rgba, str):
                texts.append((px + CELL / 2, y + CELL / 2, rgba, "center"))
        shown.append((identifier, split))
    dpi = 100
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(canvas, extent=(0, width, height, 0), interpolation="nearest")
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    for tx, ty, text, va in texts:
        ax.text(tx, ty, text, ha="center", va=va, fontsize=7, linespacing=1.1)
    title = f"{len(picked)} sample chips of {images.name}" + (f" with {labels.name} labels" if with_labels else "")
    ax.text(width / 2, HEADER / 2, title, ha="center", va="center", fontsize=10)
    if with_labels and present:
        handles = [
            Patch(facecolor=labels.colors[i], edgecolor="#555555", linewidth=0.4, label=labels.names[i])
            for i in sorted(present)
        ]
        fig.legend(
            handles=handles,
            loc="upper center",
            ncol=min(len(handles), 5),
            fontsize=8,
            frameon=False,
            bbox_to_anchor=(0.5, 0.0),
        )
    fig.savefig(path, dpi=dpi, bbox_inches="tight", facecolor="white", metadata={"Software": None})
    return path, shown


CELL, INNER, GAP, TITLE, HEADER = 112, 4, 14, 30, 30  # pixels of the sheet


def _chip_rgba(path: Path, to_rgba, present: set | None = None) -> np.ndarray | str:
    """The display RGBA of a chip file, or why there is none (shown in its place)."""
    from geetiles.tiff import read_pixels

    if not path.is_file():
        return "no file"
    try:
        pixels = read_pixels(path)
        result = to_rgba(pixels)
    except Exception as error:  # a damaged chip: say so on the sheet
        log.warning("report: cannot read %s (%s)", path, error)
        return "unreadable"
    if isinstance(result, tuple):
        result, classes = result
        if present is not None:
            present |= classes
    return result


def _paste(canvas: np.ndarray, x: int, y: int, rgba) -> None:
    """Put a chip (resampled to CELL x CELL, nearest) at (x, y) of the canvas, framed; a text instead
    of a chip is written in the frame."""
    frame = (0.6, 0.6, 0.6, 1.0)
    canvas[y - 1 : y + CELL + 1, x - 1 : x + CELL + 1] = frame
    canvas[y : y + CELL, x : x + CELL] = (0.94, 0.94, 0.94, 1.0)
    if isinstance(rgba, str):
        canvas[y : y + CELL, x : x + CELL] = (1.0, 0.92, 0.92, 1.0)
        return
    h, w = rgba.shape[:2]
    rows = (np.arange(CELL) * h // CELL).clip(0, h - 1)
    cols = (np.arange(CELL) * w // CELL).clip(0, w - 1)
    tile = rgba[rows][:, cols]
    alpha = tile[..., 3:4]
    canvas[y : y + CELL, x : x + CELL, :3] = tile[..., :3] * alpha + canvas[y : y + CELL, x : x + CELL, :3] * (
        1 - alpha
    )
