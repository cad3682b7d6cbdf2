"""tiling=random: the original's katana partitions, checked by their invariants, and seeded."""

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from geetiles.errors import UserInputError
from geetiles.tiling.katana import (
    _envelope_centre,
    _without_slivers,
    katana,
    katana_chips,
    piece_count_lower_bound,
    polygon_parts,
)
from geetiles.tiling.utm_zones import utm_crs_at

# ~30 x 33 km near (10E, 45N) with a 8 x 5.5 km hole; and three separate parts, one a triangle
WITH_HOLE = shapely.box(9.9, 44.9, 10.3, 45.2).difference(shapely.box(10.0, 45.0, 10.1, 45.05))
MULTI = shapely.MultiPolygon(
    [
        shapely.box(9.9, 44.9, 10.0, 45.0),
        shapely.box(10.05, 44.9, 10.2, 44.95),
        shapely.Polygon([(10.0, 45.05), (10.2, 45.05), (10.1, 45.2)]),
    ]
)


class FixedDraws:
    """A stand-in generator whose draws are given, to place cuts exactly."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def in_utm(aoi: shapely.Geometry, geometries):
    """``aoi`` and ``geometries`` projected to the zone katana_chips cuts in."""
    to_zone = Transformer.from_crs("EPSG:4326", utm_crs_at(*_envelope_centre(aoi)), always_xy=True)

    def project(coords):
        return np.column_stack(to_zone.transform(coords[:, 0], coords[:, 1]))

    return shapely.transform(aoi, project), shapely.transform(geometries, project)


def assert_partition(aoi: shapely.Geometry, max_size_m: float, seed: int = 0):
    chips = katana_chips(aoi, max_size_m, seed)
    assert len(chips) == len(chips.geometry) == len(chips.area_km2) > 0
    assert (shapely.get_type_id(chips.geometry) == 3).all()  # Polygons only
    assert shapely.is_valid(chips.geometry).all()
    aoi_utm, pieces = in_utm(aoi, chips.geometry)
    bounds = shapely.bounds(pieces)
    sides = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    assert sides.max() <= max_size_m + 1e-6
    union = shapely.union_all(pieces)
    assert shapely.symmetric_difference(union, aoi_utm).area < 1e-9 * aoi_utm.area  # covers the AOI, clipped
    assert shapely.area(pieces).sum() == pytest.approx(union.area, rel=1e-9)  # no overlaps
    assert np.allclose(chips.area_km2, shapely.area(pieces) / 1e6, rtol=1e-9)
    assert all(len(i) == 13 for i in chips.identifier)
    return chips


@pytest.mark.parametrize("aoi", [WITH_HOLE, MULTI], ids=["hole", "multipolygon"])
def test_synthetic_aois_are_partitioned(aoi):
    chips = assert_partition(aoi, 5000)
    assert 10 < len(chips) < 200


def test_luxembourg_partitions(luxembourg_wkt):
    aoi = shapely.from_wkt(luxembourg_wkt.read_text())
    chips = assert_partition(aoi, 5000)
    assert 200 < len(chips) < 330  # the original gave 256 in one run
    assert sum(chips.area_km2) == pytest.approx(2596.7, abs=0.1)
    fine = katana_chips(aoi, 1000, 0)
    assert 4000 < len(fine) < 7000


def test_same_seed_same_pieces_other_seed_other_pieces():
    first, again, other = (katana_chips(WITH_HOLE, 5000, seed) for seed in (0, 0, 1))
    assert first.identifier == again.identifier
    assert list(shapely.to_wkb(first.geometry)) == list(shapely.to_wkb(again.geometry))
    assert np.array_equal(first.area_km2, again.area_km2)
    assert first.identifier != other.identifier


def test_cuts_fall_at_45_to_56_percent_lower_left_first():
    rectangle = shapely.box(0, 0, 10, 4)
    for draw, fraction in [(0.0, 1 / 1.8), (0.5, 0.5), (1.0, 1 / 2.2)]:
        left, right = katana(rectangle, 9, FixedDraws(draw))
        assert left.bounds == pytest.approx((0, 0, 10 * fraction, 4))
        assert right.bounds == pytest.approx((10 * fraction, 0, 10, 4))
    # the longer side is cut; a tall piece is cut across its height, bottom piece first
    bottom, top = katana(shapely.box(0, 0, 4, 10), 9, FixedDraws(0.5))
    assert bottom.bounds == pytest.approx((0, 0, 4, 5)) and top.bounds == pytest.approx((0, 5, 4, 10))


def test_a_cut_along_an_edge_gives_a_geometry_collection_and_keeps_polygons_only():
    # a U whose notch floor lies on the middle cut: the upper half is two polygons plus a line
    u_shape = shapely.Polygon([(0, 0), (10, 0), (10, 10), (6, 10), (6, 5), (4, 5), (4, 10), (0, 10)])
    assert shapely.intersection(u_shape, shapely.box(0, 5, 10, 10)).geom_type == "GeometryCollection"
    pieces = katana(u_shape, 6, FixedDraws(0.5))
    assert all(p.geom_type == "Polygon" for p in pieces)
    assert sum(p.area for p in pieces) == pytest.approx(u_shape.area)


def test_polygon_parts_flattens_collections_and_drops_lines_and_points():
    nested = shapely.GeometryCollection(
        [
            shapely.box(0, 0, 1, 1),
            shapely.MultiPolygon([shapely.box(2, 0, 3, 1), shapely.box(4, 0, 5, 1)]),
            shapely.LineString([(0, 0), (5, 5)]),
            shapely.Point(7, 7),
            shapely.GeometryCollection([shapely.box(6, 0, 7, 1), shapely.MultiPoint([(1, 1), (2, 2)])]),
        ]
    )
    parts = polygon_parts(nested)
    assert [p.bounds[0] for p in parts] == [0, 2, 4, 6]
    assert polygon_parts(shapely.LineString([(0, 0), (1, 1)])) == []
    assert polygon_parts(shapely.Polygon()) == []


def test_an_aoi_with_lines_is_cut_without_the_lines():
    aoi = shapely.GeometryCollection([WITH_HOLE, shapely.LineString([(9.5, 44.5), (10.5, 45.5)])])
    chips = katana_chips(aoi, 5000, 0)
    assert (shapely.get_type_id(chips.geometry) == 3).all()
    aoi_utm, pieces = in_utm(aoi, chips.geometry)
    assert shapely.area(pieces).sum() == pytest.approx(shapely.area(polygon_parts(aoi_utm)).sum(), rel=1e-9)


def test_small_aoi_is_one_piece_and_empty_aoi_none():
    small = shapely.box(10.0, 45.0, 10.01, 45.01)  # ~0.8 x 1.1 km
    chips = katana_chips(small, 5000, 0)
    assert len(chips) == 1
    assert len(katana_chips(shapely.Polygon(), 5000, 0)) == 0


@pytest.mark.parametrize(
    "size, seed, fragment",
    [
        (0, 0, "max_size_m=0 must be a positive"),
        (-5, 0, "must be a positive"),
        (5000, -1, "tiling.seed=-1"),
        (1, 0, "tiling.max_chips"),  # ~1e9 pieces: refused before cutting
    ],
)
def test_bad_settings_are_refused(size, seed, fragment):
    with pytest.raises(UserInputError, match=fragment):
        katana_chips(WITH_HOLE, size, seed)


# degenerate AOIs: refused in one line before any cutting (issue 21)
WORLD = shapely.box(-180, -85, 180, 85)
RING_THE_LONG_WAY = shapely.Polygon([(179, -1), (-179, -1), (-179, 1), (179, 1)])  # meant: across ±180


def no_cutting(monkeypatch):
    """Make any cut fail the test: a refusal must come before the first one."""
    import geetiles.tiling.katana as module

    def cut(*args, **kwargs):
        raise AssertionError("katana cut a degenerate AOI")

    monkeypatch.setattr(module, "katana", cut)


@pytest.mark.parametrize(
    "aoi, fragment",
    [
        (WORLD, "spanning all 360° of longitude) does not fit in it"),
        (shapely.box(-170, -80, 170, 80), "spanning 340° of longitude"),
        (RING_THE_LONG_WAY, "does not project into it"),
        (shapely.box(-120, 10, 120, 60), "does not fit in it"),
    ],
)
def test_an_aoi_one_utm_zone_cannot_hold_is_refused_before_cutting(monkeypatch, aoi, fragment):
    """0.1.7 projected the world box into one zone, where both its edges are the same meridian: a
    line, cut into millions of zero-width slivers. Now: one line naming the zone and the fix."""
    no_cutting(monkeypatch)
    with pytest.raises(UserInputError, match="tiling=random cuts the AOI in one UTM zone") as refused:
        katana_chips(aoi, 10, 0)
    assert fragment in str(refused.value) and "tiling=utm or tiling=majortom" in str(refused.value)


def test_an_aoi_across_the_antimeridian_is_refused_with_one_run_per_side():
    from geetiles.regions.aoi import bbox_geometry

    aoi = bbox_geometry([175, -20, -175, -10], "aoi.bbox")  # before: a GEOS TopologyException traceback
    with pytest.raises(UserInputError, match="cannot cut across the antimeridian") as refused:
        katana_chips(aoi, 20000, 0)
    message = str(refused.value)
    assert "175 eastwards to -175" in message
    assert "aoi.bbox=[175,-20,180,-10] then aoi.bbox=[-180,-20,-175,-10]" in message


def test_piece_count_lower_bound_holds_and_counts_a_thin_aoi_by_its_length():
    for aoi, size in [(WITH_HOLE, 5000), (MULTI, 3000), (shapely.box(10, 45, 10.0001, 45.5), 1000)]:
        aoi_utm, _ = in_utm(aoi, [])
        bound = piece_count_lower_bound(aoi_utm, size)
        assert 0 < bound <= len(katana_chips(aoi, size, 0))
    thin, _ = in_utm(shapely.box(10, 45, 10.0001, 45.5), [])  # 8 m x 55 km: by area, one piece
    assert thin.area / 1000**2 < 1 and piece_count_lower_bound(thin, 1000) >= 55


def test_max_chips_is_estimated_before_cutting_and_names_the_fix(monkeypatch):
    no_cutting(monkeypatch)
    with pytest.raises(UserInputError) as refused:
        katana_chips(shapely.box(10, 45, 10.0001, 45.5), 100, 0, max_chips=100)  # ~550 pieces by its length
    message = str(refused.value)
    assert "at least 5" in message and "tiling.max_chips=100" in message
    assert "larger tiling.max_size_m" in message and "smaller AOI" in message and "raise tiling.max_chips" in message


def test_max_chips_also_stops_the_cutting_itself():
    aoi_utm, _ = in_utm(WITH_HOLE, [])
    bound = piece_count_lower_bound(aoi_utm, 5000)
    assert bound < 50 < len(katana_chips(WITH_HOLE, 5000, 0))  # the estimate lets it start, the cut stops it
    with pytest.raises(UserInputError, match="stopped after cutting more than tiling.max_chips=50 pieces"):
        katana_chips(WITH_HOLE, 5000, 0, max_chips=50)


def test_slivers_thinner_than_a_micrometre_are_left_out_with_a_warning(caplog):
    # a hair-thin arm (1e-8 m) on a square: cutting it gives pieces with an area but no width
    hair = shapely.Polygon([(0, 0), (10, 0), (10, 4.99999999), (30, 4.99999999), (30, 5), (10, 5), (10, 10), (0, 10)])
    assert hair.is_valid
    pieces = katana(hair, 6, FixedDraws(0.5))
    thin = [p for p in pieces if p.area < 1e-6 * max(p.bounds[2] - p.bounds[0], p.bounds[3] - p.bounds[1])]
    assert len(thin) == 5 and len(pieces) == 11  # the arm beyond x = 11.25, in 3.75 m lengths
    kept = _without_slivers(pieces)
    assert len(kept) == 6 and all(p.area > 1 for p in kept)
    assert sum(p.area for p in kept) == pytest.approx(hair.area, abs=1e-6)  # only the hair's area is lost
    assert "5 of 11 pieces are slivers less than 1e-06 m thick" in caplog.text
    caplog.clear()
    assert _without_slivers(kept) == kept and caplog.text == ""


def test_an_aoi_projection_makes_invalid_is_cut_after_make_valid_with_a_warning(caplog):
    # a hole touching the bottom edge at one point: valid in lon/lat, but projected, the point of the
    # parallel lies below the straight edge between the projected corners: the hole pokes out of the shell
    hole = [(10.05, 45.0), (10.06, 45.05), (10.04, 45.05)]
    aoi = shapely.Polygon(shapely.box(10, 45, 10.1, 45.1).exterior.coords, [hole])
    assert aoi.is_valid
    chips = katana_chips(aoi, 2000, 0)
    assert "projected into WGS 84 / UTM zone 32N the AOI is invalid (Self-intersection" in caplog.text
    assert shapely.is_valid(chips.geometry).all()
    aoi_utm, _ = in_utm(aoi, [])
    assert chips.area_km2.sum() == pytest.approx(shapely.make_valid(aoi_utm).area / 1e6, rel=1e-9)
