"""``geet mosaic`` and ``geet mosaic.fromvals``: one Cloud-Optimised GeoTIFF of a chip folder, or of
one column of a tiles file painted per chip.

How ``mosaic`` is built, and why:

* Chip headers come from a small TIFF-tag reader (~0.05 ms a chip; GDAL spends ~0.5 ms opening
  one). Chips it cannot read (BigTIFF, a CRS without an EPSG code, a damaged header) go to
  rasterio; a chip neither can read stops the run with one line pointing at ``geet cleanup``.
* Chips already in the mosaic's CRS are pasted into the mosaic a strip of rows at a time (at most
  ~256 MB in memory, whatever the mosaic's size), as ``rasterio.merge`` does but with the chips
  decoded by ``geetiles.tiff_reader``: each mosaic pixel takes the chip pixel under its centre
  (nearest neighbour, GDAL's rule), band by band, except where the chip's value is the chip's own
  nodata (what is under it then shows). Chips are painted in file-name order; where chips overlap,
  the later one's data wins. A chip whose pixels fall on the mosaic's grid is copied exactly.
  Measured on 2774 chips of 100x100: ~1.5 s for this step, where a GDAL VRT of the same chips
  (``ComplexSource`` per chip and band) read in 3-5 s and a warped VRT per chip is slower still.
* Chips in another CRS are put in a VRT of their own CRS (one ``ComplexSource`` per chip and band,
  at their finest pixel size), which a GDAL warped VRT (``rasterio.vrt.WarpedVRT``, nearest)
  reprojects onto the part of the mosaic's grid they cover: one warp per CRS, not per chip. These
  are painted first, so chips already in the mosaic's CRS win where they overlap.
* The painted strips go to a temporary tiled GeoTIFF beside the output, which GDAL's COG driver
  copies into the output (Deflate level 6 with the predictor, 512-pixel tiles, nearest-neighbour
  overviews, BigTIFF when needed), renamed into place only when complete.

The mosaic's CRS: the chips' own CRS when they all share one projected CRS (e.g. one UTM zone),
with ``meters_per_pixel`` in its units and the grid snapped to multiples of the pixel size.
Otherwise (lon/lat chips, or several CRSs) EPSG:4326, with ``meters_per_pixel`` converted to degrees
at the mosaic's centre latitude, separately for longitude and latitude (a pixel is about ``M`` x
``M`` metres there, as the chips downloaded with ``pixels_lonlat`` are).

Nodata: the chips' common nodata value; chips without one (or with different ones) give 0 for
integer types and NaN for floats. Areas without chips are nodata, and so are chips' own nodata
pixels where no other chip has data.
"""

from __future__ import annotations

import math
import os
import struct
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from geetiles.atomic import atomic_path
from geetiles.errors import UserInputError

GDAL_TYPES = {"uint8": "Byte", "int8": "Int8", "uint16": "UInt16", "int16": "Int16", "uint32": "UInt32",
              "int32": "Int32", "uint64": "UInt64", "int64": "Int64", "float32": "Float32", "float64": "Float64"}
BLOCK = 512  # the mosaic's tile size (the COG driver's default)
MAX_PIXELS = 20_000_000_000  # per band: beyond this, --meters_per_pixel is almost surely a mistake
COG_OPTIONS = dict(COMPRESS="DEFLATE", LEVEL=6, PREDICTOR="YES", BLOCKSIZE=BLOCK, BIGTIFF="IF_SAFER",
                   NUM_THREADS="ALL_CPUS", RESAMPLING="NEAREST", OVERVIEW_RESAMPLING="NEAREST")
# GDAL would list the chip folder on every chip it opens (looking for .aux.xml/.ovr siblings):
# quadratic in the number of chips. Chips have no sidecar files.
GDAL_ENV = dict(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR", GDAL_MAX_DATASET_POOL_SIZE=450, GDAL_CACHEMAX=512,
                GDAL_NUM_THREADS="ALL_CPUS")


# ------------------------------------------------------------------------------------------------
# options


def parse_channels(text: str | None) -> list[int] | None:
    """``0,1,2``, ``[0,1,2]``, ``(0, 1)`` or ``0 1 2``: 0-based band indices (the original's
    ``--channels``), without eval. None (no ``--channels``): every band."""
    if text is None:
        return None
    body = text.strip()
    if body[:1] in "[(" and body[-1:] in "])":
        body = body[1:-1]
    parts = [p for p in body.replace(",", " ").split() if p]
    if not parts:
        raise UserInputError(f"--channels {text!r} names no band; give 0-based band numbers such as 0,1,2 "
                             "or leave --channels out for every band")
    values = []
    for part in parts:
        try:
            value = int(part)
        except ValueError:
            raise UserInputError(f"--channels {text!r}: {part!r} is not a band number; give 0-based band numbers "
                                 "such as 0,1,2 or [0,1,2]") from None
        if value < 0:
            raise UserInputError(f"--channels {text!r}: band numbers start at 0 (got {value})")
        values.append(value)
    return values


def check_meters_per_pixel(value: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise UserInputError(f"--meters_per_pixel {value!r} must be a positive number of metres")
    return float(value)


# ------------------------------------------------------------------------------------------------
# chip headers


@dataclass(frozen=True)
class ChipHeader:
    path: Path
    width: int
    height: int
    count: int
    dtype: str  # numpy name
    transform: tuple[float, float, float, float, float, float]  # GDAL order: x0, dx, 0, y0, 0, dy (dy < 0)
    crs: str  # "EPSG:n", or WKT for a CRS without an EPSG code
    nodata: float | None
    block: tuple[int, int]  # (x, y)
    descriptions: tuple[str | None, ...] = ()

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        x0, dx, _, y0, _, dy = self.transform
        xs, ys = (x0, x0 + dx * self.width), (y0, y0 + dy * self.height)
        return min(xs), min(ys), max(xs), max(ys)


class UnreadableChip(Exception):
    pass


def gdal_reason(error: BaseException) -> str:
    """GDAL's own message, on one line (rasterio often wraps it in "Read failed. See previous
    exception for details")."""
    text, seen = "", 0
    while error is not None and seen < 4:
        text = " ".join(str(error).split())
        if text and "see previous exception" not in text.lower():
            break
        error, seen = error.__cause__ or error.__context__, seen + 1
    text = text or "unreadable"
    return text if len(text) <= 200 else text[:199] + "…"


def chip_paths(basedir: Path, exclude: Sequence[Path] = ()) -> list[Path]:
    """The folder's ``*.tif`` files in name order, without hidden files (a running download's
    temporaries) and without ``exclude`` (the mosaic itself, when it is written into the folder)."""
    folder = basedir.resolve()
    excluded = {p.name for p in exclude if p.resolve().parent == folder}
    return sorted(p for p in basedir.glob("*.tif") if not p.name.startswith(".") and p.name not in excluded and p.is_file())


def read_header(path: Path) -> ChipHeader:
    """A chip's grid, bands, dtype and nodata; :class:`UnreadableChip` when neither the fast reader
    nor GDAL can read its header."""
    try:
        with open(path, "rb") as file:
            head = file.read(HEAD_BYTES)
    except OSError as error:
        raise UnreadableChip(str(error)) from None
    try:
        header = _plain_header(path, head)
    except Exception:  # a damaged or unusual header: GDAL decides
        header = None
    return header if header is not None else _rasterio_header(path)


HEAD_BYTES = 65536
(_WIDTH, _HEIGHT, _BITS, _ROWS_PER_STRIP, _SAMPLES, _TILE_WIDTH, _TILE_HEIGHT, _SAMPLE_FORMAT, _PIXEL_SCALE,
 _TIEPOINT, _TRANSFORMATION, _GEOKEYS, _GDAL_NODATA) = (256, 257, 258, 278, 277, 322, 323, 339, 33550, 33922, 34264,
                                                       34735, 42113)
_WANTED = {_WIDTH, _HEIGHT, _BITS, _ROWS_PER_STRIP, _SAMPLES, _TILE_WIDTH, _TILE_HEIGHT, _SAMPLE_FORMAT, _PIXEL_SCALE,
           _TIEPOINT, _TRANSFORMATION, _GEOKEYS, _GDAL_NODATA}
_TYPES = {1: ("B", 1), 2: ("s", 1), 3: ("H", 2), 4: ("I", 4), 6: ("b", 1), 7: ("B", 1), 8: ("h", 2), 9: ("i", 4),
          11: ("f", 4), 12: ("d", 8), 16: ("Q", 8)}
_KINDS = {1: "uint", 2: "int", 3: "float"}


def _plain_header(path: Path, data: bytes) -> ChipHeader | None:
    """The header of a classic (not Big) GeoTIFF whose first IFD and georeferencing lie in ``data``
    and whose CRS is an EPSG code with area pixels, north up; None for anything else."""
    if data[:4] == b"II*\x00":
        order = "<"
    elif data[:4] == b"MM\x00*":
        order = ">"
    else:
        return None
    (offset,) = struct.unpack_from(order + "I", data, 4)
    (count,) = struct.unpack_from(order + "H", data, offset)
    tags: dict[int, tuple] = {}
    for at in range(offset + 2, offset + 2 + 12 * count, 12):
        tag, kind, n = struct.unpack_from(order + "HHI", data, at)
        if tag not in _WANTED:
            continue
        if kind not in _TYPES:
            return None
        code, size = _TYPES[kind]
        start = at + 8 if size * n <= 4 else struct.unpack_from(order + "I", data, at + 8)[0]
        if start + size * n > len(data):
            return None
        raw = data[start:start + size * n]
        tags[tag] = raw if kind == 2 else struct.unpack(f"{order}{n}{code}", raw)
    if _TRANSFORMATION in tags or not {_WIDTH, _HEIGHT, _PIXEL_SCALE, _TIEPOINT, _GEOKEYS} <= tags.keys():
        return None
    bits, kinds = set(tags.get(_BITS, (1,))), set(tags.get(_SAMPLE_FORMAT, (1,)))
    if len(bits) != 1 or len(kinds) != 1 or kinds.copy().pop() not in _KINDS:
        return None
    dtype = f"{_KINDS[kinds.pop()]}{bits.pop()}"
    if dtype not in GDAL_TYPES:
        return None
    epsg = _epsg(tags[_GEOKEYS])
    if epsg is None:
        return None
    width, height = int(tags[_WIDTH][0]), int(tags[_HEIGHT][0])
    if _TILE_WIDTH in tags:
        block = (int(tags[_TILE_WIDTH][0]), int(tags[_TILE_HEIGHT][0]))
    else:
        block = (width, min(int(tags.get(_ROWS_PER_STRIP, (height,))[0]), height))
    sx, sy = float(tags[_PIXEL_SCALE][0]), float(tags[_PIXEL_SCALE][1])
    i, j, _, x, y = (float(v) for v in tags[_TIEPOINT][:5])
    if not (sx > 0 and sy > 0):
        return None
    nodata = None
    if _GDAL_NODATA in tags:
        text = tags[_GDAL_NODATA].decode("ascii", "replace").strip().rstrip("\x00").strip()
        try:
            nodata = float(text)
        except ValueError:
            return None
    return ChipHeader(path, width, height, int(tags.get(_SAMPLES, (1,))[0]), dtype,
                      (x - i * sx, sx, 0.0, y + j * sy, 0.0, -sy), f"EPSG:{epsg}", nodata, block)


def _epsg(directory) -> int | None:
    """The EPSG code of a GeoKeyDirectory with area pixels, or None."""
    values = [int(v) for v in directory]
    keys = {values[k]: values[k + 3] for k in range(4, 4 + 4 * values[3], 4) if values[k + 1] == 0}
    if keys.get(1025, 1) != 1:  # GTRasterTypeGeoKey: PixelIsArea
        return None
    code = keys.get(3072) or keys.get(2048)  # ProjectedCSTypeGeoKey, GeographicTypeGeoKey
    return None if code in (None, 32767) else code


def _rasterio_header(path: Path) -> ChipHeader:
    import rasterio

    try:
        with rasterio.open(path) as dataset:
            if dataset.crs is None:
                raise UnreadableChip("not georeferenced (no CRS)")
            a, b, c, d, e, f = tuple(dataset.transform)[:6]
            if b != 0 or d != 0 or a <= 0 or e >= 0:
                raise UnreadableChip("not a north-up grid (rotated or flipped)")
            if dataset.dtypes[0] not in GDAL_TYPES:
                raise UnreadableChip(f"unsupported data type {dataset.dtypes[0]}")
            epsg = dataset.crs.to_epsg()
            rows, cols = dataset.block_shapes[0]
            return ChipHeader(path, dataset.width, dataset.height, dataset.count, dataset.dtypes[0],
                              (c, a, 0.0, f, 0.0, e), f"EPSG:{epsg}" if epsg else dataset.crs.to_wkt(),
                              dataset.nodata, (cols, rows), tuple(dataset.descriptions))
    except UnreadableChip:
        raise
    except Exception as error:  # rasterio raises several types for broken files
        raise UnreadableChip(gdal_reason(error)) from None


def read_headers(paths: Sequence[Path], basedir: Path) -> list[ChipHeader]:
    import rasterio

    headers, broken = [], []
    with rasterio.Env(**GDAL_ENV):
        for path in paths:
            try:
                headers.append(read_header(path))
            except UnreadableChip as error:
                broken.append((path, str(error)))
    if broken:
        path, reason = broken[0]
        raise UserInputError(f"{len(broken)} of {len(paths)} chips in {basedir} cannot be read (first: {path.name}: "
                             f"{reason}); run `geet cleanup --basedir {basedir}` to remove unreadable chips")
    return headers


# ------------------------------------------------------------------------------------------------
# the mosaic's grid


@dataclass(frozen=True)
class Grid:
    crs: str  # "EPSG:n" or WKT
    x0: float
    y1: float  # top edge
    dx: float
    dy: float  # positive: row height
    width: int
    height: int

    @property
    def transform(self):
        from affine import Affine

        return Affine(self.dx, 0.0, self.x0, 0.0, -self.dy, self.y1)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return self.x0, self.y1 - self.dy * self.height, self.x0 + self.dx * self.width, self.y1

    def gdal_transform(self) -> str:
        return f"{float(self.x0)!r}, {float(self.dx)!r}, 0.0, {float(self.y1)!r}, 0.0, {-float(self.dy)!r}"


def degrees_per_meter(latitude: float) -> tuple[float, float]:
    """Degrees of longitude and of latitude per metre at ``latitude`` (WGS 84 ellipsoid)."""
    phi = math.radians(latitude)
    a, e2 = 6378137.0, 6.69437999014e-3
    w = math.sqrt(1 - e2 * math.sin(phi) ** 2)
    lon_m = math.pi / 180 * a * math.cos(phi) / w
    lat_m = math.pi / 180 * a * (1 - e2) / w ** 3
    return 1 / max(lon_m, 1e-6), 1 / lat_m


def _cells(span: float, step: float) -> int:
    return max(1, math.ceil(round(span / step, 6)))


def choose_grid(headers: Sequence[ChipHeader], meters_per_pixel: float) -> tuple[Grid, str]:
    """The mosaic's grid and a phrase saying why that CRS (see the module's docstring)."""
    from rasterio.crs import CRS

    crss = sorted({h.crs for h in headers})
    if len(crss) == 1:
        crs = CRS.from_user_input(crss[0])
        if crs.is_projected:
            unit = crs.linear_units_factor[1] if crs.linear_units_factor else 1.0
            res = meters_per_pixel / unit
            bounds = np.array([h.bounds for h in headers])
            x0 = math.floor(round(bounds[:, 0].min() / res, 6)) * res
            y1 = math.ceil(round(bounds[:, 3].max() / res, 6)) * res
            x1, y0 = bounds[:, 2].max(), bounds[:, 1].min()
            grid = Grid(crss[0], x0, y1, res, res, _cells(x1 - x0, res), _cells(y1 - y0, res))
            return grid, "the chips' common CRS"
    west, south, east, north = _lonlat_bounds(headers)
    deg_x, deg_y = degrees_per_meter((south + north) / 2)
    dx, dy = meters_per_pixel * deg_x, meters_per_pixel * deg_y
    grid = Grid("EPSG:4326", west, north, dx, dy, _cells(east - west, dx), _cells(north - south, dy))
    why = "the chips are in lon/lat" if crss == ["EPSG:4326"] else (
        f"the chips are in {len(crss)} CRSs" if len(crss) > 1 else "the chips' CRS is not projected")
    return grid, why


def _lonlat_bounds(headers: Sequence[ChipHeader]) -> tuple[float, float, float, float]:
    """The union of the chips' footprints in lon/lat (edges densified, so a UTM chip's curved
    edges are covered)."""
    from pyproj import CRS as ProjCRS
    from pyproj import Transformer

    boxes = []
    for crs in sorted({h.crs for h in headers}):
        b = np.array([h.bounds for h in headers if h.crs == crs])
        if crs == "EPSG:4326":
            boxes.append([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()])
            continue
        t = np.linspace(0.0, 1.0, 11)
        xs = np.concatenate([b[:, [0]] + (b[:, [2]] - b[:, [0]]) * t, b[:, [0]] + 0 * t, b[:, [2]] + 0 * t,
                             b[:, [0]] + (b[:, [2]] - b[:, [0]]) * t], axis=1)
        ys = np.concatenate([b[:, [1]] + 0 * t, b[:, [1]] + (b[:, [3]] - b[:, [1]]) * t,
                             b[:, [1]] + (b[:, [3]] - b[:, [1]]) * t, b[:, [3]] + 0 * t], axis=1)
        transformer = Transformer.from_crs(ProjCRS.from_user_input(crs), ProjCRS.from_epsg(4326), always_xy=True)
        lon, lat = transformer.transform(xs.ravel(), ys.ravel())
        ok = np.isfinite(lon) & np.isfinite(lat)
        if not ok.any():
            raise UserInputError(f"the chips in {crs[:60]} cannot be placed in lon/lat")
        boxes.append([lon[ok].min(), lat[ok].min(), lon[ok].max(), lat[ok].max()])
    boxes = np.array(boxes)
    return boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()


# ------------------------------------------------------------------------------------------------
# VRT XML


def _number(value: float) -> str:
    return "nan" if math.isnan(value) else repr(float(value)) if not float(value).is_integer() else str(int(value))


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
        nodata = "" if self.nodata is None else f"<NODATA>{_number(self.nodata)}</NODATA>"
        return (f'<ComplexSource><SourceFilename relativeToVRT="0">{escape(self.filename)}</SourceFilename>'
                f"<SourceBand>{self.band}</SourceBand>"
                f'<SourceProperties RasterXSize="{w}" RasterYSize="{h}" DataType="{GDAL_TYPES[self.dtype]}" '
                f'BlockXSize="{self.block[0]}" BlockYSize="{self.block[1]}"/>'
                f'<SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>'
                f'<DstRect xOff="{xoff!r}" yOff="{yoff!r}" xSize="{xsize!r}" ySize="{ysize!r}"/>'
                f"{nodata}</ComplexSource>")


def _vrt_xml(grid: Grid, dtype: str, nodata: float, bands: list[list[_Source]], names: Sequence[str | None]) -> str:
    from rasterio.crs import CRS

    parts = [f'<VRTDataset rasterXSize="{grid.width}" rasterYSize="{grid.height}">',
             f"<SRS>{escape(CRS.from_user_input(grid.crs).to_wkt())}</SRS>",
             f"<GeoTransform>{grid.gdal_transform()}</GeoTransform>"]
    for index, sources in enumerate(bands, start=1):
        name = names[index - 1] if index - 1 < len(names) else None
        parts.append(f'<VRTRasterBand dataType="{GDAL_TYPES[dtype]}" band="{index}" blockXSize="{BLOCK}" '
                     f'blockYSize="{BLOCK}">')
        if name:
            parts.append(f"<Description>{escape(name)}</Description>")
        parts.append(f"<NoDataValue>{_number(nodata)}</NoDataValue>")
        parts.extend(source.xml() for source in sources)
        parts.append("</VRTRasterBand>")
    parts.append("</VRTDataset>")
    return "\n".join(parts)


def _chip_sources(headers: Sequence[ChipHeader], grid: Grid, channels: Sequence[int]) -> list[list[_Source]]:
    bands: list[list[_Source]] = [[] for _ in channels]
    for h in headers:
        x0, dx, _, y0, _, dy = h.transform
        dst = ((x0 - grid.x0) / grid.dx, (grid.y1 - y0) / grid.dy, dx * h.width / grid.dx, -dy * h.height / grid.dy)
        for out, channel in enumerate(channels):
            bands[out].append(_Source(str(h.path.resolve()), channel + 1, (h.width, h.height), h.dtype, h.block, dst,
                                      h.nodata))
    return bands


def _native_grid(headers: Sequence[ChipHeader]) -> Grid:
    """A grid in the chips' own CRS covering them, at their finest pixel size."""
    bounds = np.array([h.bounds for h in headers])
    dx = min(h.transform[1] for h in headers)
    dy = min(-h.transform[5] for h in headers)
    x0, y1 = bounds[:, 0].min(), bounds[:, 3].max()
    return Grid(headers[0].crs, x0, y1, dx, dy, _cells(bounds[:, 2].max() - x0, dx), _cells(y1 - bounds[:, 1].min(), dy))


class _WarpedGroup:
    """Chips of one CRS other than the mosaic's: a VRT of them in their own CRS (at their finest pixel
    size), warped by GDAL (nearest) onto the part of the mosaic's grid they cover."""

    def __init__(self, headers: Sequence[ChipHeader], grid: Grid, channels: Sequence[int], dtype: str, nodata: float,
                 folder: Path, tag: int) -> None:
        from rasterio.warp import transform_bounds

        self.crs, self.count, self.window = headers[0].crs, len(headers), None
        native = _native_grid(headers)
        self.vrt_path = folder / f"crs{tag}.vrt"
        self.vrt_path.write_text(_vrt_xml(native, dtype, nodata, _chip_sources(headers, native, channels), []),
                                 encoding="utf-8")
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
        transform = Affine(self.grid.dx, 0.0, self.grid.x0 + col0 * self.grid.dx, 0.0, -self.grid.dy,
                           self.grid.y1 - row0 * self.grid.dy)
        self._source = rasterio.open(self.vrt_path)
        self._vrt = WarpedVRT(self._source, crs=self.grid.crs, transform=transform, width=width, height=height,
                              resampling=Resampling.nearest, src_nodata=self.nodata, nodata=self.nodata,
                              dtype=self.dtype)
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
            raise UnreadableChip(f"a chip in {_crs_name(self.crs)}: {gdal_reason(error)}") from None
        _paint(out[:, first - row0:last - row0, col0:col0 + width], block, self.nodata)


def _paint(view: np.ndarray, block: np.ndarray, nodata: float | None) -> None:
    """``view`` takes ``block``'s values, band by band, except where ``block`` is ``nodata``."""
    if nodata is None:
        view[...] = block
    elif math.isnan(nodata):
        if block.dtype.kind == "f":
            np.copyto(view, block, where=~np.isnan(block), casting="unsafe")
        else:
            view[...] = block
    else:
        if block.dtype.kind in "iu":
            info = np.iinfo(block.dtype)
            if not (float(nodata).is_integer() and info.min <= nodata <= info.max):
                view[...] = block
                return
        np.copyto(view, block, where=block != block.dtype.type(nodata), casting="unsafe")


def _sample_indices(start: float, step: float, count: int, origin: float, pixel: float, limit: int, lo: int,
                    hi: int) -> tuple[int, np.ndarray]:
    """The mosaic cells in [lo, hi) whose centres fall in a chip along one axis, and the chip pixel
    under each centre (nearest-neighbour, as GDAL samples): the chip spans ``start`` to ``start +
    pixel * limit`` in units where the mosaic's cell ``i`` has its centre at ``origin + (i + 0.5) *
    step``. Returns (first cell, chip pixel per cell)."""
    first = max(lo, math.ceil(round((start - origin) / step - 0.5, 9)))
    last = min(hi, math.ceil(round((start + pixel * limit - origin) / step - 0.5, 9)))
    if last <= first:
        return first, np.zeros(0, dtype=np.intp)
    centres = origin + (np.arange(first, last) + 0.5) * step
    return first, np.clip(np.floor((centres - start) / pixel).astype(np.intp), 0, limit - 1)


def _paste_chip(out: np.ndarray, row0: int, grid: Grid, header: ChipHeader, pixels: np.ndarray) -> None:
    """Paint one chip (already in the mosaic's CRS) over the strip ``out`` that starts at ``row0``."""
    x0, dx, _, y0, _, dy = header.transform
    col, cols = _sample_indices(x0, grid.dx, header.width, grid.x0, dx, header.width, 0, grid.width)
    # rows counted downwards: a chip row's top is y0 + dy * r (dy < 0), a mosaic row's centre y1 - (i + .5) * dy
    row, rows = _sample_indices(-y0, grid.dy, header.height, -grid.y1, -dy, header.height, row0, row0 + out.shape[1])
    if not len(cols) or not len(rows):
        return
    block = pixels.take(rows, axis=1).take(cols, axis=2)  # 8x faster than pixels[:, rows[:, None], cols]
    _paint(out[:, row - row0:row - row0 + len(rows), col:col + len(cols)], block, header.nodata)


def read_pixels(header: ChipHeader, channels: Sequence[int]) -> np.ndarray:
    """The chosen bands of a chip, (bands, height, width): the fast reader for the plain layouts,
    GDAL for everything else; :class:`UnreadableChip` when neither can decode it."""
    from geetiles.tiff_reader import read_plain_tiff

    try:
        data = header.path.read_bytes()
        tiff = read_plain_tiff(data, all_bands=True)
    except OSError as error:
        raise UnreadableChip(str(error)) from None
    except Exception:  # damaged data: GDAL decides
        tiff = None
    if tiff is not None and tiff.band.shape == (header.count, header.height, header.width):
        return tiff.band[list(channels)]
    import rasterio

    try:
        with rasterio.open(header.path) as dataset:
            return dataset.read([c + 1 for c in channels])
    except Exception as error:  # rasterio raises several types for broken files
        raise UnreadableChip(gdal_reason(error)) from None


# ------------------------------------------------------------------------------------------------
# mosaic


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
        return (f"mosaic: {self.chips} chips → {self.dest_file}: {self.width} x {self.height} px, {self.bands} band(s) "
                f"{self.dtype}, {_crs_name(self.crs)} ({self.why}), pixels {size}, nodata {_number(self.nodata)}, "
                f"in {self.seconds:.1f} s")


def _crs_name(crs: str) -> str:
    return crs if crs.startswith("EPSG:") else "a custom CRS"


def _output_nodata(headers: Sequence[ChipHeader], dtype: str) -> float:
    """The chips' common nodata value if they all have the same one (and it fits), else 0 for integer
    types and NaN for floats."""
    with_nodata = [h.nodata for h in headers if h.nodata is not None]
    distinct = {"nan" if math.isnan(v) else v for v in with_nodata}
    fallback = float("nan") if np.dtype(dtype).kind == "f" else 0.0
    if len(with_nodata) != len(headers) or len(distinct) != 1:
        return fallback
    value = float(with_nodata[0])
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        if math.isnan(value) or not (value.is_integer() and info.min <= value <= info.max):
            return fallback
    return value


def strip_rows(width: int, bands: int, dtype: str, budget: int = 256 << 20) -> int:
    """Rows painted at once: whole tiles, about ``budget`` bytes."""
    per_row = max(1, width * bands * np.dtype(dtype).itemsize)
    return max(BLOCK, (budget // per_row) // BLOCK * BLOCK)


def build_mosaic(basedir: str | os.PathLike[str], dest_file: str | os.PathLike[str], meters_per_pixel: float,
                 channels: Sequence[int] | None = None) -> MosaicSummary:
    """Write the mosaic of every chip in ``basedir`` to ``dest_file`` (a COG, atomically)."""
    import rasterio
    import rasterio.shutil

    began = time.monotonic()
    meters_per_pixel = check_meters_per_pixel(meters_per_pixel)
    folder, dest = Path(basedir), Path(dest_file)
    if not folder.is_dir():
        raise UserInputError(f"--basedir {str(folder)!r} is not a folder; give a chip folder, "
                             "e.g. {tiles base}/{dataset}")
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
            raise UserInputError(f"the chips have different numbers of bands ({', '.join(map(str, counts))}); "
                                 "choose the bands with --channels, e.g. --channels 0,1,2")
        channels = list(range(counts[0]))
    else:
        channels = list(channels)
        bad = [c for c in channels if c >= counts[0]]
        if bad:
            raise UserInputError(f"--channels {','.join(map(str, channels))}: band {bad[0]} does not exist; the chips "
                                 f"have {counts[0]} band(s), numbered 0 to {counts[0] - 1}")
    dtype = np.result_type(*sorted({h.dtype for h in headers})).name
    if dtype not in GDAL_TYPES:
        raise UserInputError(f"the chips' data types ({', '.join(sorted({h.dtype for h in headers}))}) have no common "
                             "GDAL type")
    nodata = _output_nodata(headers, dtype)
    grid, why = choose_grid(headers, meters_per_pixel)
    if grid.width * grid.height > MAX_PIXELS:
        raise UserInputError(f"the mosaic would be {grid.width} x {grid.height} pixels at {meters_per_pixel:g} m a pixel; "
                             "choose a larger --meters_per_pixel")
    names = _band_names(headers[0], channels)
    own = [h for h in headers if h.crs == grid.crs]
    others = sorted({h.crs for h in headers} - {grid.crs})
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix=f".{dest.stem}.geet-mosaic-", dir=dest.parent) as tmp, \
                rasterio.Env(**GDAL_ENV):
            work = Path(tmp)
            groups = [_WarpedGroup([h for h in headers if h.crs == crs], grid, channels, dtype, nodata, work, tag)
                      for tag, crs in enumerate(others)]
            plain = work / "mosaic.tif"
            _paint_mosaic(plain, grid, own, [g for g in groups if g.window], channels, dtype, nodata, names)
            with atomic_path(dest) as part:
                rasterio.shutil.copy(str(plain), str(part), driver="COG", **COG_OPTIONS)
    except UnreadableChip as error:
        raise UserInputError(f"cannot read {error.args[0]}; run `geet cleanup --basedir {folder}` to remove "
                             "unreadable chips") from None
    return MosaicSummary(dest, len(headers), grid.crs, why, grid.width, grid.height, (grid.dx, grid.dy), len(channels),
                         dtype, nodata, grid.bounds, time.monotonic() - began, sorted({h.crs for h in headers}))


def _paint_mosaic(path: Path, grid: Grid, own: Sequence[ChipHeader], groups: Sequence[_WarpedGroup],
                  channels: Sequence[int], dtype: str, nodata: float, names: Sequence[str | None]) -> None:
    """The mosaic at full resolution as a tiled GeoTIFF (to be copied into a COG), painted a strip of
    rows at a time: warped groups first, then the chips in the mosaic's CRS in name order (a later
    chip's data covers an earlier one's)."""
    import rasterio

    rows = strip_rows(grid.width, len(channels), dtype)
    tops = np.array([-h.transform[3] for h in own]) if own else np.zeros(0)  # ordered as rows grow downwards
    bottoms = np.array([-(h.transform[3] + h.transform[5] * h.height) for h in own]) if own else np.zeros(0)
    profile = dict(driver="GTiff", width=grid.width, height=grid.height, count=len(channels), dtype=dtype,
                   crs=grid.crs, transform=grid.transform, nodata=nodata, tiled=True, blockxsize=BLOCK,
                   blockysize=BLOCK, interleave="pixel", compress="none", bigtiff="IF_SAFER")
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
                            pixels = read_pixels(header, channels)
                        except UnreadableChip as error:
                            raise UnreadableChip(f"chip {header.path.name}: {error}") from None
                    _paste_chip(strip, row0, grid, header, pixels)
                    if bottoms[index] > bottom:  # also in the next strip
                        cache[index] = pixels
                out.write(strip, window=((row0, row0 + count), (0, grid.width)))
            if any(names):
                out.descriptions = tuple(n or "" for n in names)
    finally:
        for group in opened:
            group.close()


def _band_names(first: ChipHeader, channels: Sequence[int]) -> list[str | None]:
    """The first chip's band descriptions (GDAL reads them from its metadata) for the chosen bands."""
    import rasterio

    descriptions = first.descriptions
    if not descriptions:
        try:
            with rasterio.open(first.path) as dataset:
                descriptions = tuple(dataset.descriptions)
        except Exception:
            descriptions = ()
    return [descriptions[c] if c < len(descriptions) else None for c in channels]


# ------------------------------------------------------------------------------------------------
# mosaic.fromvals


ORIGINAL_COLUMN = "value"  # geetiles 0.1.7 always painted the column named "value"
CATEGORY_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
                    (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]  # matplotlib's tab10
STRIP_ROWS = 2048


def default_column(columns: Sequence[str]) -> str:
    """The original's column (``value``) when the file has it, else ``split``, else ``area_km2``."""
    for name in (ORIGINAL_COLUMN, "split", "area_km2"):
        if name in columns:
            return name
    raise UserInputError(f"the tiles file has none of the columns value, split, area_km2; choose one with --column "
                         f"({', '.join(columns)})")


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
        what = (f"{len(self.categories)} categories ({', '.join(f'{k}={v}' for k, v in list(self.categories.items())[:8])}"
                f"{', …' if len(self.categories) > 8 else ''})" if self.kind == "categorical" else "numeric values")
        return (f"mosaic.fromvals: column {self.column!r} of {self.painted} chips ({what}) → {self.dest_file}: "
                f"{self.width} x {self.height} px {self.dtype}, EPSG:4326, pixels {self.pixel_size[0]:.3g}° x "
                f"{self.pixel_size[1]:.3g}°, nodata {_number(self.nodata)}, in {self.seconds:.1f} s")


def paint_values(tiles_file: str | os.PathLike[str], dest_file: str | os.PathLike[str], meters_per_pixel: float,
                 column: str | None = None) -> FromValsSummary:
    """Paint one column of a tiles file, chip by chip, into a GeoTIFF (a COG, EPSG:4326, atomically).

    Numbers (and booleans, as 0/1) give float32 with NaN as nodata. Anything else (strings such as
    the split, categories) gives integer codes 1..K in the sorted order of the values, 0 as nodata,
    with the code table as tags (``categories``: JSON code → value) and a colour table. Missing
    values are nodata. Where chips overlap, the later row wins."""
    import pandas as pd
    import rasterio
    import rasterio.shutil

    from geetiles.tiles_file import is_json_column, load_tiles

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
        raise UserInputError(f"column {name!r} holds a JSON object per chip (e.g. label proportions), not one value; "
                             f"choose a column of numbers or labels: {', '.join(columns)}")
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
    grid = Grid("EPSG:4326", west, north, dx, dy, _cells(east - west, dx), _cells(north - south, dy))
    if grid.width * grid.height > MAX_PIXELS:
        raise UserInputError(f"the raster would be {grid.width} x {grid.height} pixels at {meters_per_pixel:g} m a "
                             "pixel; choose a larger --meters_per_pixel")
    keep = ~np.isnan(values) & (values != 0 if kind == "categorical" else True)
    geometries = np.asarray(tiles.geometry.array)[keep]
    values = values[keep]
    with tempfile.TemporaryDirectory(prefix="geet-fromvals-", dir=dest.parent if dest.parent.is_dir() else None) as tmp:
        plain = Path(tmp) / "values.tif"
        _rasterise(plain, grid, geometries, values, dtype, nodata, name, categories)
        with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"), atomic_path(dest) as part:
            rasterio.shutil.copy(str(plain), str(part), driver="COG", **{**COG_OPTIONS, "PREDICTOR": "NO"})
    return FromValsSummary(dest, name, len(tiles), int(keep.sum()), kind, categories, grid.width, grid.height, (dx, dy),
                           dtype, nodata, time.monotonic() - began)


def _rasterise(path: Path, grid: Grid, geometries, values: np.ndarray, dtype: str, nodata: float, name: str,
               categories: dict[int, str]) -> None:
    """Burn each chip's value over the pixels whose centre it covers, a strip of rows at a time (memory
    stays a strip, whatever the raster's size), into a tiled GeoTIFF."""
    import json

    import rasterio
    import shapely
    from affine import Affine
    from rasterio.features import rasterize

    bounds = shapely.bounds(geometries) if len(geometries) else np.zeros((0, 4))
    profile = dict(driver="GTiff", width=grid.width, height=grid.height, count=1, dtype=dtype, crs="EPSG:4326",
                   transform=grid.transform, nodata=nodata, tiled=True, blockxsize=BLOCK, blockysize=BLOCK,
                   compress="deflate", zlevel=1, bigtiff="IF_SAFER")
    with rasterio.open(path, "w", **profile) as out:
        for row0 in range(0, grid.height, STRIP_ROWS):
            rows = min(STRIP_ROWS, grid.height - row0)
            top, bottom = grid.y1 - row0 * grid.dy, grid.y1 - (row0 + rows) * grid.dy
            inside = np.flatnonzero((bounds[:, 1] <= top) & (bounds[:, 3] >= bottom)) if len(bounds) else []
            transform = Affine(grid.dx, 0.0, grid.x0, 0.0, -grid.dy, top)
            strip = np.full((rows, grid.width), nodata, dtype=dtype)
            if len(inside):
                rasterize(zip(geometries[inside], values[inside]), out_shape=(rows, grid.width), transform=transform,
                          out=strip, all_touched=False, dtype=dtype)
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
