"""Compose the same config tree as ``python -m geetiles`` from code, for ``geet``, ``geetiles.compose`` and tests.

Every composition is Hydra's own, from the package's config files; within a process, a repeat that
differs only in plain values is a copy (``composition_memo``). Nothing is cached on disk.
(A composition cache of pickles in ``~/.cache/geetiles`` used to save ~0.16 s of ``geet grid``'s
start-up; any pickle planted there ran as the user at the next start. Without it ``geet grid`` on
Luxembourg takes ~0.45 s, well under its 1.2 s budget: ``bench/grid_startup.py``.)
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from geetiles.cli import composition_memo

if TYPE_CHECKING:
    from omegaconf import DictConfig

CONFIG_MODULE = "geetiles.conf"


def compose(overrides: list[str], config_dir: str | os.PathLike[str] | None = None) -> DictConfig:
    """The experiment config that ``python -m geetiles [--config-dir DIR] <overrides>`` would run (no run
    directory). ``config_dir`` joins the search path where ``--config-dir`` puts it: before the package's
    files, so its config groups and files are found first. Hydra's global state is cleared afterwards.
    Within a process, a composition that differs from an earlier one only in plain values is a copy of
    it with those values set (``composition_memo``)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from geetiles.config import register

    register()
    composition_memo.install()
    GlobalHydra.instance().clear()
    if config_dir is None:
        with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
            return hydra_compose(config_name="config", overrides=overrides)
    try:
        _initialize_with_config_dir(config_dir)
        return hydra_compose(config_name="config", overrides=overrides)
    finally:
        GlobalHydra.instance().clear()


def _initialize_with_config_dir(config_dir: str | os.PathLike[str]) -> None:
    """Hydra's own start-up of ``@hydra.main(config_path="pkg://geetiles.conf")`` given ``--config-dir``
    (``hydra._internal.utils.run_hydra``): the same search path, the same error for a missing folder."""
    from hydra._internal.hydra import Hydra
    from hydra._internal.utils import create_automatic_config_search_path
    from hydra.core.config_search_path import SearchPathQuery
    from hydra.errors import SearchPathException

    search_path = create_automatic_config_search_path(None, None, f"pkg://{CONFIG_MODULE}")
    absolute = os.path.abspath(os.fspath(config_dir))
    if not os.path.isdir(absolute):
        raise SearchPathException(f"Additional config directory '{absolute}' not found")
    search_path.prepend(provider="command-line", path=f"file://{absolute}", anchor=SearchPathQuery(provider="schema"))
    Hydra.create_main_hydra2(task_name="geetiles", config_search_path=search_path)


def quote(value: object) -> str:
    """An override value that Hydra's grammar reads back verbatim (paths with spaces, commas, =)."""
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"
