import numpy as np
import pytest

from geetiles.errors import UserInputError
from geetiles.fetching.grid import PixelGrid
from geetiles.sources.demo import APPEARANCE, IMAGERY, LANDCOVER, WATER, DemoSource, render

GRID = PixelGrid("EPSG:4326", (1e-4, 0.0, 6.0, 0.0, -1e-4, 49.8), 100, 100)


def test_same_place_same_pixels():
    assert np.array_equal(render(IMAGERY, GRID).array, render(IMAGERY, GRID).array)
    assert render(IMAGERY, GRID).band_names == ["red", "green", "blue"]
    assert render(LANDCOVER, GRID).band_names == ["Map"] and render(LANDCOVER, GRID).array.dtype == np.uint8


def test_neighbouring_chips_join_seamlessly():
    """Pixels are a function of the pixel centre only: two adjacent chips are the halves of one."""
    whole = PixelGrid("EPSG:4326", (1e-4, 0.0, 6.0, 0.0, -1e-4, 49.8), 200, 100)
    for dataset in (IMAGERY, LANDCOVER):
        both = render(dataset, whole).array
        left = render(dataset, whole.window(0, 0, 100, 100)).array
        right = render(dataset, whole.window(0, 100, 100, 100)).array
        assert np.array_equal(both, np.concatenate([left, right], axis=2))


def test_any_crs_gives_the_same_field():
    """A UTM pixel and the lon/lat pixel at the same centre get the same class."""
    from pyproj import Transformer

    utm = PixelGrid("EPSG:32632", (10.0, 0.0, 290000.0, 0.0, -10.0, 5520000.0), 50, 50)
    to_lonlat = Transformer.from_crs("EPSG:32632", "EPSG:4326", always_xy=True)
    classes = render(LANDCOVER, utm).array[0]
    for row, col in [(0, 0), (10, 40), (49, 49)]:
        lon, lat = to_lonlat.transform(290000 + (col + 0.5) * 10, 5520000 - (row + 0.5) * 10)
        point = PixelGrid("EPSG:4326", (1e-9, 0.0, lon - 0.5e-9, 0.0, -1e-9, lat + 0.5e-9), 1, 1)
        assert render(LANDCOVER, point).array[0, 0, 0] == classes[row, col]


def test_imagery_agrees_with_the_labels():
    big = PixelGrid("EPSG:4326", (5e-4, 0.0, 5.7, 0.0, -5e-4, 50.2), 1600, 1600)  # about Luxembourg
    classes = render(LANDCOVER, big).array[0]
    rgb = render(IMAGERY, big).array.astype(int)
    shares = {code: (classes == code).mean() for code in APPEARANCE}
    assert 0.01 < shares[WATER] < 0.15 and shares[10] > 0.15  # some water, plenty of trees
    for code, colour in APPEARANCE.items():
        if shares[code] > 0.001:
            mean = rgb[:, classes == code].mean(axis=1)
            assert np.abs(mean - colour).max() < 12, code  # water looks like water
    water = rgb[:, classes == WATER]
    assert (water[2] > water[0]).all()  # bluer than red, every water pixel


def test_unknown_demo_dataset_is_a_one_line_error():
    class Config:
        dataset, name = "demo-sar", None

    with pytest.raises(UserInputError, match="not a demo dataset"):
        DemoSource(Config())


def test_landcover_declares_the_worldcover_legend_imagery_none():
    class Labels:
        dataset, name = LANDCOVER, None

    class Images:
        dataset, name = IMAGERY, None

    legend = DemoSource(Labels()).classes()
    assert {c["code"] for c in legend} == set(APPEARANCE)
    assert {"code": 80, "name": "Permanent water bodies", "color": "#0064c8"} in legend
    assert DemoSource(Images()).classes() == []
