"""The card's data_files against the dataset's splits."""

from __future__ import annotations

from geetiles.verify import verify_dataset
from tests.verify.conftest import problem_lines, refresh_manifest


def _edit_card(root, old: str, new: str) -> None:
    card = root / "README.md"
    text = card.read_text()
    assert old in text
    card.write_text(text.replace(old, new, 1))
    refresh_manifest(root)


def test_a_card_listing_a_split_that_is_not_there(dataset):
    _edit_card(dataset, "  - split: test\n", "  - split: holdout\n    path: splits/holdout.parquet\n  - split: test\n")
    assert problem_lines(verify_dataset(dataset)) == [
        "README.md: lists split holdout, which the dataset does not have",
        "README.md: split holdout: no file matches its data file splits/holdout.parquet",
    ]


def test_a_card_missing_a_split_and_pointing_outside(dataset):
    _edit_card(
        dataset, "  - split: test\n    path: splits/test.parquet\n", "  - split: train\n    path: ../other/*.parquet\n"
    )
    assert problem_lines(verify_dataset(dataset)) == [
        "README.md: split train: data file '../other/*.parquet' leaves the dataset",
        "README.md: lists no data_files for split test",
    ]


def test_a_card_without_its_yaml_header(dataset):
    _edit_card(dataset, "---\n", "")
    [line] = problem_lines(verify_dataset(dataset))
    assert line.startswith("README.md: its YAML header cannot be read (the card does not start with a '---'")
