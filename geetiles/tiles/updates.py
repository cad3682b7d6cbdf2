"""The tiles files a run updates: locked, the twin written by each stage, the GeoJSON written once.

The GeoJSON of a million chips takes tens of seconds to write, the twin a second or two. So a stage
that adds columns (``intersect``, ``proportions``, ``split``) saves through :class:`TilesUpdates`: the
twin is written at once (marked ahead of its GeoJSON) and the frame is handed to the next stage; the
runner calls :meth:`TilesUpdates.flush` after the last stage that adds columns, which writes each
GeoJSON once (and its twin, in sync). A stage run alone (each ``geet`` command) is a run of one stage:
one GeoJSON write.

A run that dies between a stage and the flush leaves a twin ahead of its GeoJSON. Loading still sees
the newest columns (:func:`geetiles.tiles.load.load_tiles` takes a twin that is ahead), and the next
run that updates the file rewrites its GeoJSON even when it adds nothing. Tools that read the GeoJSON
alone see it as it was before the run until then. A GeoJSON edited by hand meanwhile wins over the twin.

Each file is locked (:mod:`geetiles.tiles.lock`) from its first load here to its flush, so two processes
never update it at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from geetiles.layout import twin_path
from geetiles.tiles.load import LEGACY_LAYOUT_ATTR, TWIN_ONLY_ATTR, load_tiles
from geetiles.tiles.lock import LOCK_WAIT_S, TilesLock


class TilesUpdates:
    """Pending updates of tiles files, keyed by their resolved GeoJSON path."""

    def __init__(self, lock_wait_s: float = LOCK_WAIT_S):
        self.lock_wait_s = lock_wait_s
        self._locks: dict[Path, TilesLock] = {}
        self._frames: dict[Path, object] = {}
        self._tables: dict[Path, tuple[object, object]] = {}  # (frame saved, its twin's table) for the flush
        self._stale: set[Path] = set()  # loaded with a GeoJSON behind its twin: flushed even if unchanged
        self.geojson_writes = 0  # GeoJSON files written by flush (the runner's count, for tests and logs)

    def _lock(self, path: Path) -> None:
        if path not in self._locks:
            lock = TilesLock(path, self.lock_wait_s)
            lock.acquire()
            self._locks[path] = lock

    def load(self, tiles_path) -> object:
        """The tiles file as this run has it (locked from now on): the frame last saved, else loaded."""
        path = Path(tiles_path).resolve()
        if not path.exists():
            load_tiles(path)  # its one line, before a lock file is made in a folder that may not exist
        self._lock(path)
        if path in self._frames:  # a copy: a stage that fails half-way leaves the saved frame as it was
            return self._frames[path].copy(deep=False)
        frame = load_tiles(path)
        if geojson_behind(path):
            self._stale.add(path)
            self._frames[path] = frame
        return frame

    def save(self, frame, tiles_path, twin_only=()) -> None:
        """Write ``frame``'s twin now and its GeoJSON at :meth:`flush`. A frame in 0.1.7's layout gets
        0.1.7's ``area_km2`` (it recomputed the column on every load, so its rewrites carry it)."""
        from geetiles.tiles.write import write_tiles_and_twin

        path = Path(tiles_path).resolve()
        self._lock(path)
        if twin_only:
            frame.attrs[TWIN_ONLY_ATTR] = list(dict.fromkeys([*frame.attrs.get(TWIN_ONLY_ATTR, ()), *twin_only]))
        if frame.attrs.get(LEGACY_LAYOUT_ATTR) and "area_km2" in frame.columns:
            from geetiles.tiles.geojson import in_lonlat
            from geetiles.tiles.legacy import original_area_km2

            frame["area_km2"] = original_area_km2(in_lonlat(frame).geometry.values)
        table = write_tiles_and_twin(frame, path, geojson=False)
        self._frames[path] = frame
        self._tables[path] = (frame, table)

    def flush(self) -> list[Path]:
        """Write the GeoJSON (and an in-sync twin) of every file saved or found stale; release the locks.
        The twin of a frame saved here is written again from the table its save built (the frame is the
        same object: stages change copies of it, see :meth:`load`)."""
        from geetiles.tiles.write import write_tiles_and_twin

        written = []
        try:
            for path, frame in list(self._frames.items()):
                saved, table = self._tables.get(path, (None, None))
                write_tiles_and_twin(frame, path, twin_table=table if saved is frame else None)
                self.geojson_writes += 1
                written.append(path)
                del self._frames[path]
        finally:
            self.release()
        return written

    def release(self) -> None:
        """Release every lock; what :meth:`flush` did not write stays in the twins, ahead of their GeoJSON
        (a run stopped by an interrupt)."""
        self._frames.clear()
        self._tables.clear()
        self._stale.clear()
        for lock in self._locks.values():
            lock.release()
        self._locks.clear()


def geojson_behind(tiles_path) -> bool:
    """True when the twin of a tiles file holds columns its GeoJSON does not have yet."""
    import pyarrow.parquet as pq

    from geetiles.tiles.twin import BEHIND_KEY, twin_in_sync

    twin = twin_path(tiles_path)
    if not twin.exists() or not twin_in_sync(twin, Path(tiles_path)):
        return False
    try:
        return (pq.read_schema(twin).metadata or {}).get(BEHIND_KEY) == b"true"
    except Exception:
        return False


@contextlib.contextmanager
def updating(updates: TilesUpdates | None) -> Iterator[TilesUpdates]:
    """``updates`` as given (a run's: the runner flushes), or one of its own flushed on success (a
    stage function called alone); released in every case."""
    if updates is not None:
        yield updates
        return
    own = TilesUpdates()
    try:
        yield own
        own.flush()
    finally:
        own.release()
