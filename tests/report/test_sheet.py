"""The sample sheet: chips picked with the seed across the splits, and the display stretch."""

from __future__ import annotations

import numpy as np

from geetiles.report.sheet import display_rgb, pick_samples


def test_samples_are_stratified_seeded_and_existing():
    ids = np.array([f"c{i}" for i in range(1000)])
    split = np.array(["train"] * 900 + ["val"] * 50 + ["test"] * 45 + ["gap"] * 5, dtype=object)
    picked = pick_samples(ids, split, 16, 7, lambda i: True)
    assert len(picked) == len(set(picked)) == 16
    counts = {s: int((split[picked] == s).sum()) for s in ("train", "val", "test", "gap")}
    assert counts == {"train": 4, "val": 4, "test": 4, "gap": 4}  # turns, not proportional: small splits show
    assert pick_samples(ids, split, 16, 7, lambda i: True) == picked
    assert pick_samples(ids, split, 16, 8, lambda i: True) != picked
    present = {f"c{i}" for i in range(0, 1000, 3)}
    assert all(ids[i] in present for i in pick_samples(ids, split, 16, 7, lambda i: i in present))


def test_small_splits_give_their_turns_to_others():
    ids = np.array([f"c{i}" for i in range(20)])
    split = np.array(["train"] * 18 + ["test"] * 2, dtype=object)
    picked = pick_samples(ids, split, 10, 0, lambda i: True)
    assert len(picked) == 10 and int((split[picked] == "test").sum()) == 2
    assert pick_samples(ids, None, 30, 0, lambda i: True) == pick_samples(ids, None, 30, 0, lambda i: True)
    assert len(pick_samples(ids, None, 30, 0, lambda i: True)) == 20
    assert pick_samples(ids, None, 5, 0, lambda i: False) == []


def test_display_stretch_per_band_and_nodata():
    rng = np.random.default_rng(0)
    pixels = np.stack([rng.normal(100, 10, (32, 32)), rng.normal(5000, 800, (32, 32)), np.full((32, 32), 7.0)])
    pixels[:, 0, 0] = 0  # nodata
    rgba = display_rgb(pixels.astype(np.float32), nodata=0)
    assert rgba.shape == (32, 32, 4) and rgba[0, 0, 3] == 0 and rgba[1:, :, 3].all()
    for band in range(2):
        values = rgba[1:, :, band]
        assert values.min() == 0 and values.max() == 1 and 0.3 < np.median(values) < 0.7  # each band its own range
    grey = display_rgb(pixels[:1], None)
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 0], grey[..., 2])
