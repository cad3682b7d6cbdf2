"""Whether one UTM zone holds an AOI whose vertices are projected as they stand (0.1.7's grid, random)."""

import math

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from geetiles.tiling.one_zone import chord_area_ratio, fold_reason


def projector(epsg: int):
    transformer = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    return lambda c: np.column_stack(transformer.transform(c[:, 0], c[:, 1]))


@pytest.mark.parametrize(
    "aoi, epsg, chords",
    [
        (shapely.box(6, 49.4, 6.5, 50.2), 32631, 1e-4),
        (shapely.box(0, 40, 30, 50), 32632, 0.02),  # 30° wide: its parallels bend by 1.5 % of its area
    ],
)
def test_a_country_or_a_few_zones_fit(aoi, epsg, chords):
    project = projector(epsg)
    assert chord_area_ratio(aoi, shapely.transform(aoi, project), project) == pytest.approx(1, abs=chords)
    assert fold_reason(aoi, shapely.transform(aoi, project), project) is None


def test_the_world_collapses_to_a_line_and_a_ring_round_the_globe_hits_the_singular_points():
    project = projector(32724)
    world = shapely.box(-180, -85, 180, 85)
    assert chord_area_ratio(world, shapely.transform(world, project), project) < 1e-9
    assert "does not fit in it" in fold_reason(world, shapely.transform(world, project), project)
    ring = shapely.Polygon([(179, -1), (-179, -1), (-179, 1), (179, 1)])
    project = projector(32725)
    assert math.isnan(chord_area_ratio(ring, shapely.transform(ring, project), project))
    assert "singular points" in fold_reason(ring, shapely.transform(ring, project), project)
