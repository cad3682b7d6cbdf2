import numpy as np
import shapely

from geetiles.tiling.grid import grid_chips
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
