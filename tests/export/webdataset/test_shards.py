"""How many shards a split gets, and shard sizes against the target."""

from __future__ import annotations

from geetiles.export.webdataset import shard_count, write_webdataset


def test_shard_sizes_follow_the_target(chips, tmp_path):
    summary = write_webdataset(chips, tmp_path / "small", shard_size_mb=0.02, min_shards=1)
    target = 0.02 * 2**20
    train = summary["splits"]["train"]
    assert len(train["shards"]) == 30  # a sample is half the target: one per shard
    assert all(target / 2 <= shard["bytes"] <= target for shard in train["shards"])
    target = 0.1 * 2**20
    big = write_webdataset(chips, tmp_path / "big", shard_size_mb=0.1, min_shards=1)["splits"]["train"]["shards"]
    assert len(big) == 3 and all(0.95 * target <= s["bytes"] <= target for s in big)


def test_shard_count_rules():
    assert shard_count(0, 1000, 1e6, 8) == 0
    assert shard_count(30, 1000, 1e6, 8) == 8  # min_shards with enough chips
    assert shard_count(6, 1000, 1e6, 8) == 1  # fewer chips than min_shards: the size decides
    assert shard_count(6, 1e6, 3.1e6, 8) == 2
    assert shard_count(6, 1e6, 3e6, 8) == 3  # the shard's end marker needs room too
    assert shard_count(3, 1e7, 1e6, 8) == 3  # never an empty shard
    assert shard_count(10_000, 50_000, 256 * 2**20, 8) == 8
    assert shard_count(100_000, 50_000, 256 * 2**20, 8) == 19
