"""Pixel values through the class keys, as 0.1.7's ``map_values`` made them, and the stored dtype."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geetiles.export.inputs import DatasetInfo
from geetiles.export.legacy_zip import apply_map, value_map
from tests.export.legacy_zip.case import IMAGES, LABELS


def test_class_keys_and_ranges_map_pixel_values_as_0_1_7_did():
    worldcover = value_map(DatasetInfo(LABELS, Path("."), ("Map",), "uint8", 0.0, (), {}))  # the packaged recipe
    pixels = np.array([[0, 10, 20], [95, 100, 15]], dtype=np.uint8)
    mapped = apply_map(pixels, worldcover)
    assert mapped.dtype == np.uint8 and mapped.tolist() == [[0, 1, 2], [10, 11, 0]]
    ranges = value_map(
        DatasetInfo(
            "t",
            Path("."),
            ("b",),
            "uint8",
            None,
            ({"code": 0, "min": None, "max": 51.0}, {"code": 1, "min": 51.0, "max": None}),
            {},
        )
    )
    assert apply_map(np.array([0, 50, 51, 255], dtype=np.uint8), ranges).tolist() == [0, 0, 1, 1]
    wide = value_map(DatasetInfo("t", Path("."), ("b",), "uint8", None, ({"code": 1, "key": 1000},), {}))
    assert apply_map(np.array([1, 2], dtype=np.uint8), wide).dtype == np.uint16
    signed = value_map(
        DatasetInfo("t", Path("."), ("b",), "int16", -1.0, ({"code": -5, "key": 1}, {"code": 300, "key": 2}), {})
    )
    assert apply_map(np.array([-5, 300, -1, 7], dtype=np.int16), signed).tolist() == [1, 2, 0, 0]
    assert apply_map(np.array([300.0, np.nan], dtype=np.float32), signed).tolist() == [2, 0]
    plain = DatasetInfo("t", Path("."), ("b",), "uint8", None, ({"code": 3}, {"code": 7}), {})
    assert value_map(plain) is None  # 0.1.7's identity map_values: pixels untouched
    assert value_map(DatasetInfo(IMAGES, Path("."), ("r",), "uint8", None, (), {})) is None


def test_stored_is_int16_where_int16_holds_every_value_and_native_otherwise():
    from geetiles.export.legacy_zip import stored

    for dtype in (np.uint8, np.int8, np.int16):
        info = np.iinfo(dtype)
        values = np.array([info.min, 0, info.max], dtype=dtype)
        out = stored(values)
        assert out.dtype == np.int16 and out.tolist() == values.tolist()
    for values in (
        np.array([0, 40000], dtype=np.uint16),
        np.array([5], dtype=np.uint16),
        np.array([-(2**31), 2**31 - 1], dtype=np.int32),
        np.array([0.5, -1.25], dtype=np.float32),
    ):
        out = stored(values)
        assert out.dtype == values.dtype and out.tolist() == values.tolist()


def test_stored_mapped_labels_are_int16_when_the_keys_fit():
    from geetiles.export.legacy_zip import stored

    worldcover = value_map(DatasetInfo(LABELS, Path("."), ("Map",), "uint8", 0.0, (), {}))
    mapped = stored(apply_map(np.array([0, 10, 100], dtype=np.uint8), worldcover), worldcover)
    assert mapped.dtype == np.int16 and mapped.tolist() == [0, 1, 11]
    wide = value_map(DatasetInfo("t", Path("."), ("b",), "uint8", None, ({"code": 1, "key": 1000},), {}))
    assert stored(apply_map(np.array([1, 2], dtype=np.uint8), wide), wide).tolist() == [1000, 0]
    assert stored(apply_map(np.array([1, 2], dtype=np.uint8), wide), wide).dtype == np.int16
    huge = value_map(DatasetInfo("t", Path("."), ("b",), "uint8", None, ({"code": 1, "key": 40000},), {}))
    out = stored(apply_map(np.array([1, 2], dtype=np.uint8), huge), huge)
    assert out.dtype == np.uint16 and out.tolist() == [40000, 0]  # int16 would wrap 40000
    negative = value_map(DatasetInfo("t", Path("."), ("b",), "int32", None, ({"code": 1, "key": -40000},), {}))
    out = stored(apply_map(np.array([1, 2], dtype=np.int32), negative), negative)
    assert out.dtype == np.int32 and out.tolist() == [-40000, 0]
