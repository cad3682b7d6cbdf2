"""The one interface of the geometric split strategies: a Splitter takes the chips as every strategy
sees them (true centres in metres, weights, target fractions, the tiles file's columns) and returns
a split code per chip (``codes.py``). The stage adds what is common to all of them afterwards:
``split.group_by`` and the guard gap. ``split=legacy`` is not one: it reproduces 0.1.7 on its own
normalised coordinates and writes a second column."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from geetiles.config import SplitKind
from geetiles.errors import UserInputError


@dataclass
class SplitInput:
    chips: object  # the tiles file's rows (a GeoDataFrame): columns for the group strategies
    centres: np.ndarray  # (N, 2) true chip centres in a local metric plane
    weights: np.ndarray  # 1 a chip, or its area in m² (split.by=area)
    fractions: np.ndarray  # train, val, test, summing to 1


class Splitter(Protocol):
    def __call__(self, data: SplitInput, split) -> np.ndarray:
        """A split code per chip (``split`` is the SplitConfig)."""


def random_chips(data: SplitInput, split) -> np.ndarray:
    from geetiles.split.random_split import random_split

    return random_split(len(data.centres), data.weights, data.fractions, split.seed)


def whole_groups(data: SplitInput, split) -> np.ndarray:
    from geetiles.split.groups import group_split

    return group_split(
        column_values(data.chips, split.column, "split.column"), data.weights, data.fractions, split.seed
    )


def bands(data: SplitInput, split) -> np.ndarray:
    from geetiles.split.bands import band_split

    return band_split(
        data.centres, data.weights, data.fractions, split.azimuth_deg, split.band_width_m, split.bands, split.seed
    )


def blocks(data: SplitInput, split) -> np.ndarray:
    from geetiles.split.blocks import block_split

    return block_split(
        data.centres, data.weights, data.fractions, split.block_size_m, split.assign.value, split.seed, split.candidates
    )


SPLITTERS: dict[SplitKind, Splitter] = {
    SplitKind.random: random_chips,
    SplitKind.groups: whole_groups,
    SplitKind.bands: bands,
    SplitKind.blocks: blocks,
}


def column_values(chips, column: str, key: str) -> np.ndarray:
    """A column of the tiles file as text, or one line naming the columns there are."""
    if column not in chips.columns:
        present = ", ".join(c for c in chips.columns if c != "geometry")
        raise UserInputError(
            f"{key}: the tiles file has no column {column!r} (it has: {present}); "
            "run intersect first for foreignid_ columns, or name an existing column"
        )
    return chips[column].astype(str).to_numpy()
