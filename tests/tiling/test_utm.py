import numpy as np
import pytest
import shapely
from pyproj import Transformer

from geetiles.errors import UserInputError
from geetiles.tiling.utm import split_by_zone, utm_chips


def _zone_squares(chips, epsg):
    rows = chips.extra["epsg"] == epsg
    x, y = chips.extra["utm_x"][rows], chips.extra["utm_y"][rows]
    return x, y


def _to_zone(geometry, epsg):
    t = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    dense = shapely.segmentize(geometry, 0.01)
    return shapely.transform(dense, lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1])))


def test_luxembourg_spans_two_zones_without_gaps_or_overlaps(luxembourg_wkt):
    aoi = shapely.from_wkt(luxembourg_wkt.read_text())
    size = 1000.0
    chips = utm_chips(aoi, size, max_chips=10**7)
    zones = sorted(set(chips.extra["epsg"].tolist()))
    assert zones == [32631, 32632]
    for epsg, part in split_by_zone(aoi):
        x, y = _zone_squares(chips, epsg)
        # snapped to multiples of the chip size, each cell once: squares tile the plane
        assert np.all(np.mod(x, size) == 0) and np.all(np.mod(y, size) == 0)
        assert len(set(zip(x.tolist(), y.tolist()))) == len(x)
        squares = shapely.box(x, y, x + size, y + size)
        union = shapely.union_all(squares)
        assert union.area == pytest.approx(len(x) * size * size, rel=1e-9)  # no overlap
        uncovered = _to_zone(part, epsg).difference(union)
        assert uncovered.area < 1e-6 * union.area  # no gap
        assert shapely.intersects(squares, _to_zone(part, epsg)).all()  # nothing outside
    assert np.allclose(chips.area_km2, 1.0)


def test_lonlat_geometry_matches_the_zone_square():
    chips = utm_chips(shapely.box(9.0, 45.0, 9.1, 45.1), 1000.0, max_chips=10**6)
    back = Transformer.from_crs("EPSG:4326", "EPSG:32632", always_xy=True)
    ring = np.asarray(chips.geometry[0].exterior.coords)
    x, y = back.transform(ring[:, 0], ring[:, 1])
    x0, y0 = chips.extra["utm_x"][0], chips.extra["utm_y"][0]
    assert np.allclose(sorted(set(np.round(x, 3))), [x0, x0 + 1000])
    assert np.allclose(sorted(set(np.round(y, 3))), [y0, y0 + 1000])


def test_antimeridian_and_hemispheres():
    aoi = shapely.MultiPolygon([shapely.box(179.9, -0.05, 180, 0.05), shapely.box(-180, -0.05, -179.9, 0.05)])
    chips = utm_chips(aoi, 2000.0, max_chips=10**6)
    assert set(chips.extra["epsg"].tolist()) == {32601, 32660, 32701, 32760}
    lons = np.array([g.centroid.x for g in chips.geometry])
    assert lons.min() < -179 and lons.max() > 179  # both sides, nothing wrapped across the globe
    assert len(set(chips.identifier)) == len(chips)


def test_refuses_a_tiling_that_would_not_fit():
    with pytest.raises(UserInputError, match="tiling.max_chips"):
        utm_chips(shapely.box(0, 40, 5, 45), 10.0, max_chips=1000)


def test_max_chips_counts_every_zone_together_before_making_any(monkeypatch):
    """A ring from 179° to -179° drawn the long way is 60 zones of candidates; each zone alone fits."""
    import geetiles.tiling.utm as module

    ring = shapely.Polygon([(179, 0), (-179, 0), (-179, 1), (179, 1)])
    made = []
    monkeypatch.setattr(module, "_zone_chips", lambda *args: made.append(args))
    with pytest.raises(UserInputError, match=r"examine 4,\d{3},\d{3} candidate chips, more than tiling.max_chips"):
        utm_chips(ring, 1000.0, max_chips=1_000_000)
    assert made == []
