"""Exact class shares inside a chip's geometry: aligned chips count every pixel, irregular ones weigh
pixels by the exact fraction inside; nodata and values in no class are left out."""

import numpy as np
import pytest
import shapely

from geetiles.classes import LabelTable
from geetiles.proportions.columns import columns_from_counts
from geetiles.proportions.coverage import count_classes
from geetiles.tiff import ChipRaster

CLASSES = [{"code": 1, "name": "a"}, {"code": 2, "name": "b"}, {"code": 3, "name": "c"}]
TABLE = LabelTable.from_classes("t", CLASSES, nodata=0)


def raster(values, bounds=(0.0, 0.0, 1.0, 1.0)):
    height, width = values.shape
    left, bottom, right, top = bounds
    return ChipRaster(values, (left, (right - left) / width, 0.0, top, 0.0, -(top - bottom) / height), "EPSG:4326", 0)


def shares_of(chip, geometry, table=TABLE):
    counts = count_classes(chip, geometry, table)
    columns, _ = columns_from_counts("t", table.keys, counts.classes[None], np.array([counts.inside]), {})
    return columns["t_proportions"][0], float(columns["t_valid_frac"][0])


def test_an_aligned_chip_counts_every_pixel_exactly():
    values = np.ones((100, 100), dtype=np.uint8)
    values[:, 70:] = 2
    values[:10, :] = 3
    shares, valid = shares_of(raster(values), shapely.box(0, 0, 1, 1))
    assert shares == {"1": 0.63, "2": 0.27, "3": 0.1}
    assert sum(shares.values()) == pytest.approx(1, abs=1e-12)
    assert valid == 1.0


def test_half_nodata_gives_the_shares_of_the_valid_half():
    values = np.zeros((100, 100), dtype=np.uint8)
    values[:, 50:75] = 1
    values[:, 75:] = 2
    shares, valid = shares_of(raster(values), shapely.box(0, 0, 1, 1))
    assert shares == {"1": 0.5, "2": 0.5}
    assert valid == 0.5


def test_a_chip_without_valid_pixels_gets_an_empty_object_and_zero():
    shares, valid = shares_of(raster(np.zeros((10, 10), dtype=np.uint8)), shapely.box(0, 0, 1, 1))
    assert shares == {} and valid == 0.0


def test_an_irregular_polygon_weighs_pixels_by_the_exact_part_inside():
    """A triangle over two half-planes: shares follow from the triangle's areas, to 1e-9."""
    values = np.ones((100, 100), dtype=np.uint8)
    values[:, 50:] = 2  # x >= 0.5 is class 2
    triangle = shapely.Polygon([(0.1, 0.1), (0.9, 0.1), (0.1, 0.9)])
    shares, valid = shares_of(raster(values), triangle)
    right = shapely.intersection(triangle, shapely.box(0.5, 0, 1, 1)).area / triangle.area
    assert shares["2"] == pytest.approx(right, abs=1e-9)
    assert shares["1"] == pytest.approx(1 - right, abs=1e-9)
    assert valid == pytest.approx(1.0, abs=1e-9)


def test_a_circle_matches_its_analytic_shares():
    values = np.ones((200, 200), dtype=np.uint8)
    values[100:, :] = 2  # the south half
    circle = shapely.Point(0.5, 0.5).buffer(0.4, quad_segs=256)
    shares, _ = shares_of(raster(values), circle)
    assert shares == pytest.approx({"1": 0.5, "2": 0.5}, abs=1e-3)


def test_holes_are_left_out():
    values = np.ones((100, 100), dtype=np.uint8)
    values[40:60, 40:60] = 2  # class 2 only inside the hole
    ring = shapely.Polygon(
        shapely.box(0.1, 0.1, 0.9, 0.9).exterior.coords, [shapely.box(0.4, 0.4, 0.6, 0.6).exterior.coords]
    )
    shares, valid = shares_of(raster(values), ring)
    assert shares == pytest.approx({"1": 1.0}, abs=1e-12)
    assert valid == pytest.approx(1.0, abs=1e-9)


def test_nodata_inside_an_irregular_polygon_lowers_valid_frac_only():
    values = np.ones((100, 100), dtype=np.uint8)
    values[:, :50] = 0  # west half nodata
    polygon = shapely.Polygon([(0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8), (0.5, 0.5)])  # a notched square
    shares, valid = shares_of(raster(values), polygon)
    east = shapely.intersection(polygon, shapely.box(0.5, 0, 1, 1)).area / polygon.area
    assert shares == {"1": 1.0}
    assert valid == pytest.approx(east, abs=1e-9)


def test_a_polygon_beyond_the_raster_counts_the_outside_as_invalid():
    values = np.full((10, 10), 3, dtype=np.uint8)
    shares, valid = shares_of(raster(values), shapely.Polygon([(0.5, 0), (1.5, 0), (1.5, 1), (0.5, 1), (0.5, 0.5)]))
    assert shares == {"3": 1.0}
    assert valid == pytest.approx(0.5, abs=1e-9)


def test_range_mapped_classes_follow_the_thresholds():
    """0.1.7's range map: below t0 is 0, [t_i, t_i+1) is i+1, t_n or more is n+1."""
    from geetiles.sources.base import class_table

    table = LabelTable.from_classes("pop", class_table([], range_map=[10, 20]), nodata=65535)
    values = np.array([[0, 9, 10, 19], [20, 300, 65535, 65535]], dtype=np.uint16)
    assert table.class_index(values).tolist() == [[0, 0, 1, 1], [2, 2, -1, -1]]
    shares, valid = shares_of(raster(values), shapely.box(0, 0, 1, 1), table)
    assert shares == {"0": pytest.approx(1 / 3), "1": pytest.approx(1 / 3), "2": pytest.approx(1 / 3)}
    assert valid == 0.75


def test_float_labels_with_a_range_map():
    from geetiles.sources.base import class_table

    table = LabelTable.from_classes("f", class_table([], range_map=[0.5]), nodata=None)
    values = np.array([[0.1, 0.7], [np.nan, 0.9]], dtype=np.float32)
    assert table.class_index(values).tolist() == [[0, 1], [-1, 1]]


def test_values_in_no_class_are_left_out_and_counted():
    values = np.array([[1, 7], [1, 2]], dtype=np.uint8)  # 7 is in no class
    counts = count_classes(raster(values), shapely.box(0, 0, 1, 1), TABLE)
    assert counts.classes.tolist() == [2, 1, 0] and counts.unknown == 1 and counts.inside == 4


def test_proportion_keys_merge_codes_as_the_recipe_says():
    """WorldCover's codes 10..100 keyed 1..11, as geetiles 0.1.7 keyed them."""
    table = LabelTable.from_classes(
        "w", [{"code": 10, "key": 1}, {"code": 20, "key": 2}, {"code": 95, "key": 10}], nodata=0
    )
    assert table.keys == ("1", "2", "10")
    assert table.class_index(np.array([10, 95, 0, 20, 30], dtype=np.uint8)).tolist() == [0, 2, -1, 1, -2]


def test_a_chip_in_another_crs_is_counted_in_its_own_crs(tmp_path):
    """A UTM chip whose lon/lat footprint is its raster's rectangle counts every pixel."""
    from pyproj import Transformer

    from geetiles.proportions.counting import _in_crs

    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32632", always_xy=True)
    x, y = to_utm.transform(6.0, 49.6)
    x, y = round(x), round(y)
    values = np.ones((100, 100), dtype=np.uint8)
    values[:, 80:] = 2
    chip = ChipRaster(values, (x, 10.0, 0.0, y + 1000, 0.0, -10.0), "EPSG:32632", 0)
    to_lonlat = Transformer.from_crs("EPSG:32632", "EPSG:4326", always_xy=True)
    corners = [to_lonlat.transform(cx, cy) for cx, cy in [(x, y), (x + 1000, y), (x + 1000, y + 1000), (x, y + 1000)]]
    shares, valid = shares_of(chip, _in_crs(shapely.Polygon(corners), "EPSG:32632"))
    assert shares == pytest.approx({"1": 0.8, "2": 0.2}, abs=1e-9) and valid == pytest.approx(1.0, abs=1e-9)


def test_rectangles_are_found_for_a_group_in_one_call_and_agree_with_the_count_per_chip():
    from geetiles.proportions.coverage import rectangles

    square = shapely.box(0, 0, 1, 1)
    shapes = np.array(
        [
            square,
            shapely.affinity.rotate(square, 30),  # 4 corners, not axis-aligned
            shapely.Polygon([(0, 0), (1, 0), (1.2, 1), (0.2, 1)]),  # a parallelogram: its box is larger
            square.difference(shapely.box(0.4, 0.4, 0.6, 0.6)),  # a hole
            shapely.Polygon([(0, 0), (1, 0), (0, 1)]),
            shapely.MultiPolygon([square, shapely.box(2, 0, 3, 1)]),
            shapely.Polygon(),
            None,
        ],
        dtype=object,
    )
    found = rectangles(shapes)
    assert found[0] == (0.0, 0.0, 1.0, 1.0) and found[1:] == [None] * 7
    values = np.random.default_rng(3).integers(0, 4, (20, 20)).astype(np.uint8)
    chip = raster(values)
    for geometry, rectangle in zip(shapes[:5], found[:5]):
        alone, grouped = count_classes(chip, geometry, TABLE), count_classes(chip, geometry, TABLE, rectangle)
        assert np.array_equal(alone.classes, grouped.classes) and alone.inside == grouped.inside
