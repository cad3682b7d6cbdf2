"""The proportions stage and `geet lp.compute` / `geet lp.from_foreign` on synthetic label chips:
columns in place (name and hash unchanged), the twin's wide columns, failed chips, bad input."""

import json

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import pytest
import shapely

from geetiles.proportions.foreign_mix import mix_from_foreign
from geetiles.proportions.local import compute_file
from geetiles.tiles import load_tiles, twin_path
from geetiles.tiling.ids import list_hash
from tests.conftest import files_under, geet_cmd
from tests.in_process import run_in_process
from tests.proportions.synthetic import halves, record, tiles_file, write_chip

CLASSES = [{"code": 1, "name": "forest", "color": "#00ff00"}, {"code": 2, "name": "water", "color": "#0000ff"}]


def make_dataset(folder, count=4, name="lc", with_record=True, size=0.01):
    """``count`` chips in a row, 0.01° wide, west half class 1 and east half class 2; the last one
    half nodata (class 1 then nodata)."""
    ids = [f"{i:013x}" for i in range(1, count + 1)]
    boxes = [(6.0 + i * size, 49.5, 6.0 + (i + 1) * size, 49.5 + size) for i in range(count)]
    body = list_hash(ids)
    path = tiles_file(folder / f"t_partitions_aschips_{body}.geojson", ids, [shapely.box(*b) for b in boxes])
    chips = path.with_suffix("") / name
    for index, (identifier, bounds) in enumerate(zip(ids, boxes)):
        values = halves(left=1, right=0 if index == count - 1 else 2)
        write_chip(chips / f"{identifier}.tif", values, bounds)
    if with_record:
        record(chips, CLASSES)
    return path, chips, ids


def test_lp_compute_writes_the_columns_in_place(tmp_path):
    path, chips, ids = make_dataset(tmp_path)
    result = run_in_process(geet_cmd("lp.compute", "--tiles_file", path.name, "--labels_dataset_def", "lc"), tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert path.exists() and list_hash(ids) in path.name  # same name, same hash
    features = json.loads(path.read_text())["features"]
    props = [f["properties"] for f in features]
    assert [p["lc_proportions"] for p in props] == [{"1": 0.5, "2": 0.5}] * 3 + [{"1": 1.0}]
    assert [p["lc_valid_frac"] for p in props] == [1.0, 1.0, 1.0, 0.5]
    assert "lc_class_1" not in props[0]  # wide columns: twin only
    twin = gpd.read_parquet(twin_path(path))
    assert twin["lc_class_1"].tolist() == [0.5, 0.5, 0.5, 1.0] and twin["lc_class_2"].tolist() == [0.5, 0.5, 0.5, 0.0]
    loaded = load_tiles(path)
    assert loaded["lc_proportions"].tolist()[3] == {"1": 1.0}
    record_file = path.with_name(f"{path.stem}.lc_proportions.geetiles.yaml")
    assert record_file.exists() and "stage: proportions" in record_file.read_text()


def test_the_README_option_name_works_too(tmp_path):
    path, _, _ = make_dataset(tmp_path)
    result = run_in_process(geet_cmd("lp.compute", "--tiles_file", path.name, "--dataset_name", "lc"), tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "lc_proportions" in json.loads(path.read_text())["features"][0]["properties"]


def test_missing_and_corrupt_chips_are_listed_and_fail_the_run_after_the_others(tmp_path):
    path, chips, ids = make_dataset(tmp_path, count=5)
    (chips / f"{ids[1]}.tif").unlink()
    (chips / f"{ids[2]}.tif").write_bytes(b"II*\x00garbage")
    result = run_in_process(geet_cmd("lp.compute", "--tiles_file", path.name, "--labels_dataset_def", "lc"), tmp_path)
    assert result.returncode not in (0, 2), result.stderr[-2000:]
    assert "2 of 5 chips could not be read" in result.stderr and "Traceback" not in result.stderr
    props = [f["properties"] for f in json.loads(path.read_text())["features"]]
    assert props[0]["lc_proportions"] == {"1": 0.5, "2": 0.5} and props[3]["lc_proportions"] == {"1": 0.5, "2": 0.5}
    assert props[1]["lc_proportions"] is None and props[2]["lc_proportions"] is None
    listing = path.with_name(f"{path.stem}.lc_proportions.failed.csv").read_text().splitlines()
    assert listing[0] == "identifier,reason" and len(listing) == 3
    assert any(ids[1] in line and "missing" in line for line in listing)
    # fetched again, a rerun succeeds and clears the listing
    for identifier in ids[1:3]:
        (chips / f"{identifier}.tif").unlink(missing_ok=True)
        write_chip(chips / f"{identifier}.tif", halves(), (6.0, 49.5, 6.01, 49.51))
    result = run_in_process(geet_cmd("lp.compute", "--tiles_file", path.name, "--labels_dataset_def", "lc"), tmp_path)
    assert result.returncode == 0 and not path.with_name(f"{path.stem}.lc_proportions.failed.csv").exists()


@pytest.mark.parametrize("problem", ["no folder", "imagery", "foreign without proportions", "python definition"])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, problem):
    path, chips, ids = make_dataset(tmp_path, count=2)
    if problem == "imagery":
        record(chips, [])  # an images dataset: no classes in its record
    before = {p: p.read_bytes() for p in files_under(tmp_path)}
    if problem == "no folder":
        args = ["lp.compute", "--tiles_file", path.name, "--labels_dataset_def", "other"]
    elif problem == "imagery":
        args = ["lp.compute", "--tiles_file", path.name, "--labels_dataset_def", "lc"]
    elif problem == "python definition":
        args = ["lp.compute", "--tiles_file", path.name, "--labels_dataset_def", "defs/my.py"]
    else:
        units = tiles_file(
            tmp_path / "t_partitions_units_0000000000000.geojson", ["u1"], [shapely.box(5.9, 49.4, 6.2, 49.6)]
        )
        before = {p: p.read_bytes() for p in files_under(tmp_path)}
        args = [
            "lp.from_foreign",
            "--tiles_file",
            path.name,
            "--foreign_tiles_file",
            units.name,
            "--labels_dataset_def",
            "lc",
        ]
    result = run_in_process(geet_cmd(*args), tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    expected = {
        "no folder": "does not exist: download the labels first",
        "imagery": "no label classes",
        "foreign without proportions": "no lc_proportions column yet",
        "python definition": "give the labels dataset's name",
    }
    assert expected[problem] in lines[0]
    assert {p: p.read_bytes() for p in files_under(tmp_path)} == before


def test_chips_without_a_record_take_the_packaged_recipe_and_its_keys(tmp_path):
    """Folders 0.1.7 downloaded have no record: esa-world-cover's classes and its 1..11 keys."""
    path, chips, ids = make_dataset(tmp_path, count=2, name="esa-world-cover", with_record=False)
    for identifier, geometry in zip(ids, load_tiles(path).geometry):
        values = np.full((100, 100), 10, dtype=np.uint8)
        values[:, 60:] = 95
        (chips / f"{identifier}.tif").unlink()
        write_chip(chips / f"{identifier}.tif", values, geometry.bounds)
    outcome = compute_file(path, chips, "esa-world-cover")
    assert not outcome.failed
    assert load_tiles(path)["esa-world-cover_proportions"].tolist()[0] == {"1": 0.6, "10": 0.4}


@pytest.mark.slow  # a process pool
def test_many_chips_in_parallel_workers_give_the_same_columns(tmp_path):
    path, chips, ids = make_dataset(tmp_path, count=30)
    compute_file(path, chips, workers=1)
    single = pq.read_table(twin_path(path)).drop(["geometry"]).to_pandas()
    compute_file(path, chips, workers=2)
    parallel = pq.read_table(twin_path(path)).drop(["geometry"]).to_pandas()
    assert single.equals(parallel)


def test_from_foreign_mixes_units_by_area_in_metres_times_valid_frac(tmp_path):
    """Chips straddling two units get the units' shares weighted by the exact overlap area (m²)
    times each unit's valid fraction; a chip in one unit gets that unit's shares."""
    from geetiles.areas import area_m2

    ids = ["c1", "c2", "c3"]
    chips = [
        shapely.box(6.0, 49.5, 6.02, 49.52),
        shapely.box(6.03, 49.5, 6.05, 49.52),
        shapely.box(7.0, 49.5, 7.01, 49.51),
    ]
    path = tiles_file(tmp_path / "t_partitions_aschips_0000000000001.geojson", ids, chips)
    units = [shapely.box(5.9, 49.4, 6.015, 49.6), shapely.box(6.015, 49.4, 6.2, 49.6)]
    foreign = tiles_file(tmp_path / "t_partitions_communes_0000000000002.geojson", ["u1", "u2"], units)
    frame = load_tiles(foreign)
    frame["lc_proportions"] = [{"1": 1.0}, {"1": 0.25, "2": 0.75}]
    frame["lc_valid_frac"] = [1.0, 0.5]
    from geetiles.tiles import write_tiles

    write_tiles(frame, foreign)
    mix_from_foreign(path, foreign, "lc")
    result = load_tiles(path)
    a1, a2 = area_m2(np.array([shapely.intersection(chips[0], u) for u in units]))
    w1, w2 = a1 * 1.0, a2 * 0.5
    expected = {"1": (w1 * 1.0 + w2 * 0.25) / (w1 + w2), "2": (w2 * 0.75) / (w1 + w2)}
    got = result["lc_proportions_at_communes"].tolist()
    assert got[0] == pytest.approx(expected, abs=1e-12)
    assert got[1] == pytest.approx({"1": 0.25, "2": 0.75}, abs=1e-15)
    assert got[2] == {}
    assert result["foreignid_communes"].tolist() == ["u2" if a2 > a1 else "u1", "u2", "-1"]
