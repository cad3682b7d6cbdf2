"""A run's updates of a tiles file: the twin per stage, the GeoJSON once, a run killed in between, two writers."""

import json
import multiprocessing
import threading
import time

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geetiles.errors import UserInputError
from geetiles.tiles import load_tiles, twin_path, write_tiles
from geetiles.tiles.legacy import is_legacy_file
from geetiles.tiles.lock import TilesLock
from geetiles.tiles.updates import TilesUpdates, geojson_behind, updating


def _tiles(folder, n=4):
    frame = gpd.GeoDataFrame(
        {"identifier": [f"{i:013x}" for i in range(n)], "area_km2": [1.0] * n},
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(n)],
        crs=4326,
    )
    return write_tiles(frame, folder / "x_partitions_aschips_0000000000000.geojson")


def _add(updates, path, column, value):
    frame = updates.load(path)
    frame[column] = value
    updates.save(frame, path)


def test_stages_write_the_twin_and_the_geojson_is_written_once_at_flush(tmp_path):
    path = _tiles(tmp_path)
    before = path.read_bytes()
    updates = TilesUpdates()
    _add(updates, path, "a", "1")
    _add(updates, path, "b", "2")
    assert path.read_bytes() == before  # no GeoJSON write yet
    assert geojson_behind(path) and {"a", "b"} <= set(load_tiles(path).columns)
    assert updates.flush() == [path.resolve()] and updates.geojson_writes == 1
    assert not geojson_behind(path)
    assert list(gpd.read_file(path).columns) == [
        "identifier",
        "area_km2",
        "a",
        "b",
        "geometry",
    ]
    assert not (tmp_path / "x_partitions_aschips_0000000000000.lock").exists()  # released and removed


def test_the_flush_rewrites_the_saved_twin_in_sync_without_building_it_again(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    from geetiles.tiles import twin

    path = _tiles(tmp_path)
    built = []
    monkeypatch.setattr(twin, "frame_table", lambda frame, build=twin.frame_table: built.append(1) or build(frame))
    updates = TilesUpdates()
    _add(updates, path, "demo_proportions", [{"10": 0.25, "20": 0.75}, {}, None, {"80": 1.0}])
    _add(updates, path, "split", "train")
    assert len(built) == 2  # one table per save
    updates.flush()
    assert len(built) == 2  # the flush wrote the last one again
    assert not geojson_behind(path) and twin.twin_in_sync(twin_path(path), path)
    flushed = pq.read_table(twin_path(path))
    frame = load_tiles(path)  # the same frame, written whole the plain way
    write_tiles(frame, tmp_path / "y_partitions_aschips_0000000000000.geojson")
    plain = pq.read_table(tmp_path / "y_partitions_aschips_0000000000000.parquet")
    assert flushed.equals(plain)  # the same columns and values
    assert flushed.schema.metadata[b"geo"] == plain.schema.metadata[b"geo"]
    assert gpd.read_file(path)["split"].tolist() == ["train"] * 4


def test_a_frame_changed_after_its_save_gets_a_twin_built_from_it(tmp_path, monkeypatch):
    from geetiles.tiles import twin

    path = _tiles(tmp_path)
    updates = TilesUpdates()
    _add(updates, path, "a", "1")
    updates._frames[path.resolve()] = updates.load(path).assign(a="2")  # another frame than the one saved
    built = []
    monkeypatch.setattr(twin, "frame_table", lambda frame, build=twin.frame_table: built.append(1) or build(frame))
    updates.flush()
    assert built == [1] and load_tiles(path)["a"].tolist() == ["2"] * 4


@pytest.mark.slow
def test_a_run_killed_between_two_stages_loses_nothing_and_the_next_run_writes_the_geojson(
    tmp_path,
):
    """A process that saves one column and dies before the flush (os._exit: no finally, no atexit)."""
    path = _tiles(tmp_path)
    context = multiprocessing.get_context("spawn")
    process = context.Process(target=_save_and_die, args=(str(path),))
    process.start()
    process.join(60)
    assert process.exitcode == 9
    assert "killed" not in gpd.read_file(path).columns  # the GeoJSON is behind ...
    assert load_tiles(path)["killed"].tolist() == ["yes"] * 4  # ... loading sees the newest columns
    updates = TilesUpdates()  # the lock its holder left is taken (the kernel dropped it)
    frame = updates.load(path)
    assert frame["killed"].tolist() == ["yes"] * 4
    assert updates.flush() == [path.resolve()]  # a stage that adds nothing still brings the GeoJSON up
    assert gpd.read_file(path)["killed"].tolist() == ["yes"] * 4 and not geojson_behind(path)


def _save_and_die(path):
    import os

    updates = TilesUpdates()
    frame = updates.load(path)
    frame["killed"] = "yes"
    updates.save(frame, path)
    os._exit(9)


def test_a_geojson_edited_by_hand_wins_over_a_twin_ahead_of_it(tmp_path):
    path = _tiles(tmp_path)
    updates = TilesUpdates()
    _add(updates, path, "a", "1")
    updates.release()
    edited = gpd.read_file(path)
    edited["edited"] = 1
    time.sleep(0.01)
    edited.to_file(path, driver="GeoJSON")
    assert "edited" in load_tiles(path).columns and not geojson_behind(path)


def test_a_second_writer_gets_one_line_and_nothing_is_lost(tmp_path):
    path = _tiles(tmp_path)
    first = TilesUpdates()
    _add(first, path, "first", "1")
    second = TilesUpdates(lock_wait_s=0.2)
    with pytest.raises(
        UserInputError,
        match=r"another geetiles process is updating x_partitions_aschips_0000000000000"
        r"\.geojson .*wait for it to finish",
    ) as refused:
        second.load(path)
    assert "\n" not in str(refused.value)
    first.flush()
    _add(second, path, "second", "2")  # now free
    second.flush()
    assert {"first", "second"} <= set(gpd.read_file(path).columns)


def test_two_threads_updating_at_once_never_lose_a_column(tmp_path):
    """Each thread adds its column under the lock, waiting for the other: both columns survive."""
    path = _tiles(tmp_path)
    errors = []

    def worker(column):
        try:
            updates = TilesUpdates(lock_wait_s=20)
            try:
                frame = updates.load(path)
                time.sleep(0.2)  # all have started: without the lock one would overwrite the other
                frame[column] = column
                updates.save(frame, path)
                updates.flush()
            finally:
                updates.release()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(f"c{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert {"c0", "c1", "c2"} <= set(gpd.read_file(path).columns) and not geojson_behind(path)


def test_the_lock_file_of_a_holder_that_died_is_taken_and_removed(tmp_path):
    path = _tiles(tmp_path)
    lock = TilesLock(path)
    lock.path.write_bytes(b"")  # left by a dead holder
    with lock:
        assert lock.held
    assert not lock.path.exists()


def test_a_lock_in_a_folder_that_cannot_be_written_is_one_line(tmp_path):
    path = _tiles(tmp_path)
    missing = tmp_path / "gone" / path.name
    with pytest.raises(UserInputError, match="cannot create the lock file"):
        TilesLock(missing).acquire()


def test_legacy_rewrites_recompute_area_km2_as_0_1_7_and_keep_extra_columns_in_the_twin(
    tmp_path,
):
    from geetiles.tiling.grid import legacy_rectangles

    chips = legacy_rectangles(np.array([[6.0, 49.5, 6.013, 49.509], [6.013, 49.5, 6.026, 49.509]]))
    path = write_tiles(chips, tmp_path / "x_partitions_aschips_0000000000000.geojson")
    assert is_legacy_file(path)
    updates = TilesUpdates()
    frame = updates.load(path)
    frame["lc_proportions"] = [{"1": 0.5, "4": 0.25}, {}]
    frame["lc_valid_frac"] = [1.0, 0.0]
    updates.save(frame, path, twin_only=["lc_valid_frac"])
    updates.flush()
    text = path.read_text()
    assert is_legacy_file(path) and '"lc_proportions": { "1": 0.5, "4": 0.25 } }' in text
    assert '"lc_proportions": { } }' in text and "valid_frac" not in text
    twin = load_tiles(twin_path(path))
    assert twin["lc_valid_frac"].tolist() == [1.0, 0.0] and twin["lc_proportions"][0] == {"1": 0.5, "4": 0.25}
    parsed = [f["properties"]["area_km2"] for f in json.loads(text)["features"]]
    assert parsed == twin["area_km2"].tolist()  # the twin holds what the GeoJSON says


def test_a_stage_function_called_alone_writes_its_geojson_and_releases_the_lock(
    tmp_path,
):
    path = _tiles(tmp_path)
    with updating(None) as updates:
        _add(updates, path, "alone", "1")
    assert "alone" in gpd.read_file(path).columns and not geojson_behind(path)
    TilesLock(path, 0).acquire()  # free
