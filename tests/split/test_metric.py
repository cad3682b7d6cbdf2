"""The local metric plane the strategies work in: azimuthal equidistant, centred on the chips, with true
centroids as chip centres, the lattice shortcut agreeing with the exact projection, and chips across the
antimeridian kept whole."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely

from geetiles.split import metric
from geetiles.split.metric import chip_centres, local_metric, project_chips


def lonlat_boxes(lon: np.ndarray, lat: np.ndarray, size_deg: float = 0.01) -> np.ndarray:
    return shapely.box(lon, lat, lon + size_deg, lat + size_deg)


def test_local_metric_is_aeqd_centred_on_the_chips():
    lon, lat = np.meshgrid(np.linspace(5.8, 6.5, 20), np.linspace(49.4, 50.1, 20))
    chips = lonlat_boxes(lon.ravel(), lat.ravel())
    plane = local_metric(chips)
    assert plane.lon_0 == pytest.approx(6.155) and plane.lat_0 == pytest.approx(49.755)
    assert "+proj=aeqd" in plane.crs and "+datum=WGS84" in plane.crs
    centres = chip_centres(chips, plane)
    exact = pyproj.Transformer.from_crs("EPSG:4326", plane.crs, always_xy=True)
    middle = shapely.centroid(chips)
    x, y = exact.transform(shapely.get_x(middle), shapely.get_y(middle))
    assert np.allclose(centres, np.column_stack([x, y]), atol=1e-6)
    polygons = plane(chips)
    degree = 111_200.0
    assert shapely.area(polygons[0]) == pytest.approx(
        0.01 * degree * 0.01 * degree * np.cos(np.radians(49.4)), rel=0.01
    )
    assert np.allclose(plane(np.array([[plane.lon_0, plane.lat_0]])), 0.0, atol=1e-6)


def test_chip_centres_are_true_centroids_not_ring_means():
    triangle = np.array([shapely.Polygon([(6.0, 49.0), (6.02, 49.0), (6.0, 49.02), (6.0, 49.0)])], dtype=object)
    plane = local_metric(triangle)
    centre = chip_centres(triangle, plane)
    expected = plane(np.array([[6.02 / 3 + 4.0, 49.0 + 0.02 / 3]]))
    assert np.allclose(centre, expected, atol=0.01)


def test_lattice_projection_agrees_with_exact(monkeypatch):
    lon, lat = np.meshgrid(np.linspace(5.5, 7.0, 80), np.linspace(49.0, 50.0, 80))
    chips = lonlat_boxes(lon.ravel(), lat.ravel(), 0.005)
    exact_plane, exact_centres, exact_polygons = project_chips(chips)
    monkeypatch.setattr(metric, "LATTICE_POINTS", 100)  # force the lattice on a small set
    plane, centres, polygons = project_chips(chips)
    assert plane._lattice  # the lattice was used
    assert np.abs(centres - exact_centres).max() < 0.01
    assert np.abs(shapely.get_coordinates(polygons) - shapely.get_coordinates(exact_polygons)).max() < 0.01


def test_antimeridian_chips_stay_whole():
    chips = np.array(
        [
            shapely.box(179.9, -17.0, 180.0, -16.9),
            shapely.box(-180.0, -17.0, -179.9, -16.9),
            shapely.Polygon([(179.95, -16.8), (-179.95, -16.8), (-179.95, -16.7), (179.95, -16.7)]),
        ]
    )
    plane = local_metric(chips)
    assert abs(abs(plane.lon_0) - 180.0) < 0.06
    centres = chip_centres(chips, plane)
    assert np.all(np.abs(centres) < 30_000)  # all within a few km of the centre, none a world away
    polygons = plane(chips)
    assert np.all(shapely.area(polygons) < 2e8) and np.all(shapely.area(polygons) > 5e7)
