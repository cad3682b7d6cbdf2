"""Compositions for tests that exercise a stage, not the composition: the overrides a test chooses plus
the values it makes up as it goes (temporary paths, the fake server's URL), quoted as a command line
gives them. Hydra composes each choice of config files once per test process; later compositions are
copies with the values set (``geetiles/cli/composition_memo.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from omegaconf import DictConfig

from geetiles.cli.compose import compose, quote


def compose_with(overrides: Sequence[str], values: Mapping[str, str]) -> DictConfig:
    """``compose([*overrides, *(f"{key}={quote(value)}" ...)])``."""
    return compose([*overrides, *(f"{key}={quote(value)}" for key, value in values.items())])
