"""Band splits: the fractions met for a number of bands or a band width, the bands running in the
requested direction (0 = north-south strips, mirror images for plus and minus azimuths, theta + 180 the
same bands), and bad arguments refused."""

from __future__ import annotations

import numpy as np
import pytest

from geetiles.split.bands import across_coordinate, band_index, band_split
from tests.split.synthetic import FRACTIONS, areas, jittered_grid, worst_error


@pytest.mark.parametrize("by_area", [False, True])
@pytest.mark.parametrize("bands", [5, 12, 40])
def test_band_split_fractions(by_area, bands):
    centres = jittered_grid(60, 50)
    w = areas(len(centres)) if by_area else None
    codes = band_split(centres, w, FRACTIONS, 30.0, bands=bands, seed=1)
    assert worst_error(codes, w) <= max(1 / bands, 0.01)


@pytest.mark.parametrize("by_area", [False, True])
def test_band_split_fractions_by_width(by_area):
    centres = jittered_grid(80, 40)
    w = areas(len(centres)) if by_area else None
    codes = band_split(centres, w, FRACTIONS, 75.0, band_width_m=250.0, seed=0)
    used = len(np.unique(band_index(centres, 75.0, band_width_m=250.0)))
    assert worst_error(codes, w) <= max(1 / used, 0.01)


def measured_azimuth(points: np.ndarray, index: np.ndarray, guess: float) -> tuple[float, float]:
    """Azimuths within 2 degrees of ``guess`` for which the band index is monotone across the bands.

    Returns the middle and the width of that interval: the direction of the bands as seen on the
    output alone.
    """
    angles = guess + np.arange(-2.0, 2.0001, 0.05)  # steps 10x finer than the tolerances below
    a = np.radians(angles)[:, None]
    across = points[:, 0] * np.cos(a) - points[:, 1] * np.sin(a)
    ordered = np.take_along_axis(np.broadcast_to(index, across.shape), np.argsort(across, axis=1), axis=1)
    steps = np.diff(ordered, axis=1)
    consistent = np.all(steps >= 0, axis=1) | np.all(steps <= 0, axis=1)
    assert consistent.any()
    found = angles[consistent]
    return (found.min() + found.max()) / 2, found.max() - found.min()


@pytest.mark.parametrize("aspect", [0.1, 0.25, 1.0, 4.0, 10.0])
def test_band_azimuth_matches_request(aspect):
    rng = np.random.default_rng(int(aspect * 10))
    width, height = 10_000 * np.sqrt(aspect), 10_000 / np.sqrt(aspect)
    points = rng.uniform(-0.5, 0.5, (8_000, 2)) * [width, height]
    for azimuth in (0.0, 17.0, 30.0, 45.0, 60.0, 90.0, 123.0, 150.0, -30.0):
        index = band_index(points, azimuth, bands=8)
        codes = band_split(points, None, FRACTIONS, azimuth, bands=8)
        for band in np.unique(index):  # the codes are those of the bands
            assert len(np.unique(codes[index == band])) == 1
        middle, width_deg = measured_azimuth(points, index, azimuth)
        assert abs(middle - azimuth) <= 0.5 and width_deg < 1.0, (aspect, azimuth, middle, width_deg)


def test_band_azimuth_convention():
    """0 = north-south strips (bands change along x); 90 = east-west strips (they change along y)."""
    points = jittered_grid(20, 20)
    north_south = band_index(points, 0.0, bands=4)
    east_west = band_index(points, 90.0, bands=4)
    assert np.all(np.diff(north_south[np.argsort(points[:, 0])]) >= 0)
    assert np.all(np.diff(east_west[np.argsort(-points[:, 1])]) >= 0)


@pytest.mark.parametrize("azimuth", [10.0, 30.0, 45.0, 90.0, 135.0, 170.0])
def test_plus_and_minus_azimuth_are_mirror_images(azimuth):
    points = jittered_grid(40, 25, seed=3)
    w = areas(len(points))
    mirrored = points * [-1.0, 1.0]
    codes = band_split(points, w, FRACTIONS, azimuth, bands=11, seed=2)
    assert np.array_equal(band_split(mirrored, w, FRACTIONS, -azimuth, bands=11, seed=2), codes)
    assert np.array_equal(across_coordinate(mirrored, -azimuth), across_coordinate(points, azimuth))
    # theta and theta + 180 (and + 360) are the same bands with the same codes
    assert np.array_equal(band_split(points, w, FRACTIONS, azimuth + 180, bands=11, seed=2), codes)
    assert np.array_equal(band_split(points, w, FRACTIONS, azimuth - 360, bands=11, seed=2), codes)


def test_zero_azimuth_is_its_own_mirror_image():
    points = jittered_grid(30, 10)
    index = band_index(points, 0.0, bands=5)
    mirrored = band_index(points * [-1.0, 1.0], 0.0, bands=5)
    assert np.array_equal(mirrored, 4 - index)


def test_band_arguments():
    with pytest.raises(ValueError):
        band_split(jittered_grid(3, 3), None, FRACTIONS, 0.0)
    with pytest.raises(ValueError):
        band_split(jittered_grid(3, 3), None, FRACTIONS, 0.0, band_width_m=100.0, bands=3)
    with pytest.raises(ValueError):
        band_split(jittered_grid(3, 3), None, (0.5, 0.2, 0.2), 0.0, bands=3)
