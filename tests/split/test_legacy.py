"""split=legacy against files that geetiles 0.1.7 itself wrote (tests/data/original017, CASES.md).

Every ``geet split`` case of the reference data is replayed from its CASES.md command line on the
very tiles file the original was given: our ``split`` (and ``split_{name}``) must equal the
original's chip for chip, in both its ``*_splits.csv`` and its rewritten tiles file. The failing
calls must fail here too, with the original's wording in a UserInputError.
"""

from __future__ import annotations

import gzip
import math
import re
import shlex
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geetiles.errors import UserInputError
from geetiles.split.legacy import band_counts, chip_points, legacy_split, majority_by_group

DATA = Path(__file__).resolve().parents[1] / "data" / "original017"
FILES = DATA / "files"


def _sections(heading: str) -> dict[str, str]:
    """CASES.md: the ``### name`` subsections of the ``## heading`` section, name -> text."""
    text = (DATA / "CASES.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"no section {heading!r} in CASES.md"
    parts = re.split(r"^### (\S+)\n", match.group(1), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def _command(section: str) -> dict[str, str]:
    command = re.search(r"^- command: `(.+)`$", section, flags=re.M).group(1)
    words = shlex.split(command)
    assert words[:2] == ["geet", "split"], command
    return {words[i].lstrip("-"): words[i + 1] for i in range(2, len(words), 2)}


def _input_file(section: str) -> Path:
    return DATA / re.search(r"^- input tiles file: `?(files/[^`\s]+)`?$", section, flags=re.M).group(1)


def _read(path: Path, tmp_path: Path) -> gpd.GeoDataFrame:
    if path.suffix == ".gz":
        tmp_path.mkdir(parents=True, exist_ok=True)
        plain = tmp_path / path.stem
        plain.write_bytes(gzip.decompress(path.read_bytes()))
        path = plain
    return gpd.read_file(path)


def _args(args: dict[str, str]) -> tuple[int, float, float, float, float]:
    return (
        int(args["nbands"]),
        float(args["angle"]),
        float(args["train_pct"]),
        float(args["test_pct"]),
        float(args["val_pct"]),
    )


SPLIT_CASES = _sections("split")
ERROR_CASES = _sections("split-errors")


def test_all_reference_cases_are_listed() -> None:
    folders = {p.name for p in (FILES / "split").iterdir() if p.is_dir() and p.name != "errors"}
    assert {name.removeprefix("split-") for name in SPLIT_CASES} == folders
    assert len(folders) == 13
    errors = {p.stem for p in (FILES / "split" / "errors").glob("*.stderr")}
    assert set(ERROR_CASES) == errors


@pytest.mark.parametrize("case", sorted(SPLIT_CASES))
def test_matches_original(case: str, tmp_path: Path) -> None:
    section = SPLIT_CASES[case]
    args = _command(section)
    chips = _read(_input_file(section), tmp_path)
    folder = FILES / "split" / case.removeprefix("split-")
    (splits_csv,) = folder.glob("*_splits.csv")
    (written,) = folder.glob("*.geojson*")
    expected_csv = pd.read_csv(splits_csv, dtype=str, keep_default_na=False)
    expected_file = _read(written, tmp_path / "out" if written.suffix == ".gz" else tmp_path)
    assert len(chips) == len(expected_csv) == len(expected_file)
    assert list(chips["identifier"]) == list(expected_csv["identifier"]) == list(expected_file["identifier"])

    split = legacy_split(chips.geometry.values, *_args(args))
    assert list(split) == list(expected_csv["split"])
    assert list(split) == list(expected_file["split"])

    name = args.get("foreign_tiles_name")
    if name is None:
        assert list(expected_csv.columns) == ["identifier", "split"]
        return
    assert list(expected_csv.columns) == ["identifier", "split", f"split_{name}"]
    grouped = majority_by_group(split, chips[f"foreignid_{name}"].astype(str).to_numpy())
    assert list(grouped) == list(expected_csv[f"split_{name}"])
    assert list(grouped) == list(expected_file[f"split_{name}"])


def test_summary_counts_and_quirk_cases(tmp_path: Path) -> None:
    """A few facts CASES.md states about the reference runs, checked on our results."""
    section = SPLIT_CASES["split-tromso-5000-a"]
    split = legacy_split(_read(_input_file(section), tmp_path).geometry.values, *_args(_command(section)))
    assert set(split) == {"train"}  # 12 bands unreachable with 9 chips: the last k, one band

    section = SPLIT_CASES["split-quito-1000-foreign-tie"]
    chips = _read(_input_file(section), tmp_path)
    split = legacy_split(chips.geometry.values, *_args(_command(section)))
    tie = (chips["foreignid_coarse"] == "3206b7fd85cb0").to_numpy()
    assert sorted(pd.Series(split[tie]).value_counts().items()) == [("train", 10), ("val", 10)]
    assert split[tie][np.isin(split[tie], ["train", "val"])][0] == "val"
    grouped = majority_by_group(split, chips["foreignid_coarse"].to_numpy())
    assert set(grouped[tie]) == {"val"}
    unmatched = (chips["foreignid_coarse"] == "-1").to_numpy()
    assert unmatched.sum() == 97 and set(grouped[unmatched]) == {"train"}


def _original_error(case: str) -> str:
    last = (FILES / "split" / "errors" / f"{case}.stderr").read_text(encoding="utf-8").strip().splitlines()[-1]
    kind, message = last.split(": ", 1)
    assert kind in {"ValueError", "KeyError"}
    return message.strip("'")


@pytest.mark.parametrize("case", sorted(c for c in ERROR_CASES if c != "split-err-noforeign"))
def test_errors_match_original(case: str, tmp_path: Path) -> None:
    section = ERROR_CASES[case]
    chips = _read(_input_file(section), tmp_path)
    wording = _original_error(case)
    with pytest.raises(UserInputError) as raised:
        legacy_split(chips.geometry.values, *_args(_command(section)))
    assert wording in str(raised.value)
    with pytest.raises(UserInputError):  # the same check before any geometry is looked at
        band_counts(*_args(_command(section)))


def test_not_enough_bands_names_the_needed_count() -> None:
    for nbands, pcts, needed in [(3, (0.5, 0.3, 0.2), 4), (7, (0.8, 0.1, 0.1), 10), (2, (0.34, 0.33, 0.33), 3)]:
        with pytest.raises(UserInputError, match=rf"increase nbands to at least {needed}\b"):
            band_counts(nbands, 0.5, *pcts)
        assert sum(band_counts(needed, 0.5, *pcts)) == needed


def test_missing_foreign_column_is_a_user_error(tmp_path: Path) -> None:
    """The original died on ``KeyError: 'foreignid_communes'``; the legacy stage refuses it by name."""
    from geetiles.split.splitter import column_values

    section = ERROR_CASES["split-err-noforeign"]
    chips = _read(_input_file(section), tmp_path)
    name = _command(section)["foreign_tiles_name"]
    wording = _original_error("split-err-noforeign")
    assert wording == f"foreignid_{name}"
    with pytest.raises(UserInputError, match=repr(wording)):
        column_values(chips, f"foreignid_{name}", "split.foreign_name")


def test_validation_details() -> None:
    # the bounds themselves are allowed, the pct tolerance is numpy's allclose (atol 1e-3, rtol 1e-5)
    assert band_counts(8, math.pi / 2, 0.5, 0.3, 0.2) == (2, 1, 1)
    assert band_counts(8, -math.pi / 2, 0.5, 0.3, 0.2) == (2, 1, 1)
    band_counts(8, 0, 0.5, 0.3, 0.2 + 1.009e-3)
    with pytest.raises(UserInputError, match="percentages must add up to one"):
        band_counts(8, 0, 0.5, 0.3, 0.2 + 1.011e-3)
    # banker's rounding seeing float error: .5/.2 = 2.5 -> 2, .3/.2 = 1.4999... -> 1
    assert band_counts(8, 0, 0.5, 0.3, 0.2) == (2, 1, 1)
    assert band_counts(4, 0, 0.5, 0.5, 0) == (1, 1, 0)
    # the angle check comes first (split-err-angle-and-nbands), then the sum, then the bands
    with pytest.raises(UserInputError, match="angle must be between"):
        band_counts(1, 3.0, 0.5, 0.5, 0.5)
    with pytest.raises(UserInputError, match="percentages must add up to one"):
        band_counts(1, 0, 0.5, 0.5, 0.5)
    # refused here, silently mishandled by the original
    with pytest.raises(UserInputError, match="angle"):
        band_counts(8, float("nan"), 0.5, 0.3, 0.2)
    with pytest.raises(UserInputError, match="negative"):
        band_counts(8, 0, 1.2, -0.2, 0)


def test_chip_point_is_the_biased_envelope_ring_mean() -> None:
    chip = shapely.Polygon([(1, 10), (1, 20), (6, 20), (6, 10), (1, 10)])
    ring = np.array(chip.envelope.boundary.coords)
    assert len(ring) == 5
    point = chip_points(np.array([chip]))[0]
    assert tuple(point) == tuple(ring.mean(axis=0)) == (3.0, 14.0)
    with pytest.raises(UserInputError, match="no geometry"):
        chip_points(np.array([chip, shapely.Polygon()]))


def test_bands_follow_the_pattern_over_occupied_bands() -> None:
    # a row of 8 chips, west to east, vertical bands (angle pi/2): 8 bands, one chip each
    row = np.array([shapely.box(i, 0, i + 1, 1) for i in range(8)])
    assert list(legacy_split(row, 8, math.pi / 2, 0.5, 0.3, 0.2)) == ["train", "train", "test", "val"] * 2
    # at -pi/2 the x flip and plon = -1 cancel (-(1 - x) = x - 1): the same west-to-east order
    assert list(legacy_split(row, 8, -math.pi / 2, 0.5, 0.3, 0.2)) == ["train", "train", "test", "val"] * 2
    # ... but x - 1 <= 0 and ids are truncated towards zero, so the band at 0 is (-w, w), twice as wide:
    # three chips at normalised x 0, .5, 1 give bands {0} {.5, 1} at -pi/2 and {0, .5} {1} at +pi/2
    three = row[:3]
    assert list(legacy_split(three, 2, -math.pi / 2, 0.5, 0.5, 0)) == ["train", "test", "test"]
    assert list(legacy_split(three, 2, math.pi / 2, 0.5, 0.5, 0)) == ["train", "train", "test"]
    # angle 0 stacks bands south to north, so the row is one band
    assert set(legacy_split(row, 4, 0.0, 0.5, 0.3, 0.2)) == {"train"}
    # a single chip: zero ranges become 1, one band
    assert list(legacy_split(row[:1], 1, 0.3, 1, 0, 0)) == ["train"]
    assert legacy_split(row[:0], 4, 0.3, 0.5, 0.3, 0.2).shape == (0,)


def test_majority_ties_and_groups() -> None:
    split = np.array(["test", "val", "train", "val", "train", "test", "val"])
    groups = np.array(["a", "a", "a", "a", "a", "b", "b"], dtype=object)
    # a: val 2, train 2, test 1 -> the tied value met first in the group (val, row 1)
    assert list(majority_by_group(split, groups)) == ["val"] * 5 + ["test", "test"]
    # -1 chips vote as one group; ints and their strings are the same group
    groups = np.array([-1, "-1", "x", -1], dtype=object)
    assert list(majority_by_group(np.array(["val", "train", "test", "train"]), groups)) == [
        "train",
        "train",
        "test",
        "train",
    ]
    # missing groups (dropped by pandas' groupby) give None
    out = majority_by_group(np.array(["val", "train"]), np.array([None, "g"], dtype=object))
    assert list(out) == [None, "train"]
    assert all(type(v) is str for v in majority_by_group(split, np.zeros(len(split))))


def test_nan_or_infinite_percentages_are_named_so() -> None:
    """``geet split --train_pct nan`` was told the shares "must add up to one ... = nan"."""
    with pytest.raises(UserInputError, match=r"train_pct=nan is NaN \(not a number\); give shares between 0 and 1"):
        band_counts(8, 0.5, math.nan, 0.5, 0.5)
    with pytest.raises(UserInputError, match="val_pct=inf is infinite"):
        band_counts(8, 0.5, 0.5, 0.5, math.inf)
