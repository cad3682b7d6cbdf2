"""Compose the same config tree as ``python -m geetiles`` from code, for ``geet`` and tests.

Every call is Hydra's own composition, from the package's config files: nothing is cached on disk.
(A composition cache of pickles in ``~/.cache/geetiles`` used to save ~0.16 s of ``geet grid``'s
start-up; any pickle planted there ran as the user at the next start. Without it ``geet grid`` on
Luxembourg takes ~0.45 s, well under its 1.2 s budget: ``bench/grid_startup.py``.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omegaconf import DictConfig


def compose(overrides: list[str]) -> DictConfig:
    """The experiment config that ``python -m geetiles <overrides>`` would run (no run directory)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from geetiles.config import register

    register()
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="geetiles.conf", version_base="1.3"):
        return hydra_compose(config_name="config", overrides=overrides)


def quote(value: object) -> str:
    """An override value that Hydra's grammar reads back verbatim (paths with spaces, commas, =)."""
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"
