"""The chips a download needs, read from the tiles file a window at a time: ids, pixel grids and
the polygons of the few irregular chips. The driver never holds the whole table: a pass over a
million chips keeps one window (25 k chips) and 8 bytes a chip while it looks for duplicates."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from geetiles.download.grids import GridTable, irregular, plan_grids
from geetiles.download.messages import ChipJob
from geetiles.errors import UserInputError
from geetiles.identifier_hash import hash64
from geetiles.names import check_identifiers, child_path

log = logging.getLogger("geetiles.download")

CHUNK = 25_000  # rows read at a time: bounds the transient objects (WKB, shapely, strings)
_GRID_COLUMNS = ("identifier", "epsg", "utm_x", "utm_y", "area_km2", "group")


@dataclass
class ChipWindow:
    """Consecutive chips of the table: ``start`` is the position of the first among all chips."""

    start: int
    identifiers: np.ndarray  # str
    grids: GridTable
    masks: dict[int, bytes]  # WKB of chips that do not fill their pixel grid, by row of the window

    def __len__(self) -> int:
        return len(self.identifiers)

    def job(self, row: int, directory: Path) -> ChipJob:
        identifier = str(self.identifiers[row])
        return ChipJob(identifier, self.grids[row], str(child_path(directory, identifier, ".tif")), self.masks.get(row))


class ChipTable:
    """The selected chips of a tiles file (``download.groups``/``download.aoi`` applied, the first
    of each identifier kept), read again from the file at each pass of ``windows()``."""

    def __init__(self, tiles_path: Path, download, pixels_lonlat, meters_per_pixel, chunk: int = CHUNK) -> None:
        self.tiles_path, self.download, self.chunk = tiles_path, download, chunk
        self.pixels_lonlat, self.meters_per_pixel = pixels_lonlat, meters_per_pixel
        self._dropped = np.zeros(0, dtype=np.int64)  # positions among the selected rows: later duplicates
        # without a GeoParquet twin the GeoJSON is read whole, once (its reader does not stream)
        self._legacy = None if _parquet_of(tiles_path) is not None else load_legacy(tiles_path)
        selected = self._find_duplicates()
        self._count = selected - len(self._dropped)

    def __len__(self) -> int:
        return self._count

    def windows(self) -> Iterator[ChipWindow]:
        """Every chip, a window at a time, in the tiles file's order."""
        start = 0
        for first, frame in self._selected():
            drop = self._dropped[(self._dropped >= first) & (self._dropped < first + len(frame))] - first
            if len(drop):
                keep = np.ones(len(frame), dtype=bool)
                keep[drop] = False
                frame = _subset(frame, np.flatnonzero(keep))
            if not len(frame):
                continue
            identifiers = np.asarray(frame["identifier"]).astype(str)
            grids = plan_grids(frame, self.pixels_lonlat, self.meters_per_pixel)
            geometry = np.asarray(frame.geometry) if frame.geometry is not None else None
            masks = {int(row): shapely.to_wkb(geometry[row]) for row in np.flatnonzero(irregular(frame))}
            yield ChipWindow(start, identifiers, grids, masks)
            start += len(frame)

    def identifiers(self) -> Iterator[np.ndarray]:
        """Every chip's identifier, a window at a time (read only when iterated)."""
        return (window.identifiers for window in self.windows())

    def first(self) -> ChipWindow | None:
        return next(iter(self.windows()), None)

    def _selected(self) -> Iterator[tuple[int, object]]:
        """(position of its first row among the selected rows, the rows) for each slice of the file."""
        first = 0
        for part in _read_batches(self.tiles_path, self.chunk, bool(self.download.aoi), self._legacy):
            check_identifiers(part.column("identifier"), f"tiles file {self.tiles_path.name!r}")  # file names
            geometry = shapely.from_wkb(_numpy(part.column("geometry"))) if "geometry" in part.column_names else None
            if self.download.groups or self.download.aoi:
                import geopandas as gpd

                frame = gpd.GeoDataFrame(
                    part.drop_columns(["geometry"]).to_pandas(), geometry=geometry, crs="EPSG:4326"
                )
                frame = select_chips(frame, self.download)
            else:
                frame = ChipColumns({n: _numpy(part.column(n)) for n in part.column_names if n != "geometry"}, geometry)
            yield first, frame
            first += len(frame)

    def _find_duplicates(self) -> int:
        """Two chips with one identifier would write one file in turn (and each rerun would find the
        other's grid there): the first of each is kept, and the run says so. Identifiers are compared
        as 64-bit hashes; only rows whose hash repeats are compared as strings (a second pass, only
        when there are any). Returns the number of selected rows."""
        hashes = [hash64(np.asarray(frame["identifier"]).astype(str)) for _, frame in self._selected()]
        hashes = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
        selected = len(hashes)
        values, counts = np.unique(hashes, return_counts=True)
        if len(values) == selected:
            return selected
        repeated = np.flatnonzero(np.isin(hashes, values[counts > 1]))
        del hashes, values, counts
        seen: set[str] = set()
        dropped = []
        for first, frame in self._selected():
            rows = repeated[(repeated >= first) & (repeated < first + len(frame))]
            identifiers = np.asarray(frame["identifier"])
            for position in rows.tolist():
                identifier = str(identifiers[position - first])
                if identifier in seen:
                    dropped.append(position)
                seen.add(identifier)
        self._dropped = np.asarray(dropped, dtype=np.int64)
        if dropped:
            log.warning(
                "%d chips of the tiles file share their identifier with an earlier chip (UTM tilings: squares "
                "of two zones on a zone seam); the first of each is downloaded, the others are left out",
                len(dropped),
            )
        return selected


def _subset(frame, rows: np.ndarray):
    if isinstance(frame, ChipColumns):
        return ChipColumns(
            {name: frame[name][rows] for name in frame.columns},
            None if frame.geometry is None else frame.geometry[rows],
        )
    return frame.iloc[rows].reset_index(drop=True)


def select_chips(chips, download):
    """Apply ``download.groups`` and ``download.aoi`` filters (the original's --groups, --aoi)."""
    if download.groups:
        if "group" not in chips.columns:
            raise UserInputError(f"download.groups={list(download.groups)} but the tiles file has no 'group' column")
        chips = chips[chips["group"].astype(str).isin([str(g) for g in download.groups])]
    if download.aoi:
        from geetiles.regions.countries import find_region

        _, region = find_region(download.aoi)
        chips = chips[shapely.intersects(chips.geometry.values, region)]
    return chips.reset_index(drop=True)


class ChipColumns:
    """A slice of the tiles file as numpy arrays, with the little of a GeoDataFrame that
    plan_grids and irregular read (``columns``, ``geometry``, a column by name). Without chip
    filters a download never imports pandas (its start-up is in the fixed cost ``bench/download.py`` measures)."""

    def __init__(self, columns: dict[str, np.ndarray], geometry: np.ndarray | None) -> None:
        """``geometry`` None for UTM chips: their grids come from their columns alone."""
        self._columns, self.geometry = columns, geometry
        self.columns = list(columns)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name]

    def __len__(self) -> int:
        return len(self._columns["identifier"])


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


def _read_batches(tiles_path: Path, chunk: int, geometry_needed: bool = True, legacy=None):
    """The tiles file's id, grid and group columns and its geometry as WKB, ``chunk`` rows at a
    time: from the GeoParquet twin when it is in sync (those columns only, streamed; UTM chips
    without their geometry unless ``geometry_needed``), else from ``legacy``, the GeoJSON (as
    0.1.7 wrote it) loaded once by ``load_legacy``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = _parquet_of(tiles_path)
    if parquet is not None:
        source = pq.ParquetFile(parquet)
        names = source.schema_arrow.names
        _require_identifier(names, tiles_path)
        utm = all(c in names for c in ("epsg", "utm_x", "utm_y", "area_km2"))
        columns = [
            c for c in (*_GRID_COLUMNS, "geometry") if c in names and (c != "geometry" or geometry_needed or not utm)
        ]
        for batch in source.iter_batches(batch_size=chunk, columns=columns):
            yield pa.Table.from_batches([batch])
        return
    frame = legacy if legacy is not None else load_legacy(tiles_path)
    for start in range(0, len(frame), chunk):
        part = frame.iloc[start : start + chunk]
        columns = {c: part[c].to_numpy() for c in _GRID_COLUMNS if c in part.columns}
        columns["geometry"] = shapely.to_wkb(part.geometry.values)
        yield pa.table(columns)


def _parquet_of(tiles_path: Path) -> Path | None:
    """The GeoParquet to read the tiles file from: itself, or its twin when in sync; else None."""
    from geetiles.tiles import twin_in_sync, twin_path

    parquet = tiles_path if tiles_path.suffix == ".parquet" else twin_path(tiles_path)
    if parquet.exists() and (parquet == tiles_path or twin_in_sync(parquet, tiles_path)):
        return parquet
    return None


def load_legacy(tiles_path: Path):
    """A tiles file without a GeoParquet twin (0.1.7's GeoJSON, or one edited by hand), whole."""
    from geetiles.tiles import load_tiles

    frame = load_tiles(tiles_path)
    _require_identifier(frame.columns, tiles_path)
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    return frame


def _require_identifier(names, tiles_path: Path) -> None:
    if "identifier" not in names:
        raise UserInputError(
            f"tiles file {str(tiles_path)!r} has no 'identifier' column; give a tiles file written "
            "by the tiling stage or geet grid"
        )
