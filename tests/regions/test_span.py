"""The longitude an AOI spans, taken around the globe, and the warning for more than half of it."""

import pytest
import shapely

from geetiles.regions.aoi import bbox_geometry
from geetiles.regions.span import longitude_span, warn_if_wide

LONG_WAY = shapely.Polygon([(179, -1), (-179, -1), (-179, 1), (179, 1)])


@pytest.mark.parametrize(
    "geometry, degrees, west, east",
    [
        (shapely.box(6, 49, 7, 50), 1, 6, 7),
        (LONG_WAY, 358, -179, 179),  # drawn the long way: it does not cross the antimeridian
        (bbox_geometry([175, -20, -175, -10], "aoi.bbox"), 10, 175, -175),  # two boxes meeting at ±180: it does
        (shapely.box(-180, -85, 180, 85), 360, -180, 180),
        (shapely.MultiPolygon([shapely.box(-170, 0, -160, 1), shapely.box(10, 0, 20, 1)]), 190, 10, -160),
        (shapely.MultiPolygon([shapely.box(-170, 0, -160, 1), shapely.box(-10, 0, 20, 1)]), 190, -170, 20),
    ],
)
def test_shortest_arc_holding_every_part(geometry, degrees, west, east):
    span = longitude_span(geometry)
    assert (span.degrees, span.west, span.east) == pytest.approx((degrees, west, east))
    assert span.crosses_antimeridian == (east < west)


def test_rounding_noise_at_180_is_no_gap():
    noisy = shapely.MultiPolygon([shapely.box(-179.99999999999994, -80, 0, -70), shapely.box(0, -80, 180, -70)])
    assert longitude_span(noisy).degrees == 360


def test_over_180_degrees_warns_with_the_span_and_a_bbox_that_crosses(caplog):
    warn_if_wide(LONG_WAY, "aoi.wkt_file='ring.wkt'")
    [line] = caplog.messages
    assert line.startswith("aoi.wkt_file='ring.wkt': the AOI spans 358° of longitude (-179 eastwards to 179)")
    assert "aoi.bbox with minlon > maxlon, e.g. aoi.bbox=[179,-1,-179,1]" in line and "split the ring at ±180" in line
    # the advice is an AOI that loads as the 2° its author meant
    assert longitude_span(bbox_geometry([179, -1, -179, 1], "aoi.bbox")).degrees == pytest.approx(2)


def test_the_whole_globe_gets_no_bbox_example_and_narrow_aois_no_warning(caplog):
    warn_if_wide(shapely.box(-180, -85, 180, 85), "aoi.bbox=[-180, -85, 180, 85]")
    assert "spans all 360° of longitude" in caplog.text and "e.g." not in caplog.text
    caplog.clear()
    across = bbox_geometry([175, -20, -175, -10], "aoi.bbox")
    for narrow in (shapely.box(6, 49, 7, 50), across, shapely.box(0, 0, 180, 1)):
        warn_if_wide(narrow, "x")
    assert caplog.text == ""
