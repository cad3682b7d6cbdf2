"""Compositions remembered within one process, for ``geetiles.compose`` in a notebook and ``geet`` run
in-process: the same experiment composed again with other paths or values costs Hydra ~120 ms of CPU
each time, a copy of the one composed before with the values set ~7 ms (``bench/compose.py``).

What is kept is Hydra's composition for one choice of config files (``tiling=utm``, ``experiment=demo``).
The plain ``key=value`` overrides are Hydra's last step, applied to the composed tree in their order by
Hydra's own code (``apply_value_overrides``): they are applied to a copy. Anything else (``+``, ``++``,
``~``, sweeps, ``@package``, ``hydra.*``, nested groups) composes in full every time, as does any call
after a config file changed (the package's, or ``--config-dir``'s: their names, sizes and times are
compared on every call) or a schema was added to Hydra's ConfigStore.
"""

from __future__ import annotations

import copy
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hydra.core.override_parser.types import Override
    from omegaconf import DictConfig

KEPT = 16  # compositions kept (one per choice of config files), the least recently used dropped first
MAX_CONFIG_FILES = 2000  # a --config-dir with more entries than this is not worth checking each call


class CompositionMemo:
    """Composed trees per (config folders' state, config-file choices); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: OrderedDict[tuple, frozenset[str]] = OrderedDict()
        self._trees: OrderedDict[tuple, DictConfig] = OrderedDict()

    def compose(
        self,
        overrides: list[str],
        folders: list[Path],
        compose: Callable[[list[str]], DictConfig],
        list_groups: Callable[[], frozenset[str]],
    ) -> DictConfig:
        """What ``compose(overrides)`` returns (Hydra's composition from the config ``folders``), from a
        kept composition when only plain values differ. ``list_groups()`` names the top-level config
        groups, which tell a choice of config file from a value."""
        state = folders_state(folders)
        if state is None:
            return compose(overrides)
        with self._lock:
            groups = _kept(self._groups, state)
            if groups is None:
                groups = list_groups()
                state = folders_state(folders)  # Hydra's first start adds its plugins' schemas to the store
                if state is None:
                    return compose(overrides)
                _keep(self._groups, state, groups)
            split = split_overrides(overrides, groups)
            if split is None:
                return compose(overrides)
            choices, values = split
            tree = _kept(self._trees, (state, choices))
            if tree is None:
                tree = _keep(self._trees, (state, choices), compose(list(choices)))
            return _with_values(tree, values)


def _kept(kept: OrderedDict, key: tuple):
    if key in kept:
        kept.move_to_end(key)
        return kept[key]
    return None


def _keep(kept: OrderedDict, key: tuple, value):
    kept[key] = value
    while len(kept) > KEPT:
        kept.popitem(last=False)
    return value


def split_overrides(overrides: list[str], groups: frozenset[str]) -> tuple[tuple[str, ...], list[Override]] | None:
    """(the config-file choices, as written; the plain values, parsed), or None when an override is
    neither (``+``/``~``, a sweep, a package, ``hydra.*``, a nested group, a group given a dict) or does
    not parse. A choice is what Hydra's defaults list takes (``defaults_list.Overrides``): a top-level
    group given a name or a list of names."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides=overrides)
    except HydraException:
        return None  # Hydra's own composition words the error
    choices, values = [], []
    for override in parsed:
        key = override.key_or_group
        plain = not (override.is_add() or override.is_force_add() or override.is_delete())
        if not plain or override.is_sweep_override() or override.package is not None or "/" in key:
            return None
        if key == "hydra" or key.startswith("hydra.") or key.split(".")[0] == "hydra":
            return None
        if key in groups:
            if isinstance(override.value(), dict):  # Hydra sets a group's dict as a value, in order
                return None
            choices.append(override.input_line)
        else:
            values.append(override)
    return tuple(choices), values


def apply_value_overrides(tree: DictConfig, values: list[Override]) -> None:
    """Hydra's own last step of a composition (``ConfigLoaderImpl._apply_overrides_to_config``, a private
    API, used here only): ``key=value`` overrides set in order, with Hydra's errors."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    ConfigLoaderImpl._apply_overrides_to_config(values, tree)


def folders_state(folders: list[Path]) -> tuple | None:
    """Every config file's relative path, size, times and inode under ``folders`` (and every folder's
    name: a config group; the change time catches an edit of the same size whose modification time was
    put back), and the schemas in Hydra's ConfigStore: what a composition reads.
    None when a folder holds too much to check on every call."""
    from hydra.core.config_store import ConfigStore

    state: list = [tuple(sorted(_store_names(ConfigStore.instance().repo)))]
    seen = 0
    for folder in folders:
        entries = []
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(name for name in dirs if name != "__pycache__")
            seen += len(dirs) + len(files)
            if seen > MAX_CONFIG_FILES:
                return None
            entries.extend(os.path.relpath(os.path.join(root, name), folder) + "/" for name in dirs)
            for name in sorted(files):
                if not name.endswith(".yaml"):
                    continue
                try:
                    info = os.stat(os.path.join(root, name))
                except OSError:
                    continue
                entries.append(
                    (
                        os.path.relpath(os.path.join(root, name), folder),
                        info.st_size,
                        info.st_mtime_ns,
                        info.st_ctime_ns,
                        info.st_ino,
                    )
                )
        state.append((str(folder), tuple(entries)))
    return tuple(state)


def _store_names(node: dict, prefix: str = "") -> list[str]:
    names = []
    for name, child in node.items():
        names.append(prefix + name)
        if isinstance(child, dict):
            names.extend(_store_names(child, prefix + name + "/"))
    return names


def _with_values(tree: DictConfig, values: list[Override]) -> DictConfig:
    composed = copy.deepcopy(tree)
    apply_value_overrides(composed, values)
    return composed
