"""Chips in a CRS other than the mosaic's: put in a VRT of their own CRS (one ``ComplexSource`` per chip
and band, at their finest pixel size), which a GDAL warped VRT (``rasterio.vrt.WarpedVRT``, nearest)
reprojects onto the part of the mosaic's grid they cover: one warp per CRS, not per chip."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from geetiles.tiff import TiffHeader, UnreadableChip
from geetiles.tiff.reader import gdal_reason
from geetiles.tools.mosaic.chips import crs_name
from geetiles.tools.mosaic.grid import Grid, native_grid
from geetiles.tools.mosaic.options import BLOCK, GDAL_TYPES, number_text
from geetiles.tools.mosaic.paint import paint


@dataclass
class _Source:
    filename: str
    band: int
    size: tuple[int, int]  # (width, height)
    dtype: str
    block: tuple[int, int]
    dst: tuple[float, float, float, float]  # xoff, yoff, xsize, ysize on the VRT's grid
    nodata: float | None

    def xml(self) -> str:
        w, h = self.size
        xoff, yoff, xsize, ysize = (float(v) for v in self.dst)
        nodata = "" if self.nodata is None else f"<NODATA>{number_text(self.nodata)}</NODATA>"
        return (
            f'<ComplexSource><SourceFilename relativeToVRT="0">{escape(self.filename)}</SourceFilename>'
            f"<SourceBand>{self.band}</SourceBand>"
            f'<SourceProperties RasterXSize="{w}" RasterYSize="{h}" DataType="{GDAL_TYPES[self.dtype]}" '
            f'BlockXSize="{self.block[0]}" BlockYSize="{self.block[1]}"/>'
            f'<SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>'
            f'<DstRect xOff="{xoff!r}" yOff="{yoff!r}" xSize="{xsize!r}" ySize="{ysize!r}"/>'
            f"{nodata}</ComplexSource>"
        )


def _vrt_xml(grid: Grid, dtype: str, nodata: float, bands: list[list[_Source]], names: Sequence[str | None]) -> str:
    from rasterio.crs import CRS

    parts = [
        f'<VRTDataset rasterXSize="{grid.width}" rasterYSize="{grid.height}">',
        f"<SRS>{escape(CRS.from_user_input(grid.crs).to_wkt())}</SRS>",
        f"<GeoTransform>{grid.gdal_transform()}</GeoTransform>",
    ]
    for index, sources in enumerate(bands, start=1):
        name = names[index - 1] if index - 1 < len(names) else None
        parts.append(
            f'<VRTRasterBand dataType="{GDAL_TYPES[dtype]}" band="{index}" blockXSize="{BLOCK}" blockYSize="{BLOCK}">'
        )
        if name:
            parts.append(f"<Description>{escape(name)}</Description>")
        parts.append(f"<NoDataValue>{number_text(nodata)}</NoDataValue>")
        parts.extend(source.xml() for source in sources)
        parts.append("</VRTRasterBand>")
    parts.append("</VRTDataset>")
    return "\n".join(parts)


def _chip_sources(headers: Sequence[TiffHeader], grid: Grid, channels: Sequence[int]) -> list[list[_Source]]:
    bands: list[list[_Source]] = [[] for _ in channels]
    for h in headers:
        x0, dx, _, y0, _, dy = h.transform
        dst = ((x0 - grid.x0) / grid.dx, (grid.y1 - y0) / grid.dy, dx * h.width / grid.dx, -dy * h.height / grid.dy)
        for out, channel in enumerate(channels):
            bands[out].append(
                _Source(str(h.path.resolve()), channel + 1, (h.width, h.height), h.dtype, h.block, dst, h.nodata)
            )
    return bands


class WarpedGroup:
    """Chips of one CRS other than the mosaic's: a VRT of them in their own CRS (at their finest pixel
    size), warped by GDAL (nearest) onto the part of the mosaic's grid they cover."""

    def __init__(
        self,
        headers: Sequence[TiffHeader],
        grid: Grid,
        channels: Sequence[int],
        dtype: str,
        nodata: float,
        folder: Path,
        tag: int,
    ) -> None:
        from rasterio.warp import transform_bounds

        self.crs, self.count, self.window = headers[0].crs, len(headers), None
        native = native_grid(headers)
        self.vrt_path = folder / f"crs{tag}.vrt"
        self.vrt_path.write_text(
            _vrt_xml(native, dtype, nodata, _chip_sources(headers, native, channels), []), encoding="utf-8"
        )
        west, south, east, north = transform_bounds(native.crs, grid.crs, *native.bounds, densify_pts=21)
        col0 = max(0, math.floor((west - grid.x0) / grid.dx) - 1)
        row0 = max(0, math.floor((grid.y1 - north) / grid.dy) - 1)
        col1 = min(grid.width, math.ceil((east - grid.x0) / grid.dx) + 1)
        row1 = min(grid.height, math.ceil((grid.y1 - south) / grid.dy) + 1)
        if col1 > col0 and row1 > row0:
            self.window = (col0, row0, col1 - col0, row1 - row0)
        self.grid, self.dtype, self.nodata = grid, dtype, nodata

    def open(self):
        import rasterio
        from affine import Affine
        from rasterio.enums import Resampling
        from rasterio.vrt import WarpedVRT

        col0, row0, width, height = self.window
        transform = Affine(
            self.grid.dx,
            0.0,
            self.grid.x0 + col0 * self.grid.dx,
            0.0,
            -self.grid.dy,
            self.grid.y1 - row0 * self.grid.dy,
        )
        self._source = rasterio.open(self.vrt_path)
        self._vrt = WarpedVRT(
            self._source,
            crs=self.grid.crs,
            transform=transform,
            width=width,
            height=height,
            resampling=Resampling.nearest,
            src_nodata=self.nodata,
            nodata=self.nodata,
            dtype=self.dtype,
        )
        return self

    def close(self) -> None:
        self._vrt.close()
        self._source.close()

    def paste(self, out: np.ndarray, row0: int) -> None:
        """Paint the warped chips over the strip ``out`` (bands, rows, width) that starts at ``row0``."""
        col0, top, width, height = self.window
        first, last = max(row0, top), min(row0 + out.shape[1], top + height)
        if last <= first:
            return
        from rasterio.windows import Window

        try:
            block = self._vrt.read(window=Window(0, first - top, width, last - first))
        except Exception as error:  # a chip GDAL cannot decode (rasterio raises several types)
            raise UnreadableChip(f"a chip in {crs_name(self.crs)}: {gdal_reason(error)}") from None
        paint(out[:, first - row0 : last - row0, col0 : col0 + width], block, self.nodata)
