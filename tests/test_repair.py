"""Invalid polygons are made valid, and the user is told what was wrong and what it became."""

import numpy as np
import shapely

from geetiles.repair import area_km2, polygonal_part, repair_polygons

BOW_TIE = shapely.Polygon([(6, 49), (6.2, 49.2), (6.2, 49), (6, 49.2)])  # its two lobes cancel: area 0
SQUARE = shapely.box(6.2, 49, 6.4, 49.2)


def test_a_bow_tie_keeps_both_lobes_and_the_warning_says_why_and_how_much(caplog):
    [repaired] = repair_polygons([BOW_TIE], "aoi.wkt_file='tie.wkt'")
    assert repaired.is_valid and repaired.geom_type == "MultiPolygon"
    assert abs(repaired.area - 0.02) < 1e-12 and abs(BOW_TIE.buffer(0).area - 0.01) < 1e-12  # both lobes, not one
    [line] = caplog.messages
    assert line.startswith("aoi.wkt_file='tie.wkt': the geometry was invalid (Self-intersection[6.1 49.1], ")
    assert "area 0 km² before, 162.425 km² after" in line and "make_valid" in line


def test_valid_geometries_are_returned_untouched_and_silently(caplog):
    geometries = np.array([SQUARE, None], dtype=object)
    repaired = repair_polygons(geometries, "x")
    assert repaired[0] is SQUARE and repaired[1] is None and caplog.text == ""


def test_many_units_are_counted_and_the_first_named(caplog):
    ring_touch = shapely.Polygon([(0, 0), (2, 0), (2, 2), (1, 0), (0, 2)])  # touches itself at (1, 0)
    units = [SQUARE, BOW_TIE, ring_touch, BOW_TIE, BOW_TIE, BOW_TIE]
    repaired = repair_polygons(units, "units file 'u.gpkg'", [f"name='u{i}'" for i in range(6)], ("unit", "units"))
    assert shapely.is_valid(repaired).all() and repaired[0] is SQUARE
    [line] = caplog.messages
    assert "5 of 6 units were invalid (name='u1': Self-intersection" in line
    assert "name='u2': Ring Self-intersection" in line and "and 2 more" in line
    assert abs(area_km2(repaired[2]) - area_km2(ring_touch)) < 1e-6 * area_km2(ring_touch)  # unchanged: not shown
    assert line.count("before") == 2  # the two bow ties shown changed area


def test_polygonal_part_flattens_collections():
    mixed = shapely.GeometryCollection(
        [SQUARE, shapely.LineString([(0, 0), (1, 1)]), shapely.GeometryCollection([shapely.box(0, 0, 1, 1)])]
    )
    assert polygonal_part(mixed).area == SQUARE.area + 1
    assert polygonal_part(shapely.Point(0, 0)).is_empty
