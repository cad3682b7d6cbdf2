import numpy as np
import shapely

from geetiles.tiling.grid import grid_chips, why_no_chips
from geetiles.tiling.ids import list_hash


def test_luxembourg_1000m_is_bit_exact_with_the_original(luxembourg_wkt):
    aoi = shapely.from_wkt(luxembourg_wkt.read_text())
    chips = grid_chips(aoi, 1000, max_chips=10**7)
    assert len(chips) == 2774
    assert chips.identifier[0] == "132e3b06023c3"
    assert list_hash(chips.identifier) == "14c55eb7d417f"
    assert round(float(chips.area_km2[0]), 5) == 0.99989


def test_every_chip_intersects_the_aoi_and_is_about_chip_size():
    aoi = shapely.box(-3.8, 40.3, -3.6, 40.5)  # around Madrid
    chips = grid_chips(aoi, 2000, max_chips=10**7)
    assert len(chips) > 0
    assert shapely.intersects(chips.geometry, aoi).all()
    # sides of m - 1 metres, as the original: (1999 m)^2
    assert np.allclose(chips.area_km2, 1.999**2, rtol=2e-3)


def test_a_world_box_gives_no_chips_and_the_reason_is_the_one_zone_not_the_size(caplog):
    """0.1.7's grid takes one UTM zone for the whole AOI; there both edges of a world box are the
    same meridian, so its envelope is 0 m wide: no chip, whatever the size (issue 21)."""
    world = shapely.box(-180, -85, 180, 85)
    assert len(grid_chips(world, 1000, max_chips=10**7)) == 0
    assert caplog.text == ""  # the stage says why, once
    reason = why_no_chips(world, 1000)
    assert "projects the whole AOI into one UTM zone (EPSG:32630, at its centroid)" in reason
    assert "spanning all 360° of longitude) does not fit in it" in reason
    assert "tiling=utm or tiling=majortom" in reason and "smaller size" not in reason


def test_an_aoi_smaller_than_a_chip_is_told_the_largest_size_that_fits():
    small = shapely.box(6.0, 49.6, 6.005, 49.605)  # about 360 x 555 m
    assert len(grid_chips(small, 1000, max_chips=10**7)) == 0
    reason = why_no_chips(small, 1000)
    assert "smaller than one 1000 m chip" in reason and "tiling.chip_size_m=3" in reason and "tiling=utm" in reason
    size = int(reason.split("tiling.chip_size_m=")[1].split()[0])
    assert len(grid_chips(small, size, max_chips=10**7)) > 0  # the advice works


def test_chips_of_an_aoi_the_zone_cannot_hold_come_with_a_warning(caplog):
    wide = shapely.box(-170, -60, 170, 60)
    chips = grid_chips(wide, 200_000, max_chips=10**7)
    assert len(chips) > 0
    assert "tiling=grid (0.1.7's) projects the whole AOI into one UTM zone" in caplog.text
    caplog.clear()
    grid_chips(shapely.box(-3.8, 40.3, -3.6, 40.5), 2000, max_chips=10**7)
    assert caplog.text == ""
