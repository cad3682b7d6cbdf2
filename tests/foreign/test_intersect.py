"""The intersect stage and `geet intersect`: against geetiles 0.1.7's files, in a run, bad input."""

import gzip
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import pytest
import shapely
from shapely.geometry import box

from geetiles.tiles import twin_path
from geetiles.tiling.ids import list_hash
from tests.conftest import geet_cmd, geetiles_cmd
from tests.in_process import run_in_process

ORIGINAL = Path(__file__).resolve().parents[1] / "data" / "original017" / "files"
CASES = {  # case: (the chips' grid file, the foreign file, the file 0.1.7 wrote after intersect)
    "lux": (
        "grid/lux-1000/lux_partitions_aschips_14c55eb7d417f.geojson.gz",
        "grid/lux-10000/lux_partitions_aschips_38b2145239130.geojson",
        "intersect/lux-1000-x-lux-10000/lux_partitions_aschips_14c55eb7d417f.geojson.gz",
    ),
    "quito": (
        "grid/quito-1000/quito_partitions_aschips_266af64b36450.geojson",
        "intersect/quito-1000-x-coarse/quito_partitions_coarse_12fab7c94b46b.geojson",
        "intersect/quito-1000-x-coarse/quito_partitions_aschips_266af64b36450.geojson",
    ),
}


def _copy(source: Path, folder: Path) -> Path:
    """A reference file in ``folder`` under its own name (decompressed when stored gzipped)."""
    target = folder / source.name.removesuffix(".gz")
    target.write_bytes(gzip.decompress(source.read_bytes()) if source.suffix == ".gz" else source.read_bytes())
    return target


def _features(path: Path) -> list[dict]:
    data = path.read_bytes()
    return json.loads(gzip.decompress(data) if path.suffix == ".gz" else data)["features"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_geet_intersect_agrees_with_the_original_except_its_square_degree_near_ties(tmp_path, case):
    """0.1.7 compared overlaps in square degrees, geetiles in square metres: the two pick the same
    unit for every chip except where two units' overlaps differ by less than 0.01 % in square degrees
    (there a degree of latitude is not the same size at both ends of the chip)."""
    chips_file, foreign_file, expected_file = (ORIGINAL / part for part in CASES[case])
    tiles, foreign = _copy(chips_file, tmp_path), _copy(foreign_file, tmp_path)
    result = run_in_process(
        geet_cmd("intersect", "--tiles_file", tiles.name, "--foreign_tiles_file", foreign.name), tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    column = "foreignid_" + foreign.name.split("_partitions_")[1].split("_")[0]
    ours = gpd.read_file(tiles)
    theirs = _features(expected_file)
    assert list(ours["identifier"]) == [f["properties"]["identifier"] for f in theirs]
    assert list(ours.columns) == ["area_km2", "identifier", column, "geometry"]  # the original's order
    units = gpd.read_file(foreign)
    differ = [i for i, f in enumerate(theirs) if f["properties"][column] != ours[column][i]]
    for i in differ:
        chip = ours.geometry[i]
        areas = sorted(
            (shapely.intersection(chip, g).area for g in units.geometry if shapely.intersects(chip, g)), reverse=True
        )
        assert len(areas) >= 2 and (areas[0] - areas[1]) / areas[0] < 1e-4, (i, areas)
    assert len(differ) <= 0.01 * len(theirs)
    assert (ours[column] == "-1").sum() == sum(f["properties"][column] == "-1" for f in theirs)
    twin = pq.read_table(twin_path(tiles)).to_pandas()
    assert list(twin[column]) == list(ours[column])
    assert tiles.name.endswith(f"_{list_hash(ours['identifier'])}.geojson")  # name and hash unchanged


def test_foreign_units_in_one_run_give_every_chip_its_unit(tmp_path):
    result = run_in_process(
        geetiles_cmd(
            "aoi=bbox",
            "aoi.bbox=[6.0,49.5,6.3,49.7]",
            "aoi.name=t",
            "tiling=utm",
            "tiling.chip_size_m=2000",
            "foreign=random",
            "foreign.max_size_m=10000",
            f"data_dir={tmp_path}",
            f"hydra.run.dir={tmp_path / 'run'}",
            "stages=[aoi,tiling,foreign,intersect]",
        ),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    tiles = next(tmp_path.glob("t_partitions_utmchips_*.geojson"))
    pieces = gpd.read_file(next(tmp_path.glob("t_partitions_10k_*.geojson")))
    chips = gpd.read_file(tiles)
    assert (chips["foreignid_10k"] != "-1").all()
    assert set(chips["foreignid_10k"]) <= set(pieces["identifier"])
    centre = chips.geometry.values[0].centroid  # a chip lies in the piece holding most of it: here its centre's
    holding = pieces[pieces.geometry.contains(centre)]
    assert chips["foreignid_10k"][0] in set(holding["identifier"]) or len(holding) == 0
    assert (tmp_path / f"{tiles.stem}.foreignid_10k.geetiles.yaml").exists()


def _units(tmp_path: Path, name: str, frame: gpd.GeoDataFrame) -> Path:
    path = tmp_path / name
    frame.to_file(path)
    return path


@pytest.fixture
def tiles(tmp_path) -> Path:
    result = run_in_process(
        geet_cmd(
            "grid",
            "--aoi_wkt_file",
            str(_aoi(tmp_path)),
            "--chip_size_meters",
            "5000",
            "--aoi_name",
            "t",
            "--dest_dir",
            str(tmp_path),
        ),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    return next(tmp_path.glob("t_partitions_aschips_*.geojson"))


def _aoi(tmp_path: Path) -> Path:
    path = tmp_path / "aoi.wkt"
    path.write_text(box(6.0, 49.5, 6.3, 49.7).wkt)
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda p: _units(
                p,
                "t_partitions_noid_0000000000000.geojson",
                gpd.GeoDataFrame({"code": [1]}, geometry=[box(6, 49.5, 6.3, 49.7)], crs=4326),
            ),
            "has no 'identifier' column",
        ),
        (
            lambda p: _units(
                p,
                "communes.geojson",
                gpd.GeoDataFrame({"identifier": ["a"]}, geometry=[box(6, 49.5, 6.3, 49.7)], crs=4326),
            ),
            "is not named {aoi}_partitions_{name}_{hash}.geojson",
        ),
        (
            lambda p: _units(
                p,
                "t_partitions_far_0000000000000.geojson",
                gpd.GeoDataFrame({"identifier": ["a"]}, geometry=[box(100, 10, 101, 11)], crs=4326),
            ),
            "are they over the same area",
        ),
        (lambda p: p / "t_partitions_missing_0000000000000.geojson", "does not exist"),
    ],
)
def test_bad_foreign_files_fail_with_one_line_and_change_nothing(tmp_path, tiles, make, message):
    foreign = make(tmp_path)
    before = tiles.read_bytes()
    result = run_in_process(
        geet_cmd("intersect", "--tiles_file", str(tiles), "--foreign_tiles_file", str(foreign)), tmp_path
    )
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert tiles.read_bytes() == before


def test_the_intersect_stage_alone_needs_foreign_units(tmp_path, tiles):
    result = run_in_process(
        geetiles_cmd(f"intersect.tiles_file={tiles}", "stages=[intersect]", f"hydra.run.dir={tmp_path / 'run'}"),
        tmp_path,
    )
    assert result.returncode == 2 and "needs foreign units" in result.stderr, result.stderr


def test_an_original_file_as_foreign_units(tmp_path, tiles):
    """foreign=file takes an existing tiles file, here one 0.1.7 wrote."""
    foreign = _copy(ORIGINAL / CASES["lux"][1], tmp_path)
    result = run_in_process(
        geetiles_cmd(
            f"intersect.tiles_file={tiles}",
            "foreign=file",
            f"foreign.file={foreign}",
            "stages=[foreign,intersect]",
            f"hydra.run.dir={tmp_path / 'run'}",
        ),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    chips = gpd.read_file(tiles)
    assert (chips["foreignid_aschips"] != "-1").sum() > 0
    assert np.isin(
        chips["foreignid_aschips"][chips["foreignid_aschips"] != "-1"], gpd.read_file(foreign)["identifier"]
    ).all()


def test_the_packaged_foreign_units_experiment_runs(tmp_path):
    result = run_in_process(
        geetiles_cmd(
            "experiment=lux-units",
            "source=none",
            "labels=none",
            f"data_dir={tmp_path}",
            f"hydra.run.dir={tmp_path / 'run'}",
        ),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    chips = gpd.read_file(next(tmp_path.glob("lux_partitions_utmchips_*.geojson")))
    pieces = gpd.read_file(next(tmp_path.glob("lux_partitions_10k_*.geojson")))
    assert set(chips["foreignid_10k"]) - {"-1"} == set(pieces["identifier"])
    # pieces are cut in UTM, so their border follows the AOI's edges bent by a few metres: a chip
    # that only grazes the AOI can miss every piece
    aoi = shapely.from_wkt((tmp_path / "lux.wkt").read_text())
    outside = chips[chips["foreignid_10k"] == "-1"].geometry
    assert len(outside) < 10 and all(g.intersection(aoi).area < 1e-3 * g.area for g in outside)
