"""Drawing chips on a lon/lat map with matplotlib (Agg, no pyplot, no network): as polygons while there
are few, as a raster of chip centres above ``max_polygons``, so a million chips draw in about a second.

Polygons go into one ``PolyCollection`` built from the coordinates in bulk (never a patch per chip);
the raster gives each cell the colour of the chips whose centres fall in it (the most frequent, or the
one of highest priority, e.g. failed chips over done ones)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_CELLS = 1000  # raster cells per side: about the pixels of a map
MAP_WIDTH_IN = 8.0
DPI = 120
CHIP_FILL = "#9ecae1"
CHIP_EDGE = "#3182bd"
OUTLINE = "#222222"


@dataclass
class Drawn:
    """How the chips were drawn: ``polygons`` or ``raster``, and how many."""

    mode: str
    chips: int


def new_map(extent: tuple[float, float, float, float], title: str):
    """A figure with lon/lat axes over ``extent`` (min lon, min lat, max lon, max lat), aspect true at
    its mid latitude."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    minx, miny, maxx, maxy = padded(extent)
    aspect = lonlat_aspect(miny, maxy)
    ratio = (maxy - miny) * aspect / (maxx - minx)
    height = float(np.clip(MAP_WIDTH_IN * ratio, 2.5, 11.0))
    fig = Figure(figsize=(MAP_WIDTH_IN + 2.2, height + 0.9), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect(aspect, adjustable="box")
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    ax.set_title(title, fontsize=11)
    ax.tick_params(labelsize=8)
    ax.grid(True, color="#dddddd", linewidth=0.5, zorder=0)
    ax.set_axisbelow(True)
    return fig, ax


def lonlat_aspect(miny: float, maxy: float) -> float:
    """Degrees of latitude per degree of longitude on screen: 1 / cos(mid latitude)."""
    mid = math.radians(max(-85.0, min(85.0, (miny + maxy) / 2)))
    return 1.0 / math.cos(mid)


def padded(extent: tuple[float, float, float, float], share: float = 0.03) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = extent
    pad = max(maxx - minx, maxy - miny) * share or 0.001
    return minx - pad, miny - pad, maxx + pad, maxy + pad


def save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, bbox_inches="tight", facecolor="white", metadata={"Software": None})
    return path


def legend(ax, entries: list[tuple], title: str | None = None) -> None:
    """A legend outside the axes, right: (label, colour) pairs, or (label, colour, "line") for outlines."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if not entries:
        return
    handles = [
        Line2D([], [], color=e[1], label=e[0], linewidth=1.5)
        if e[2:] == ("line",)
        else Patch(facecolor=e[1], edgecolor="#555555", linewidth=0.4, label=e[0])
        for e in entries
    ]
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize=8,
        title=title,
        title_fontsize=8,
        frameon=False,
    )


def draw_chips(
    ax,
    bounds: np.ndarray,
    codes: np.ndarray,
    colors: list[str],
    geometry: np.ndarray | None = None,
    max_polygons: int = 20000,
    priority: list[float] | None = None,
    edge: str | None = "auto",
    zorder: float = 2,
) -> Drawn:
    """Draw chips coloured by ``codes`` (an index into ``colors`` per chip; -1: not drawn).

    With ``geometry`` (shapely polygons aligned with ``bounds``) and at most ``max_polygons`` chips to
    draw: one PolyCollection. Otherwise a raster of the chips' centres, one cell about a chip wide
    (at most MAX_CELLS per side), each cell coloured by its most frequent code, or by the code of
    highest ``priority`` among its chips."""
    codes = np.asarray(codes, dtype=np.int64)
    shown = codes >= 0
    count = int(shown.sum())
    if not count:
        return Drawn("none", 0)
    if geometry is not None and count <= max_polygons:
        _polygons(ax, geometry[shown], codes[shown], colors, edge, zorder, count)
        return Drawn("polygons", count)
    raster_chips(ax, bounds[shown], codes[shown], colors, priority, zorder)
    return Drawn("raster", count)


def _polygons(
    ax, geometry: np.ndarray, codes: np.ndarray, colors: list[str], edge: str | None, zorder: float, count: int
) -> None:
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import to_rgba_array

    vertices, owner = exterior_vertices(geometry)
    faces = to_rgba_array(colors)[codes[owner]]
    width = 0.0 if edge is None else (0.4 if count <= 2000 else 0.15 if count <= 8000 else 0.0)
    edgecolor = "white" if edge == "auto" else (edge or "none")
    ax.add_collection(
        PolyCollection(
            vertices, facecolors=faces, edgecolors=edgecolor, linewidths=width, zorder=zorder, antialiased=count <= 8000
        )
    )


def exterior_vertices(geometry: np.ndarray):
    """(vertices, owner): the exterior ring of every polygon part, as one (parts, k, 2) array when all
    rings have k points (grid chips), else a list of arrays; ``owner`` maps parts to geometries."""
    import shapely

    parts, owner = shapely.get_parts(geometry, return_index=True)
    rings = shapely.get_exterior_ring(parts)
    sizes = shapely.get_num_coordinates(rings)
    coords = shapely.get_coordinates(rings)
    if len(sizes) and (sizes == sizes[0]).all():
        return coords.reshape(len(rings), int(sizes[0]), 2), owner
    return np.split(coords, np.cumsum(sizes)[:-1]), owner


def raster_chips(
    ax, bounds: np.ndarray, codes: np.ndarray, colors: list[str], priority: list[float] | None = None, zorder: float = 2
) -> tuple[int, int]:
    """The aggregated drawing: an RGBA image of chip centres (``imshow``); returns its (rows, columns)."""
    from matplotlib.colors import to_rgba_array

    image, extent = centre_raster(bounds, codes, to_rgba_array(colors), priority)
    ax.imshow(
        image,
        extent=extent,
        origin="lower",
        interpolation="nearest",
        aspect=ax.get_aspect(),
        zorder=zorder,
        resample=False,
    )
    return image.shape[:2]


def centre_raster(
    bounds: np.ndarray,
    codes: np.ndarray,
    rgba: np.ndarray,
    priority: list[float] | None = None,
    max_cells: int = MAX_CELLS,
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """(image (rows, columns, 4) float32, extent) of the chips' centres: each cell takes the colour of
    its chips' most frequent code, ties and ``priority`` going to the higher priority."""
    cx = (bounds[:, 0] + bounds[:, 2]) / 2
    cy = (bounds[:, 1] + bounds[:, 3]) / 2
    minx, maxx = float(bounds[:, 0].min()), float(bounds[:, 2].max())
    miny, maxy = float(bounds[:, 1].min()), float(bounds[:, 3].max())
    width = max(float(np.median(bounds[:, 2] - bounds[:, 0])), (maxx - minx) / max_cells, 1e-12)
    height = max(float(np.median(bounds[:, 3] - bounds[:, 1])), (maxy - miny) / max_cells, 1e-12)
    # cells at least a chip wide (floor): a dense grid of chips leaves no empty cell between its centres
    nx = max(1, min(max_cells, int(math.floor((maxx - minx) / width + 1e-6))))
    ny = max(1, min(max_cells, int(math.floor((maxy - miny) / height + 1e-6))))
    width, height = (maxx - minx) / nx or width, (maxy - miny) / ny or height
    ix = np.clip(((cx - minx) / width).astype(np.int64), 0, nx - 1)
    iy = np.clip(((cy - miny) / height).astype(np.int64), 0, ny - 1)
    ncodes = len(rgba)
    key = (iy * nx + ix) * ncodes + codes
    unique, counts = np.unique(key, return_counts=True)
    cell, code = unique // ncodes, unique % ncodes
    rank = np.asarray(priority if priority is not None else np.zeros(ncodes), dtype=np.float64)[code]
    order = np.lexsort((-counts, -rank, cell))  # per cell: highest priority, then most chips
    cell, code = cell[order], code[order]
    first = np.ones(len(cell), dtype=bool)
    first[1:] = cell[1:] != cell[:-1]
    image = np.zeros((ny * nx, 4), dtype=np.float32)
    image[cell[first]] = rgba[code[first]]
    return image.reshape(ny, nx, 4), (minx, minx + nx * width, miny, miny + ny * height)


def draw_outlines(ax, geometry: np.ndarray, color: str = OUTLINE, width: float = 1.0, zorder: float = 4) -> int:
    """Every ring of (multi)polygons as one LineCollection; returns the number of lines."""
    import shapely
    from matplotlib.collections import LineCollection

    lines = shapely.get_parts(shapely.boundary(shapely.get_parts(geometry)))
    lines = lines[~shapely.is_empty(lines)]
    if not len(lines):
        return 0
    sizes = shapely.get_num_coordinates(lines)
    coords = shapely.get_coordinates(lines)
    segments = (
        np.split(coords, np.cumsum(sizes)[:-1])
        if not (sizes == sizes[0]).all()
        else coords.reshape(len(lines), int(sizes[0]), 2)
    )
    ax.add_collection(LineCollection(segments, colors=color, linewidths=width, zorder=zorder))
    return len(lines)
