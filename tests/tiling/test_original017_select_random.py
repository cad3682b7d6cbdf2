"""geet select and geet random against files geetiles 0.1.7 wrote on the same inputs."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from tests.conftest import geet_cmd
from tests.in_process import run_in_process

ORIGINAL = Path(__file__).resolve().parents[1] / "data" / "original017" / "files"


def _features(path: Path) -> list[dict]:
    return json.loads(path.read_text())["features"]


def test_select_picks_the_originals_units_with_its_ids_and_file_name(tmp_path):
    """Same units, order, ids and file name as 0.1.7; its columns first, then the source's own
    (0.1.7 dropped them); area_km2 on the ellipsoid instead of in a UTM zone (within 0.5 %)."""
    folder = ORIGINAL / "select" / "synthetic"
    result = run_in_process(
        geet_cmd(
            "select",
            "--orig_shapefile",
            str(folder / "communes.geojson"),
            "--aoi_wkt_file",
            str(folder / "aoi.wkt"),
            "--aoi_name",
            "t",
            "--dest_dir",
            str(tmp_path),
            "--tiles_name",
            "communes",
        ),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    [expected] = folder.glob("t_partitions_communes_*.geojson")
    ours = _features(tmp_path / expected.name)  # same name: same ids in the same order
    theirs = _features(expected)
    assert [f["properties"]["identifier"] for f in ours] == [f["properties"]["identifier"] for f in theirs]
    assert list(ours[0]["properties"]) == ["area_km2", "identifier", "name", "population"]
    for mine, original in zip(ours, theirs):
        assert shapely.equals(shapely.geometry.shape(mine["geometry"]), shapely.geometry.shape(original["geometry"]))
        assert mine["properties"]["area_km2"] == pytest.approx(original["properties"]["area_km2"], rel=5e-3)


def test_random_writes_the_originals_layout(tmp_path):
    """0.1.7's random partitions are unseeded, so only the layout compares: the name token, the
    columns, pieces at most 5 km a side in the zone's metres, covering the AOI."""
    folder = ORIGINAL / "random" / "synthetic"
    result = run_in_process(
        geet_cmd(
            "random",
            "--aoi_wkt_file",
            str(folder / "aoi.wkt"),
            "--max_rectangle_size_meters",
            "5000",
            "--aoi_name",
            "t",
            "--dest_dir",
            str(tmp_path),
        ),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    [expected] = folder.glob("t_partitions_5k_*.geojson")
    [written] = tmp_path.glob("t_partitions_5k_*.geojson")
    aoi = shapely.from_wkt((folder / "aoi.wkt").read_text())
    to_zone = Transformer.from_crs("EPSG:4326", "EPSG:32632", always_xy=True)
    for path in (expected, written):
        features = _features(path)
        assert list(features[0]["properties"]) == ["area_km2", "identifier"]
        pieces = [shapely.geometry.shape(f["geometry"]) for f in features]
        sides = [np.ptp(np.asarray(to_zone.transform(*np.asarray(p.exterior.coords).T)), axis=1).max() for p in pieces]
        assert max(sides) <= 5000 + 1e-6
        assert math.isclose(shapely.union_all(pieces).area, aoi.area, rel_tol=1e-4)  # edges cut in UTM bend by metres
