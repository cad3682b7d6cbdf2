import numpy as np
import pytest
import shapely

from geetiles.download.grids import irregular, plan_grids
from geetiles.errors import UserInputError
from geetiles.tiling.grid import grid_chips
from geetiles.tiling.utm import utm_chips


def frame(chips):
    return chips.to_geodataframe()


def test_compatibility_chips_get_lonlat_grids_over_their_bounds():
    chips = frame(grid_chips(shapely.box(6.0, 49.6, 6.05, 49.65), 1000, 10**6))
    grids = plan_grids(chips, [100, 100], None)
    minx, miny, maxx, maxy = chips.geometry.iloc[0].bounds
    grid = grids[0]
    assert grid.crs == "EPSG:4326" and (grid.width, grid.height) == (100, 100)
    assert grid.transform == pytest.approx(((maxx - minx) / 100, 0, minx, 0, -(maxy - miny) / 100, maxy), abs=0)


def test_meters_per_pixel_gives_100_pixels_for_a_1000m_chip_at_10m():
    chips = frame(grid_chips(shapely.box(6.0, 49.6, 6.05, 49.65), 1000, 10**6))
    assert {(g.width, g.height) for g in plan_grids(chips, None, 10)} == {(100, 100)}  # the original got 104


def test_utm_chips_get_their_zone_and_square_pixels():
    chips = frame(utm_chips(shapely.box(5.98, 49.6, 6.02, 49.62), 1000.0, 10**6))
    for (_, chip), grid in zip(chips.iterrows(), plan_grids(chips, None, 10)):
        assert grid.crs == f"EPSG:{chip['epsg']}"
        assert grid.transform == (10.0, 0.0, chip["utm_x"], 0.0, -10.0, chip["utm_y"] + 1000)
    assert not irregular(chips).any()


@pytest.mark.parametrize("pixels, mpp", [(None, None), ([100, 100], 10), ([100], None), ([0, 10], None), (None, -5)])
def test_pixel_size_must_be_given_exactly_once_and_sensibly(pixels, mpp):
    chips = frame(grid_chips(shapely.box(6.0, 49.6, 6.02, 49.62), 1000, 10**6))
    with pytest.raises(UserInputError):
        plan_grids(chips, pixels, mpp)


def test_irregular_geometries_are_detected():
    import geopandas as gpd

    shapes = [shapely.box(0, 0, 1, 1), shapely.Polygon([(0, 0), (1, 0), (0, 1)])]
    assert irregular(gpd.GeoDataFrame(geometry=shapes, crs=4326)).tolist() == [False, True]


def test_chips_sharing_an_identifier_are_downloaded_once(tmp_path, caplog):
    """Two rows with one identifier would write one file in turn; the first is kept, with a warning."""
    import geopandas as gpd
    from shapely.geometry import box

    from geetiles.config import DownloadConfig
    from geetiles.download.chip_table import ChipTable

    frame = gpd.GeoDataFrame(
        {"identifier": ["a", "b", "a", "c"]},
        geometry=[
            box(6, 49, 6.01, 49.01),
            box(6.01, 49, 6.02, 49.01),
            box(6.02, 49, 6.03, 49.01),
            box(6.03, 49, 6.04, 49.01),
        ],
        crs="EPSG:4326",
    )
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    table = ChipTable(path, DownloadConfig(), [4, 4], None, chunk=2)
    windows = list(table.windows())
    assert len(table) == 3
    assert [w.identifiers.tolist() for w in windows] == [["a", "b"], ["c"]]
    assert [w.start for w in windows] == [0, 2]
    assert [g.transform[2] for w in windows for g in w.grids] == [6, 6.01, 6.03]
    assert "1 chips of the tiles file share their identifier" in caplog.text


def test_grid_fingerprints_in_bulk_equal_one_by_one():
    import geopandas as gpd
    from shapely.geometry import box

    from geetiles.download.fingerprint import grid_fingerprint, grid_fingerprints

    frame = gpd.GeoDataFrame(
        {
            "identifier": ["a", "b"],
            "epsg": [32631, 32632],
            "utm_x": [1000.0, 2000.0],
            "utm_y": [5e6, 5e6],
            "area_km2": [1.0, 1.0],
        },
        geometry=[box(6, 49, 6.01, 49.01), box(6.01, 49, 6.02, 49.01)],
        crs="EPSG:4326",
    )
    grids = plan_grids(frame, None, 10)
    assert grid_fingerprints(grids).tolist() == [grid_fingerprint(g) for g in grids]
    assert len(set(grid_fingerprints(grids))) == 2


def test_duplicates_are_found_across_windows_and_only_later_ones_dropped(tmp_path):
    """Many repeated identifiers spread over many windows: exactly the first of each is kept, in order."""
    import geopandas as gpd
    from shapely.geometry import box

    from geetiles.config import DownloadConfig
    from geetiles.download.chip_table import ChipTable

    rng = np.random.default_rng(0)
    identifiers = [f"{v:x}" for v in rng.integers(0, 200, 500)] + ["x-long_id.9", "b", "x-long_id.9"]  # any width
    frame = gpd.GeoDataFrame(
        {"identifier": identifiers},
        geometry=[box(6 + i * 1e-3, 49, 6.001 + i * 1e-3, 49.001) for i in range(len(identifiers))],
        crs="EPSG:4326",
    )
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    table = ChipTable(path, DownloadConfig(), [4, 4], None, chunk=37)
    kept = [i for w in table.windows() for i in w.identifiers.tolist()]
    assert kept == list(dict.fromkeys(identifiers))
    assert len(table) == len(kept)
