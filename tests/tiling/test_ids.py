import numpy as np
import pytest

from geetiles.tiling.ids import chip_ids, list_hash, reference_chip_id

REFERENCE = [
    ((5.73427, 49.81312, 5.74816, 49.82212), "235a3763cbc7c"),
    ((0, 0, 1, 1), "309f2e9b2ab80"),
    ((-3.5, 40.25, -3.49, 40.26), "2d6e8f8bd8160"),
    ((10.123456789, -20.5, 10.2, -20.4), "1731c7951004f"),
    ((-179.99, -89.5, -179.5, -89.0), "2a57e5ad418de"),
]


@pytest.mark.parametrize("bounds, expected", REFERENCE)
def test_reference_ids_of_the_original(bounds, expected):
    assert reference_chip_id(bounds) == expected
    assert chip_ids(np.array([bounds])) == [expected]


def test_list_hash_of_the_reference_ids():
    assert list_hash([expected for _, expected in REFERENCE]) == "297253db8a02d"
    assert chip_ids(np.array([b for b, _ in REFERENCE])) == [e for _, e in REFERENCE]


def test_fast_ids_equal_numpy_str_on_random_chips():
    rng = np.random.default_rng(42)
    n = 8_000  # the three special ranges below, then 3,000 anywhere
    lon = rng.uniform(-180, 179.5, n)
    lat = rng.uniform(-89.5, 89, n)
    lon[:2000] = rng.uniform(-0.01, 0.01, 2000)  # near zero: scientific notation / zeros
    lat[2000:4000] = rng.uniform(-0.002, 0.002, 2000)
    lon[4000:5000] = np.round(lon[4000:5000], 1)  # values with few decimals
    width = rng.uniform(1e-6, 0.3, n)
    height = rng.uniform(1e-6, 0.3, n)
    bounds = np.column_stack([lon, lat, lon + width, lat + height])
    assert chip_ids(bounds) == [reference_chip_id(b) for b in bounds]


def test_negative_zero_and_exact_integers_take_numpy_path():
    bounds = np.array([[-0.000001, 10.0, 1.0, 11.0], [-1.0, -2.0, -0.5, -1.5], [100.0, 10.0, 101.0, 11.0]])
    assert chip_ids(bounds) == [reference_chip_id(b) for b in bounds]


def test_empty_input():
    assert chip_ids(np.empty((0, 4))) == []
