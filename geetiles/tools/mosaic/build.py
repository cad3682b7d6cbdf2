"""``geet mosaic``: one Cloud-Optimised GeoTIFF of a chip folder.

How it is built, and why:

* Chip headers come from ``geetiles.tiff.read_header`` (its fast path reads a chip's first bytes;
  GDAL opens the others). A chip neither can read stops the run with one line pointing at
  ``geet cleanup``.
* Chips already in the mosaic's CRS are pasted into the mosaic a strip of rows at a time (at most
  ~256 MB in memory, whatever the mosaic's size), as ``rasterio.merge`` does but with the chips
  decoded by ``geetiles.tiff`` (``paint.py``) rather than read through a GDAL VRT of every chip.
  Chips are painted in file-name order; where chips overlap, the later one's data wins.
  ``bench/mosaic.py`` times the whole command.
* Chips in another CRS go through one warped VRT per CRS (``warp.py``). These are painted first, so
  chips already in the mosaic's CRS win where they overlap.
* The painted strips go to a temporary tiled GeoTIFF beside the output, which GDAL's COG driver
  copies into the output (Deflate level 6 with the predictor, 512-pixel tiles, nearest-neighbour
  overviews, BigTIFF when needed), renamed into place only when complete.

The mosaic's CRS and grid: ``grid.py``. Nodata: the chips' common nodata value; chips without one (or
with different ones) give 0 for integer types and NaN for floats. Areas without chips are nodata, and
so are chips' own nodata pixels where no other chip has data.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geetiles.atomic import atomic_path
from geetiles.errors import UserInputError
from geetiles.tiff import TiffHeader, UnreadableChip
from geetiles.tools.mosaic.chips import band_names, chip_paths, crs_name, output_nodata, read_headers
from geetiles.tools.mosaic.grid import Grid, choose_grid
from geetiles.tools.mosaic.options import (
    BLOCK,
    COG_OPTIONS,
    GDAL_ENV,
    GDAL_TYPES,
    MAX_PIXELS,
    check_meters_per_pixel,
    number_text,
)
from geetiles.tools.mosaic.paint import chip_pixels, paste_chip, strip_rows
from geetiles.tools.mosaic.warp import WarpedGroup


@dataclass
class MosaicSummary:
    dest_file: Path
    chips: int
    crs: str
    why: str
    width: int
    height: int
    pixel_size: tuple[float, float]
    bands: int
    dtype: str
    nodata: float
    bounds: tuple[float, float, float, float]
    seconds: float
    crss: list[str] = field(default_factory=list)

    def line(self) -> str:
        unit = "°" if self.crs == "EPSG:4326" else ""
        size = f"{self.pixel_size[0]:.3g}{unit} x {self.pixel_size[1]:.3g}{unit}"
        return (
            f"mosaic: {self.chips} chips → {self.dest_file}: {self.width} x {self.height} px, "
            f"{self.bands} band(s) {self.dtype}, {crs_name(self.crs)} ({self.why}), pixels {size}, "
            f"nodata {number_text(self.nodata)}, in {self.seconds:.1f} s"
        )


def build_mosaic(
    basedir: str | os.PathLike[str],
    dest_file: str | os.PathLike[str],
    meters_per_pixel: float,
    channels: Sequence[int] | None = None,
) -> MosaicSummary:
    """Write the mosaic of every chip in ``basedir`` to ``dest_file`` (a COG, atomically)."""
    import rasterio
    import rasterio.shutil

    began = time.monotonic()
    meters_per_pixel = check_meters_per_pixel(meters_per_pixel)
    folder, dest = Path(basedir), Path(dest_file)
    if not folder.is_dir():
        raise UserInputError(
            f"--basedir {str(folder)!r} is not a folder; give a chip folder, e.g. {{tiles base}}/{{dataset}}"
        )
    if dest.suffix.lower() not in (".tif", ".tiff"):
        raise UserInputError(f"--dest_file {str(dest)!r}: the mosaic is a GeoTIFF, name it *.tif")
    if dest.is_dir():
        raise UserInputError(f"--dest_file {str(dest)!r} is a folder; give a file name such as mosaic.tif")
    paths = chip_paths(folder, exclude=[dest])
    if not paths:
        raise UserInputError(f"no chips (*.tif) in {folder}")
    headers = read_headers(paths, folder)
    counts = sorted({h.count for h in headers})
    if channels is None:
        if len(counts) > 1:
            raise UserInputError(
                f"the chips have different numbers of bands ({', '.join(map(str, counts))}); "
                "choose the bands with --channels, e.g. --channels 0,1,2"
            )
        channels = list(range(counts[0]))
    else:
        channels = list(channels)
        bad = [c for c in channels if c >= counts[0]]
        if bad:
            raise UserInputError(
                f"--channels {','.join(map(str, channels))}: band {bad[0]} does not exist; the chips "
                f"have {counts[0]} band(s), numbered 0 to {counts[0] - 1}"
            )
    dtype = np.result_type(*sorted({h.dtype for h in headers})).name
    if dtype not in GDAL_TYPES:
        raise UserInputError(
            f"the chips' data types ({', '.join(sorted({h.dtype for h in headers}))}) have no common GDAL type"
        )
    nodata = output_nodata(headers, dtype)
    grid, why = choose_grid(headers, meters_per_pixel)
    if grid.width * grid.height > MAX_PIXELS:
        raise UserInputError(
            f"the mosaic would be {grid.width} x {grid.height} pixels at {meters_per_pixel:g} m "
            "a pixel; choose a larger --meters_per_pixel"
        )
    names = band_names(headers[0], channels)
    own = [h for h in headers if h.crs == grid.crs]
    others = sorted({h.crs for h in headers} - {grid.crs})
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with (
            tempfile.TemporaryDirectory(prefix=f".{dest.stem}.geet-mosaic-", dir=dest.parent) as tmp,
            rasterio.Env(**GDAL_ENV),
        ):
            work = Path(tmp)
            groups = [
                WarpedGroup([h for h in headers if h.crs == crs], grid, channels, dtype, nodata, work, tag)
                for tag, crs in enumerate(others)
            ]
            plain = work / "mosaic.tif"
            _paint_mosaic(plain, grid, own, [g for g in groups if g.window], channels, dtype, nodata, names)
            with atomic_path(dest) as part:
                rasterio.shutil.copy(str(plain), str(part), driver="COG", **COG_OPTIONS)
    except UnreadableChip as error:
        raise UserInputError(
            f"cannot read {error.args[0]}; run `geet cleanup --basedir {folder}` to remove unreadable chips"
        ) from None
    return MosaicSummary(
        dest,
        len(headers),
        grid.crs,
        why,
        grid.width,
        grid.height,
        (grid.dx, grid.dy),
        len(channels),
        dtype,
        nodata,
        grid.bounds,
        time.monotonic() - began,
        sorted({h.crs for h in headers}),
    )


def _paint_mosaic(
    path: Path,
    grid: Grid,
    own: Sequence[TiffHeader],
    groups: Sequence[WarpedGroup],
    channels: Sequence[int],
    dtype: str,
    nodata: float,
    names: Sequence[str | None],
) -> None:
    """The mosaic at full resolution as a tiled GeoTIFF (to be copied into a COG), painted a strip of
    rows at a time: warped groups first, then the chips in the mosaic's CRS in name order (a later
    chip's data covers an earlier one's)."""
    import rasterio

    rows = strip_rows(grid.width, len(channels), dtype)
    tops = np.array([-h.transform[3] for h in own]) if own else np.zeros(0)  # ordered as rows grow downwards
    bottoms = np.array([-(h.transform[3] + h.transform[5] * h.height) for h in own]) if own else np.zeros(0)
    profile = dict(
        driver="GTiff",
        width=grid.width,
        height=grid.height,
        count=len(channels),
        dtype=dtype,
        crs=grid.crs,
        transform=grid.transform,
        nodata=nodata,
        tiled=True,
        blockxsize=BLOCK,
        blockysize=BLOCK,
        interleave="pixel",
        compress="none",
        bigtiff="IF_SAFER",
    )
    cache: dict[int, np.ndarray] = {}
    opened = [g.open() for g in groups]
    try:
        with rasterio.open(path, "w", **profile) as out:
            for row0 in range(0, grid.height, rows):
                count = min(rows, grid.height - row0)
                strip = np.full((len(channels), count, grid.width), nodata, dtype=dtype)
                for group in opened:
                    group.paste(strip, row0)
                top = -grid.y1 + row0 * grid.dy
                bottom = top + count * grid.dy
                for index in np.flatnonzero((tops < bottom) & (bottoms > top)):
                    header = own[index]
                    pixels = cache.pop(index, None)
                    if pixels is None:
                        try:
                            pixels = chip_pixels(header, channels)
                        except UnreadableChip as error:
                            raise UnreadableChip(f"chip {header.path.name}: {error}") from None
                    paste_chip(strip, row0, grid, header, pixels)
                    if bottoms[index] > bottom:  # also in the next strip
                        cache[index] = pixels
                out.write(strip, window=((row0, row0 + count), (0, grid.width)))
            if any(names):
                out.descriptions = tuple(n or "" for n in names)
    finally:
        for group in opened:
            group.close()
