"""Disjoint splits: a chip in two splits is named, and split files agree with the index."""

from __future__ import annotations

from geetiles.verify import verify_dataset
from tests.verify.conftest import (
    identifiers,
    problem_lines,
    refresh_manifest,
    rewrite_parquet,
)


def test_a_chip_added_to_a_second_split_file(dataset):
    import pyarrow.parquet as pq

    chip = identifiers(dataset, "train")[0]  # the demo run's splits: train and test
    [row] = [r for r in pq.read_table(dataset / "splits" / "train.parquet").to_pylist() if r["identifier"] == chip]
    rewrite_parquet(dataset / "splits" / "test.parquet", lambda rows: [*rows, {**row, "split": "test"}])
    refresh_manifest(dataset)
    lines = problem_lines(verify_dataset(dataset))
    assert lines == [
        f"splits/test.parquet: holds 1 chip(s) the index does not put in test: {chip}",
        f"chip {chip}: is in more than one split: test, train",
    ], lines


def test_a_chip_indexed_twice_in_two_splits(dataset):
    chip = identifiers(dataset, "test")[0]

    def twice(rows):
        [row] = [r for r in rows if r["identifier"] == chip]
        return [*rows, {**row, "split": "train"}]

    rewrite_parquet(dataset / "chips.parquet", twice)
    refresh_manifest(dataset)
    lines = problem_lines(verify_dataset(dataset))
    assert lines == [
        f"chip {chip}: has 2 rows in the index (splits test, train)",
        f"splits/train.parquet: lacks 1 chip(s) the index puts in train: {chip}",
    ], lines


def test_a_missing_split_file_and_a_stray_one(dataset):
    (dataset / "splits" / "test.parquet").rename(dataset / "splits" / "holdout.parquet")
    refresh_manifest(dataset)
    lines = problem_lines(verify_dataset(dataset))
    count = len(identifiers(dataset, "test"))
    assert lines == [
        f"splits/test.parquet: is missing (the index has {count} chips in split test)",
        "splits/holdout.parquet: is a split file for a split the index does not have",
        "README.md: split test: no file matches its data file splits/test.parquet",
    ], lines
