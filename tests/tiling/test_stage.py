"""The tiling stage says why a tiling gave no chip, and the fix that fits the reason."""

import shapely

from geetiles.config import TilingConfig, TilingKind
from geetiles.regions.aoi import Aoi
from geetiles.tiling.majortom import majortom_chips
from geetiles.tiling.stage import why_no_chips


def test_major_tom_beyond_85_degrees_says_the_grid_ends_there():
    polar = Aoi("pole", shapely.box(0, 85.5, 10, 88), "aoi.bbox")
    tiling = TilingConfig(kind=TilingKind.majortom, chip_size_m=10_000)
    assert len(majortom_chips(polar.geometry, 10_000, 10**6)) == 0
    reason = why_no_chips(polar, tiling)
    assert "cover latitudes -85 to 85 only" in reason and "85.5 and 88" in reason and "tiling=utm" in reason


def test_grid_reasons_come_from_the_grid():
    tiny = Aoi("tiny", shapely.box(6.0, 49.6, 6.001, 49.601), "aoi.bbox")
    reason = why_no_chips(tiny, TilingConfig(kind=TilingKind.grid, chip_size_m=1000))
    assert "smaller than one 1000 m chip" in reason
