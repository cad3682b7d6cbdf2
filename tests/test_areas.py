"""Ellipsoidal areas of lon/lat polygons against pyproj's geodesic areas of the densified polygons."""

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon, box

from geetiles.areas import area_m2

GEOD = Geod(ellps="WGS84")


@pytest.mark.parametrize(
    "geometry",
    [
        box(6, 49, 6.01, 49.01),  # a 1 km chip
        box(-75.1, -0.5, -74.2, 0.4),  # across the equator
        box(20, 69.5, 23, 70.5),  # far north
        Polygon([(6, 49), (6.3, 49.05), (6.2, 49.4), (5.9, 49.2)]),  # sloped edges
        box(0, 0, 1, 1).difference(box(0.2, 0.2, 0.4, 0.4)),  # a hole
        MultiPolygon([box(0, 0, 1, 1), box(2, -3, 3, -2)]),
    ],
)
def test_areas_match_geodesic_areas_of_the_densified_polygon(geometry):
    expected = abs(GEOD.geometry_area_perimeter(shapely.segmentize(geometry, 0.0005))[0])
    assert area_m2([geometry])[0] == pytest.approx(expected, rel=1e-8)


def test_the_whole_ellipsoid_and_what_has_no_area():
    assert area_m2([box(-180, -90, 180, 90)])[0] == pytest.approx(510_065_621_724_089, rel=1e-9)  # WGS 84 surface
    assert area_m2(np.asarray([shapely.LineString([(0, 0), (1, 1)]), Polygon(), shapely.Point(0, 0)])).tolist() == [
        0,
        0,
        0,
    ]
    assert area_m2([]).tolist() == []
