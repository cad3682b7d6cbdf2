"""tiling=majortom: the cells of ESA's Major TOM grid, checked against the reference implementation.

Reference values below were computed by running ``MajorTOM/grid.py`` of github.com/ESA-PhiLab/Major-TOM
at commit f7078cd0e9d8bade846c1ea448cd53ac874eb727 (numpy 2.4, shapely 2.2, geopandas 1.2, in a
throwaway venv): ``Grid(dist, latitude_range=...)`` around each point (a narrower latitude range only
drops rows; the rows kept are the same), then ``latlon2rowcol([lat], [lon])`` for the cell name and
``get_bounded_footprint(point)`` of that cell's grid point for its bounds, printed with ``repr``.
"""

import hashlib
import json

import numpy as np
import pytest
import shapely
from pyproj import Geod

from geetiles.errors import UserInputError
from geetiles.tiling.ids import chip_ids, list_hash
from geetiles.tiling.majortom import MajorTomGrid, cell_names, majortom_chips, quadrangle_area_km2
from tests.conftest import geetiles_cmd
from tests.in_process import run_in_process

# (dist_km, lat, lon, reference cell name, reference footprint bounds (minx, miny, maxx, maxy))
REFERENCE_CELLS = [
    (10, 49.6, 6.15, "552U_44R", (6.09465178914968, 49.580838323353305, 6.233166602539427, 49.67065868263472)),
    (10, -22.9, -43.2, "255D_444L", (-43.29360780065008, -22.904191616766468, -43.19609967497291, -22.81437125748502)),
    (
        10,
        -33.87,
        151.21,
        "378D_1396R",
        (151.14586466165417, -33.952095808383234, 151.25413533834586, -33.86227544910179),
    ),
    (10, 40.71, -74.0, "453U_625L", (-74.03751233958536, 40.68862275449101, -73.91905231984202, 40.778443113772454)),
    (10, 0.03, -0.03, "0U_1L", (-0.0898203592814184, 0.0, 0.0, 0.08982035928143262)),
    (10, -0.03, 0.03, "1D_0R", (0.0, -0.08982035928144683, 0.08982035928144683, 0.0)),
    (10, 78.22, 15.65, "870U_35R", (15.291262135922324, 78.1437125748503, 15.728155339805824, 78.23353293413174)),
    (10, 84.95, -30.0, "945U_30L", (-30.167597765363098, 84.88023952095807, -29.16201117318434, 84.97005988023952)),
    # top row (latitude limit 85): its top is the previous row spacing added to its point
    (10, 84.99, -30.0, "946U_30L", (-30.681818181818187, 84.97005988023952, -29.659090909090935, 85.05988023952096)),
    (10, -84.97, 100.0, "946D_97R", (99.20454545454544, -84.97005988023952, 100.22727272727275, -84.88023952095809)),
    # 3947 columns (odd): the last column straddles the antimeridian; the reference finds it from both sides
    (10, 10.0, 179.99, "111U_1973R", (179.95439574360273, 9.970059880239518, 180.04560425639727, 10.059880239520965)),
    (10, 10.0, -179.99, "111U_1973R", (179.95439574360273, 9.970059880239518, 180.04560425639727, 10.059880239520965)),
    (100, 49.6, 6.15, "55U_4R", (5.496183206106878, 49.25373134328359, 6.870229007633583, 50.14925373134329)),
    (
        100,
        -33.87,
        151.21,
        "38D_139R",
        (150.27027027027032, -34.029850746268664, 151.35135135135135, -33.13432835820896),
    ),
]

# Row 502U has 2830 columns and rounding puts its westmost point at +180: the reference names the cell
# 1415R and gives the footprint (180.0, 45.08982035928145, 180.1272084805654, 45.179640718562865) for
# (lat 45.1, lon -179.95); geetiles keeps the name and draws it 360 degrees west, where it is on the ground.
WRAPPED_CELL = (45.1, -179.95, "502U_1415R", (-180.0, 45.08982035928145, 180.1272084805654 - 360, 45.179640718562865))

# Every point of a row of Grid(10), in the reference's order: sha256 (first 16 hex digits) of the lines
# f"{name} {lon!r} {lat!r}" joined by "\n" over ``grid.points[grid.points.row == row]``; and the count.
REFERENCE_ROWS = {
    "0U": (4008, "6895331021eed469"),
    "1D": (4008, "e2dcd3d3cff3a46d"),
    "111U": (3947, "d557d1e347ab7bd5"),
    "502U": (2830, "5a655312b3cc54bd"),
    "870U": (824, "bdfe0de379014a66"),
    "946U": (352, "b685953eb20a9d2f"),
    "946D": (352, "9bf933e882f544e4"),
}
REFERENCE_ROW_COUNT = 1893  # len(Grid(10).rows): the rows with latitude in [-85, 85]


@pytest.mark.parametrize("dist_km, lat, lon, name, bounds", REFERENCE_CELLS)
def test_cell_names_and_bounds_equal_the_reference(dist_km, lat, lon, name, bounds):
    chips = majortom_chips(shapely.Point(lon, lat), dist_km * 1000, max_chips=100)
    assert chips.extra["majortom"].tolist() == [name]
    assert shapely.bounds(chips.geometry).tolist() == [list(bounds)]  # bit for bit


def test_reference_cell_drawn_east_of_180_is_put_back_at_minus_180():
    lat, lon, name, bounds = WRAPPED_CELL
    chips = majortom_chips(shapely.Point(lon, lat), 10_000, max_chips=100)
    assert chips.extra["majortom"].tolist() == [name]
    assert shapely.bounds(chips.geometry).tolist() == [list(bounds)]


@pytest.mark.parametrize("row", sorted(REFERENCE_ROWS))
def test_whole_rows_equal_the_reference(row):
    grid = MajorTomGrid(10.0)
    r = int(row[:-1]) * (1 if row.endswith("U") else -1)
    lat = grid.row_lat(np.array([r]))
    m = grid.row_columns(lat)
    cols = grid.first_column(m) + np.arange(int(m[0]))
    lons = grid.col_lon(cols, m[0])
    names = cell_names(np.full(len(cols), r), cols)
    text = "\n".join(f"{n} {x!r} {float(lat[0])!r}" for n, x in zip(names, lons.tolist()))
    assert (len(cols), hashlib.sha256(text.encode()).hexdigest()[:16]) == REFERENCE_ROWS[row]


def test_row_count_and_latitude_limits():
    grid = MajorTomGrid(10.0)
    assert grid.top - grid.bottom + 1 == REFERENCE_ROW_COUNT
    assert len(majortom_chips(shapely.box(0, 85.1, 1, 89), 10_000, max_chips=10**6)) == 0
    assert len(majortom_chips(shapely.box(0, -89, 1, -85), 10_000, max_chips=10**6)) == 0


@pytest.mark.parametrize("lat", [0.04, -45.13, 45.13, 10.01, 84.99])
def test_a_band_across_the_globe_gives_each_cell_of_the_row_once_without_gaps(lat):
    chips = majortom_chips(shapely.box(-180, lat - 0.001, 180, lat + 0.001), 10_000, max_chips=10**6)
    names = chips.extra["majortom"].tolist()
    row = {n.split("_")[0] for n in names}
    assert len(row) == 1 and len(set(names)) == len(names)
    bounds = shapely.bounds(chips.geometry)
    order = np.argsort(bounds[:, 0])
    west, east = bounds[order, 0], bounds[order, 2]
    assert west[0] >= -180 and np.allclose(west[1:], east[:-1], rtol=0, atol=1e-9)  # edge to edge
    assert east[-1] == pytest.approx(180 if west[0] == -180 else 360 + west[0], abs=1e-9)  # all the way round


@pytest.mark.parametrize(
    "aoi",
    [
        shapely.Polygon([(5.8, 49.4), (6.6, 49.6), (6.3, 50.2), (6.0, 49.9), (5.7, 50.1)]),  # N, E, concave
        shapely.Polygon([(-0.5, -0.4), (0.6, -0.3), (0.2, 0.5)]),  # equator and Greenwich
        shapely.Polygon([(-70.5, -33.2), (-70.1, -33.6), (-69.8, -33.1)]).buffer(0.1),  # S, W
        shapely.box(14.0, 77.0, 19.0, 79.5),  # Svalbard
    ],
)
def test_chips_intersect_the_aoi_and_cover_it(aoi):
    chips = majortom_chips(aoi, 10_000, max_chips=10**6)
    assert len(chips) > 0
    assert shapely.intersects(chips.geometry, aoi).all()
    rng = np.random.default_rng(0)
    minx, miny, maxx, maxy = aoi.bounds
    points = shapely.points(rng.uniform(minx, maxx, 2000), rng.uniform(miny, maxy, 2000))
    points = points[shapely.contains(aoi, points)]
    assert len(points) > 100
    assert shapely.covers(shapely.union_all(chips.geometry), points).all()
    assert len(set(chips.extra["majortom"].tolist())) == len(chips)
    assert chips.identifier == chip_ids(shapely.bounds(chips.geometry))
    rows = [int(n.split("_")[0][:-1]) * (1 if "U_" in n else -1) for n in chips.extra["majortom"]]
    assert rows == sorted(rows)  # south to north


def test_antimeridian_aoi_split_or_past_180_gives_the_same_cells():
    split = shapely.MultiPolygon([shapely.box(179.9, 45.0, 180, 45.3), shapely.box(-180, 45.0, -179.8, 45.3)])
    past = shapely.box(179.9, 45.0, 180.2, 45.3)
    a = majortom_chips(split, 10_000, max_chips=10**4)
    b = majortom_chips(past, 10_000, max_chips=10**4)
    assert a.identifier == b.identifier and len(a) > 0
    names = set(a.extra["majortom"].tolist())
    assert "502U_1415R" in names and "502U_1414L" in names and "502U_1414R" in names
    lons = shapely.bounds(a.geometry)
    assert lons[:, 0].min() == -180 and lons[:, 2].max() <= 180.2  # nothing wrapped across the globe


def test_area_is_the_ellipsoidal_area_of_the_cell():
    chips = majortom_chips(shapely.box(6.0, 49.5, 6.3, 49.7), 10_000, max_chips=100)
    geod = Geod(ellps="WGS84")
    for geometry, area in zip(chips.geometry, chips.area_km2):
        # edges along parallels are not geodesics: densify them finely before measuring
        expected = abs(geod.geometry_area_perimeter(shapely.segmentize(geometry, 0.0005))[0]) / 1e6
        assert area == pytest.approx(expected, rel=1e-6)
    assert np.allclose(chips.area_km2, 100, rtol=0.02)
    assert quadrangle_area_km2(np.array([[-180, -90, 180, 90]]))[0] == pytest.approx(510_065_621.7, rel=1e-9)


def test_refuses_a_tiling_that_would_not_fit():
    with pytest.raises(UserInputError, match="tiling.max_chips"):
        majortom_chips(shapely.box(0, 40, 5, 45), 100, max_chips=1000)


def test_tiling_stage_end_to_end(tmp_path):
    result = run_in_process(
        geetiles_cmd(
            "aoi=bbox",
            "aoi.bbox=[6.0,49.5,6.3,49.7]",
            "aoi.name=t",
            "tiling=majortom",
            f"data_dir={tmp_path / 'data'}",
            "stages=[aoi,tiling]",
        ),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    expected = majortom_chips(shapely.box(6.0, 49.5, 6.3, 49.7), 10_000, max_chips=10**6)
    [path] = (tmp_path / "data").glob("t_partitions_majortom_*.geojson")
    assert path.name == f"t_partitions_majortom_{list_hash(expected.identifier)}.geojson"
    features = json.loads(path.read_text())["features"]
    assert list(features[0]["properties"]) == ["area_km2", "identifier", "majortom"]
    assert [f["properties"]["majortom"] for f in features] == expected.extra["majortom"].tolist()
    assert "552U_44R" in {f["properties"]["majortom"] for f in features}
