"""The chips a download needs, read a slice at a time: ids, pixel grids and the polygons of the
few irregular chips; never a million shapely geometries at once (about 1 KB a chip)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from geetiles.download.grids import GridTable, irregular, plan_grids
from geetiles.errors import UserInputError

log = logging.getLogger("geetiles.download")

CHUNK = 25_000  # rows read at a time: bounds the transient objects (WKB, shapely, strings)
_GRID_COLUMNS = ("identifier", "epsg", "utm_x", "utm_y", "area_km2", "group")


@dataclass
class ChipTable:
    identifiers: np.ndarray  # str
    grids: GridTable | None  # None when there are no chips
    masks: dict[int, bytes]  # WKB of chips that do not fill their pixel grid, by row

    def __len__(self) -> int:
        return len(self.identifiers)


def select_chips(chips, download):
    """Apply ``download.groups`` and ``download.aoi`` filters (the original's --groups, --aoi)."""
    if download.groups:
        if "group" not in chips.columns:
            raise UserInputError(f"download.groups={list(download.groups)} but the tiles file has no 'group' column")
        chips = chips[chips["group"].astype(str).isin([str(g) for g in download.groups])]
    if download.aoi:
        from geetiles.aoi.countries import find_region

        _, region = find_region(download.aoi)
        chips = chips[shapely.intersects(chips.geometry.values, region)]
    return chips.reset_index(drop=True)


class ChipColumns:
    """A slice of the tiles file as numpy arrays, with the little of a GeoDataFrame that
    plan_grids and irregular read (``columns``, ``geometry``, a column by name). Without chip
    filters a download never imports pandas, which costs about 0.6 s at every start."""

    def __init__(self, columns: dict[str, np.ndarray], geometry: np.ndarray | None) -> None:
        """``geometry`` None for UTM chips: their grids come from their columns alone."""
        self._columns, self.geometry = columns, geometry
        self.columns = list(columns)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name]

    def __len__(self) -> int:
        return len(self._columns["identifier"])


def load_chip_table(tiles_path: Path, download, pixels_lonlat, meters_per_pixel, chunk: int = CHUNK) -> ChipTable:
    """The selected chips of a tiles file with their pixel grids, built ``chunk`` rows at a time."""
    identifiers, grids, masks = [], [], {}
    offset = 0
    for part in _read_batches(tiles_path, chunk, geometry_needed=bool(download.aoi)):
        geometry = shapely.from_wkb(_numpy(part.column("geometry"))) if "geometry" in part.column_names else None
        if download.groups or download.aoi:
            import geopandas as gpd

            frame = gpd.GeoDataFrame(part.drop_columns(["geometry"]).to_pandas(), geometry=geometry, crs="EPSG:4326")
            frame = select_chips(frame, download)
        else:
            frame = ChipColumns({name: _numpy(part.column(name)) for name in part.column_names if name != "geometry"},
                                geometry)
        if not len(frame):
            continue
        identifiers.append(np.asarray(frame["identifier"]).astype(str))
        grids.append(plan_grids(frame, pixels_lonlat, meters_per_pixel))
        for row in np.flatnonzero(irregular(frame)):
            masks[offset + int(row)] = shapely.to_wkb(np.asarray(frame.geometry)[row])
        offset += len(frame)
    if not identifiers:
        return ChipTable(np.zeros(0, dtype="<U13"), None, {})
    return _first_of_each(ChipTable(np.concatenate(identifiers), GridTable.concat(grids), masks))


_NUMPY_NAMES = {"double": "float64", "float": "float32", "halffloat": "float16"}


def _numpy(column) -> np.ndarray:
    """An Arrow column as numpy without pyarrow's own conversion, which imports pandas (0.6 s at
    every start) even for numbers: numbers straight from the buffer, anything else as objects."""
    import pyarrow as pa

    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if (pa.types.is_integer(array.type) or pa.types.is_floating(array.type)) and array.null_count == 0:
        dtype = np.dtype(_NUMPY_NAMES.get(str(array.type), str(array.type)))
        return np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize)
    return np.array(array.to_pylist(), dtype=object)


def _first_of_each(table: ChipTable) -> ChipTable:
    """Two chips with one identifier would write one file in turn (and each rerun would find the
    other's grid there): keep the first of each and say so."""
    keep = _first_rows(table.identifiers)
    if keep is None:
        return table
    log.warning("%d chips of the tiles file share their identifier with an earlier chip (UTM tilings: squares of "
                "two zones on a zone seam); the first of each is downloaded, the others are left out",
                len(table) - len(keep))
    grids = table.grids
    identifiers = table.identifiers[keep]
    table.identifiers = None  # one array copied at a time: the peak stays near one table, not two
    subset = GridTable(grids.crs_names, grids.crs_index[keep], grids.transforms[keep], grids.width[keep], grids.height[keep])
    position = {int(old): new for new, old in enumerate(keep)}
    masks = {position[row]: wkb for row, wkb in table.masks.items() if row in position}
    return ChipTable(identifiers, subset, masks)


def _first_rows(identifiers: np.ndarray) -> np.ndarray | None:
    """Rows of the first occurrence of each identifier, in order; None when all are distinct.

    Sorting a million strings copied them several times (+300 MB at 1 M chips): identifiers are
    hashed to 64 bits and only rows whose hash repeats are compared as strings."""
    if len(identifiers) < 2:
        return None
    hashes = _hash64(identifiers)
    _, first, counts = np.unique(hashes, return_index=True, return_counts=True)
    if len(first) == len(identifiers):
        return None
    repeated = np.flatnonzero(np.isin(hashes, _[counts > 1]))  # rows whose hash is not unique
    seen: set[str] = set()
    drop = []
    for row in repeated.tolist():
        identifier = str(identifiers[row])
        if identifier in seen:
            drop.append(row)
        seen.add(identifier)
    if not drop:
        return None
    keep = np.ones(len(identifiers), dtype=bool)
    keep[drop] = False
    return np.flatnonzero(keep)


def _hash64(identifiers: np.ndarray) -> np.ndarray:
    """FNV-1a-style 64-bit hash of each fixed-width string, vectorised over its characters."""
    identifiers = np.asarray(identifiers, dtype=str)  # fixed-width UTF-32: 4 bytes a character
    width = max(1, identifiers.dtype.itemsize // 4)
    codes = identifiers.view(np.uint32).reshape(len(identifiers), width)
    value = np.full(len(identifiers), 0xCBF29CE484222325, dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    with np.errstate(over="ignore"):
        for column in range(codes.shape[1]):
            value ^= codes[:, column].astype(np.uint64)
            value *= prime
    return value


def _read_batches(tiles_path: Path, chunk: int, geometry_needed: bool = True):
    """The tiles file's id, grid and group columns and its geometry as WKB, ``chunk`` rows at a
    time: from the GeoParquet twin when it is in sync (those columns only, streamed; UTM chips
    without their geometry unless ``geometry_needed``), else from the GeoJSON (as 0.1.7 wrote it)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from geetiles.tiles_file import _twin_in_sync, load_tiles, twin_path

    parquet = tiles_path if tiles_path.suffix == ".parquet" else twin_path(tiles_path)
    if parquet.exists() and (parquet == tiles_path or _twin_in_sync(parquet, tiles_path)):
        source = pq.ParquetFile(parquet)
        names = source.schema_arrow.names
        _require_identifier(names, tiles_path)
        utm = all(c in names for c in ("epsg", "utm_x", "utm_y", "area_km2"))
        columns = [c for c in (*_GRID_COLUMNS, "geometry") if c in names and (c != "geometry" or geometry_needed or not utm)]
        for batch in source.iter_batches(batch_size=chunk, columns=columns):
            yield pa.Table.from_batches([batch])
        return
    frame = load_tiles(tiles_path)
    _require_identifier(frame.columns, tiles_path)
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    for start in range(0, len(frame), chunk):
        part = frame.iloc[start:start + chunk]
        columns = {c: part[c].to_numpy() for c in _GRID_COLUMNS if c in part.columns}
        columns["geometry"] = shapely.to_wkb(part.geometry.values)
        yield pa.table(columns)


def _require_identifier(names, tiles_path: Path) -> None:
    if "identifier" not in names:
        raise UserInputError(f"tiles file {str(tiles_path)!r} has no 'identifier' column; give a tiles file written "
                             "by the tiling stage or geet grid")
