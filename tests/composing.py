"""Compositions for tests that exercise a stage, not the composition: Hydra composes each distinct set
of overrides once per test process, and the values a test makes up as it goes (temporary paths, the
fake server's URL) are set on a copy, as Hydra sets ``key=value`` on a key the tree already has.

A composition of ``experiment=demo`` costs 121 ms of CPU and a copy of one 4.6 ms (``bench/compose.py``,
2026-12-05), and stage tests composed hundreds of times with nothing but paths changing. Tests of the
composition itself (``tests/cli``, ``tests/api/test_compose.py``, ``tests/test_experiment.py``) and
every ``geet`` command line still go through Hydra whole; ``tests/test_composing.py`` checks both ways
give the same tree."""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence

from omegaconf import DictConfig, OmegaConf

from geetiles.cli.compose import compose


@functools.cache
def _composed(overrides: tuple[str, ...]) -> DictConfig:
    return compose(list(overrides))


def compose_with(overrides: Sequence[str], values: Mapping[str, object]) -> DictConfig:
    """``compose([*overrides, *(f"{key}={quote(value)}" ...)])``, with each key already in the tree."""
    config = copy.deepcopy(_composed(tuple(overrides)))
    for key, value in values.items():
        if OmegaConf.select(config, key, default=KeyError) is KeyError:
            raise KeyError(f"{key} is not in the composed tree: pass it as an override")
        OmegaConf.update(config, key, value, merge=False)
    return config
