"""`geet lp.compute` and `geet lp.from_foreign` against the files geetiles 0.1.7 wrote on the same
chips (tests/data/original017/files/proportions/tokyo, CASES.md): equal wherever the original was
right, and different where it was wrong in the documented ways."""

import gzip
import json
import shutil
from pathlib import Path

import pytest
import shapely

from tests.conftest import geet_cmd
from tests.in_process import run_in_process
from tests.proportions.original_labels import write_original_label_chips

ORIGINAL = Path(__file__).resolve().parents[1] / "data" / "original017" / "files"
CASE = ORIGINAL / "proportions" / "tokyo"
CHIPS = "tokyo_partitions_aschips_0425f1f89eea7"  # 246 chips of 1 km (0.1.7's grid)
GRID5K = "tokyo_partitions_aschips_037b6c94b3cbe"  # 10 chips of 5 km (rectangles)
RANDOM5K = "tokyo_partitions_5k_2b30fd879770a"  # 20 random pieces of 0.1.7 (irregular)
LABELS = "esa-world-cover"


def _features(path: Path) -> dict[str, dict]:
    data = path.read_bytes()
    features = json.loads(gzip.decompress(data) if path.suffix == ".gz" else data)["features"]
    return {f["properties"]["identifier"]: f for f in features}


def _twin_column(tiles: Path, column: str) -> dict:
    """identifier → value of a column the twin alone holds (0.1.7's layout keeps its own columns only)."""
    import pyarrow.parquet as pq

    table = pq.read_table(tiles.with_suffix(".parquet"), columns=["identifier", column]).to_pydict()
    return dict(zip(table["identifier"], table[column]))


@pytest.fixture(scope="module")
def tokyo(tmp_path_factory) -> Path:
    """The tiles files as 0.1.7 wrote them, and their label chips as 0.1.7 laid them out (no record)."""
    folder = tmp_path_factory.mktemp("tokyo")
    shutil.copy(ORIGINAL / "grid" / "tokyo-1000" / f"{CHIPS}.geojson", folder)
    shutil.copy(ORIGINAL / "grid" / "tokyo-5000" / f"{GRID5K}.geojson", folder)
    shutil.copy(CASE / f"input_{RANDOM5K}.geojson", folder / f"{RANDOM5K}.geojson")
    for stem in (CHIPS, GRID5K, RANDOM5K):
        write_original_label_chips(folder, stem, LABELS)
    for stem in (CHIPS, GRID5K, RANDOM5K):
        result = run_in_process(
            geet_cmd("lp.compute", "--tiles_file", f"{stem}.geojson", "--labels_dataset_def", LABELS), folder
        )
        assert result.returncode == 0, result.stderr[-2000:]
    return folder


@pytest.mark.parametrize("stem", [CHIPS, GRID5K])
def test_rectangular_chips_without_nodata_equal_the_original(tokyo, stem):
    """Same keys (0.1.7's 1..11 for esa-world-cover), values within 1e-9."""
    ours, theirs = _features(tokyo / f"{stem}.geojson"), _features(CASE / f"lp_compute_{stem}.geojson.gz")
    assert ours.keys() == theirs.keys()
    column = f"{LABELS}_proportions"
    valid_frac = _twin_column(tokyo / f"{stem}.geojson", f"{LABELS}_valid_frac")
    for identifier, feature in theirs.items():
        expected, got = feature["properties"][column], ours[identifier]["properties"][column]
        assert got.keys() == expected.keys(), identifier
        assert got == pytest.approx(expected, abs=1e-9), identifier
        assert valid_frac[identifier] == 1.0


def test_irregular_pieces_differ_by_partial_pixels_only(tokyo):
    """0.1.7 kept whole pixels whose centre is inside the piece (it rasterised the ring); geetiles
    weighs edge pixels by the part inside. On 50×50-pixel pieces that moves shares by < 0.01."""
    ours, theirs = _features(tokyo / f"{RANDOM5K}.geojson"), _features(CASE / f"lp_compute_{RANDOM5K}.geojson.gz")
    column = f"{LABELS}_proportions"
    worst = max(
        abs(ours[i]["properties"][column].get(k, 0) - v)
        for i, f in theirs.items()
        for k, v in f["properties"][column].items()
    )
    assert 0 < worst < 0.01
    assert all(0 < v <= 1 for v in _twin_column(tokyo / f"{RANDOM5K}.geojson", f"{LABELS}_valid_frac").values())


def test_from_foreign_equals_the_original_inside_one_unit_and_differs_by_square_degrees_across_two(tokyo, tmp_path):
    """With 0.1.7's own unit proportions, chips inside one unit get exactly its shares; chips across
    units differ only because 0.1.7 weighed overlaps in square degrees (here < 1e-4)."""
    for stem, case in ((RANDOM5K, "random5k"), (GRID5K, "grid5k")):
        folder = tmp_path / case
        folder.mkdir()
        shutil.copy(ORIGINAL / "grid" / "tokyo-1000" / f"{CHIPS}.geojson", folder)
        (folder / f"{stem}.geojson").write_bytes(gzip.decompress((CASE / f"lp_compute_{stem}.geojson.gz").read_bytes()))
        result = run_in_process(
            geet_cmd(
                "lp.from_foreign",
                "--tiles_file",
                f"{CHIPS}.geojson",
                "--foreign_tiles_file",
                f"{stem}.geojson",
                "--labels_dataset_def",
                LABELS,
            ),
            folder,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        name = stem.split("_partitions_")[1].split("_")[0]
        ours = _features(folder / f"{CHIPS}.geojson")
        theirs = _features(CASE / f"lp_from_foreign_{case}_{CHIPS}.geojson.gz")
        units = [shapely.geometry.shape(f["geometry"]) for f in _features(folder / f"{stem}.geojson").values()]
        column = f"{LABELS}_proportions_at_{name}"
        for identifier, feature in theirs.items():
            expected, got = feature["properties"][column], ours[identifier]["properties"][column]
            assert ours[identifier]["properties"][f"foreignid_{name}"] == feature["properties"][f"foreignid_{name}"]
            assert got.keys() == expected.keys()
            chip = shapely.geometry.shape(feature["geometry"])
            meets = sum(shapely.intersects(chip, unit) and shapely.intersection(chip, unit).area > 0 for unit in units)
            assert got == pytest.approx(expected, abs=1e-9 if meets <= 1 else 1e-4), identifier
