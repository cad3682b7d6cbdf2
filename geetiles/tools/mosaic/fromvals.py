"""``geet mosaic.fromvals``: one column of a tiles file painted chip by chip into a GeoTIFF (a COG in
EPSG:4326), a strip of rows at a time."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geetiles.atomic import atomic_path
from geetiles.errors import UserInputError
from geetiles.tools.mosaic.grid import Grid, cells, degrees_per_meter
from geetiles.tools.mosaic.options import BLOCK, COG_OPTIONS, MAX_PIXELS, check_meters_per_pixel, number_text

ORIGINAL_COLUMN = "value"  # geetiles 0.1.7 always painted the column named "value"
CATEGORY_COLOURS = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
]  # matplotlib's tab10
STRIP_ROWS = 2048


def default_column(columns: Sequence[str]) -> str:
    """The original's column (``value``) when the file has it, else ``split``, else ``area_km2``."""
    for name in (ORIGINAL_COLUMN, "split", "area_km2"):
        if name in columns:
            return name
    raise UserInputError(
        f"the tiles file has none of the columns value, split, area_km2; choose one with --column "
        f"({', '.join(columns)})"
    )


@dataclass
class FromValsSummary:
    dest_file: Path
    column: str
    chips: int
    painted: int
    kind: str  # "numeric" or "categorical"
    categories: dict[int, str]
    width: int
    height: int
    pixel_size: tuple[float, float]
    dtype: str
    nodata: float
    seconds: float

    def line(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in list(self.categories.items())[:8])
        what = (
            f"{len(self.categories)} categories ({shown}{', …' if len(self.categories) > 8 else ''})"
            if self.kind == "categorical"
            else "numeric values"
        )
        return (
            f"mosaic.fromvals: column {self.column!r} of {self.painted} chips ({what}) → {self.dest_file}: "
            f"{self.width} x {self.height} px {self.dtype}, EPSG:4326, pixels {self.pixel_size[0]:.3g}° x "
            f"{self.pixel_size[1]:.3g}°, nodata {number_text(self.nodata)}, in {self.seconds:.1f} s"
        )


def paint_values(
    tiles_file: str | os.PathLike[str],
    dest_file: str | os.PathLike[str],
    meters_per_pixel: float,
    column: str | None = None,
) -> FromValsSummary:
    """Paint one column of a tiles file, chip by chip, into a GeoTIFF (a COG, EPSG:4326, atomically).

    Numbers (and booleans, as 0/1) give float32 with NaN as nodata. Anything else (strings such as
    the split, categories) gives integer codes 1..K in the sorted order of the values, 0 as nodata,
    with the code table as tags (``categories``: JSON code → value) and a colour table. Missing
    values are nodata. Where chips overlap, the later row wins."""
    import pandas as pd
    import rasterio
    import rasterio.shutil

    from geetiles.tiles import is_json_column, load_tiles

    began = time.monotonic()
    meters_per_pixel = check_meters_per_pixel(meters_per_pixel)
    dest = Path(dest_file)
    if dest.suffix.lower() not in (".tif", ".tiff"):
        raise UserInputError(f"--dest_file {str(dest)!r}: the raster is a GeoTIFF, name it *.tif")
    tiles = load_tiles(tiles_file)
    columns = [str(c) for c in tiles.columns if c != tiles.geometry.name]
    name = column or default_column(columns)
    if name not in columns:
        raise UserInputError(f"the tiles file has no column {name!r}; its columns are: {', '.join(columns)}")
    if is_json_column(name) or tiles[name].map(lambda v: isinstance(v, (dict, list))).any():
        raise UserInputError(
            f"column {name!r} holds a JSON object per chip (e.g. label proportions), not one value; "
            f"choose a column of numbers or labels: {', '.join(columns)}"
        )
    if tiles.crs is not None and not tiles.crs.equals("EPSG:4326") and not tiles.crs.equals("OGC:CRS84"):
        tiles = tiles.to_crs("EPSG:4326")
    tiles = tiles[~(tiles.geometry.isna() | tiles.geometry.is_empty)]
    if not len(tiles):
        raise UserInputError(f"the tiles file {tiles_file} has no chips")
    series = tiles[name]
    categories: dict[int, str] = {}
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        kind, dtype, nodata = "numeric", "float32", float("nan")
        values = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()
    else:
        kind, nodata = "categorical", 0.0
        present = series.notna()
        labels = sorted({str(v) for v in series[present]})
        codes = {label: i for i, label in enumerate(labels, start=1)}
        categories = {i: label for label, i in codes.items()}
        dtype = "uint8" if len(labels) < 256 else "uint16" if len(labels) < 65536 else "uint32"
        values = np.array([codes[str(v)] if ok else 0 for v, ok in zip(series, present)], dtype="float64")
    west, south, east, north = tiles.total_bounds
    deg_x, deg_y = degrees_per_meter((south + north) / 2)
    dx, dy = meters_per_pixel * deg_x, meters_per_pixel * deg_y
    grid = Grid("EPSG:4326", west, north, dx, dy, cells(east - west, dx), cells(north - south, dy))
    if grid.width * grid.height > MAX_PIXELS:
        raise UserInputError(
            f"the raster would be {grid.width} x {grid.height} pixels at {meters_per_pixel:g} m a "
            "pixel; choose a larger --meters_per_pixel"
        )
    keep = ~np.isnan(values) & (values != 0 if kind == "categorical" else True)
    geometries = np.asarray(tiles.geometry.array)[keep]
    values = values[keep]
    with tempfile.TemporaryDirectory(prefix="geet-fromvals-", dir=dest.parent if dest.parent.is_dir() else None) as tmp:
        plain = Path(tmp) / "values.tif"
        _rasterise(plain, grid, geometries, values, dtype, nodata, name, categories)
        with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"), atomic_path(dest) as part:
            rasterio.shutil.copy(str(plain), str(part), driver="COG", **{**COG_OPTIONS, "PREDICTOR": "NO"})
    return FromValsSummary(
        dest,
        name,
        len(tiles),
        int(keep.sum()),
        kind,
        categories,
        grid.width,
        grid.height,
        (dx, dy),
        dtype,
        nodata,
        time.monotonic() - began,
    )


def _rasterise(
    path: Path,
    grid: Grid,
    geometries,
    values: np.ndarray,
    dtype: str,
    nodata: float,
    name: str,
    categories: dict[int, str],
) -> None:
    """Burn each chip's value over the pixels whose centre it covers, a strip of rows at a time (memory
    stays a strip, whatever the raster's size), into a tiled GeoTIFF."""
    import json

    import rasterio
    import shapely
    from affine import Affine
    from rasterio.features import rasterize

    bounds = shapely.bounds(geometries) if len(geometries) else np.zeros((0, 4))
    profile = dict(
        driver="GTiff",
        width=grid.width,
        height=grid.height,
        count=1,
        dtype=dtype,
        crs="EPSG:4326",
        transform=grid.transform,
        nodata=nodata,
        tiled=True,
        blockxsize=BLOCK,
        blockysize=BLOCK,
        compress="deflate",
        zlevel=1,
        bigtiff="IF_SAFER",
    )
    with rasterio.open(path, "w", **profile) as out:
        for row0 in range(0, grid.height, STRIP_ROWS):
            rows = min(STRIP_ROWS, grid.height - row0)
            top, bottom = grid.y1 - row0 * grid.dy, grid.y1 - (row0 + rows) * grid.dy
            inside = np.flatnonzero((bounds[:, 1] <= top) & (bounds[:, 3] >= bottom)) if len(bounds) else []
            transform = Affine(grid.dx, 0.0, grid.x0, 0.0, -grid.dy, top)
            strip = np.full((rows, grid.width), nodata, dtype=dtype)
            if len(inside):
                rasterize(
                    zip(geometries[inside], values[inside]),
                    out_shape=(rows, grid.width),
                    transform=transform,
                    out=strip,
                    all_touched=False,
                    dtype=dtype,
                )
            out.write(strip, 1, window=((row0, row0 + rows), (0, grid.width)))
        out.set_band_description(1, name)
        tags = {"column": name, "kind": "categorical" if categories else "numeric"}
        if categories:
            tags["categories"] = json.dumps({str(k): v for k, v in categories.items()}, ensure_ascii=False)
        out.update_tags(**tags)
        if categories and dtype in ("uint8", "uint16"):  # GeoTIFF colour tables: 8- and 16-bit bands only
            colours = {0: (0, 0, 0, 0)}
            for code in categories:
                colours[code] = (*CATEGORY_COLOURS[(code - 1) % len(CATEGORY_COLOURS)], 255)
            out.write_colormap(1, colours)
