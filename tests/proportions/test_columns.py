"""The proportions column's dicts, from a table of shares (one row per chip, one column per class)."""

import numpy as np

from geetiles.proportions.columns import as_dicts, columns_from_counts


def test_each_row_keeps_its_present_classes_in_key_order_and_failed_rows_are_none():
    table = np.array([[0.25, 0.0, 0.75], [0.0, 0.0, 0.0], [np.nan, np.nan, np.nan], [1.0, 0.0, 0.0]])
    assert as_dicts(table, ("10", "20", "30"), failed=[2]) == [{"10": 0.25, "30": 0.75}, {}, None, {"10": 1.0}]
    assert as_dicts(table[:2], (10, 20, 30)) == [{10: 0.25, 30: 0.75}, {}]  # keys are taken as given
    shares = as_dicts(table[:1], ("a", "b", "c"))[0]
    assert list(shares) == ["a", "c"] and all(type(v) is float for v in shares.values())


def test_counts_become_shares_of_the_valid_pixels_with_the_valid_fraction_beside():
    classes = np.array([[30.0, 0.0, 10.0], [0.0, 0.0, 0.0], [5.0, 5.0, 0.0]])
    inside = np.array([50.0, 64.0, 10.0])
    columns, wide = columns_from_counts("lc", ("10", "20", "30"), classes, inside, {2: "unreadable"})
    assert columns["lc_proportions"] == [{"10": 0.75, "30": 0.25}, {}, None]
    assert np.allclose(columns["lc_valid_frac"][:2], [0.8, 0.0]) and np.isnan(columns["lc_valid_frac"][2])
    assert wide == ["lc_class_10", "lc_class_20", "lc_class_30"]
