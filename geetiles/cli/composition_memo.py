"""Compositions remembered within one process: every ``python -m geetiles`` and ``geet`` line the tests
run in-process, ``geetiles.compose`` in a notebook. The same experiment composed again with other
paths or values costs Hydra ~120 ms of CPU each time; a copy of the one composed before, with the
values set, ~5 ms (``bench/compose.py``). The tree is kept pickled: unpickling it costs a sixth of
``copy.deepcopy`` (1.4 against 8.5 ms, ``bench/compose.py``), and a kept tree can never be changed by a caller. The
bytes live in this process's memory only, never on disk, so nothing else can hand it a pickle. A
process's first composition pays the pickling on top.

Hydra composes in two steps (``ConfigLoaderImpl._load_configuration_impl``): the config files the
choices name (``tiling=utm``, ``experiment=demo``) are merged, the expensive part; then the plain
``key=value`` overrides are set in order, and the ``hydra`` node records the command line. This keeps
the first step's tree per choice of config files and redoes the second with Hydra's own functions.
Anything else (``+``, ``++``, ``~``, sweeps, ``@package``, ``hydra.searchpath``, ``hydra.runtime.*``,
``hydra.overrides.*``, nested groups, a group given a dict, a config that extends its search path)
composes in full every time, as does any call after a config file changed (the search path's folders
are compared by names, sizes, times and inodes on every call) or a schema was added to Hydra's
ConfigStore.

A composition the memo has not kept still reads each config file through Hydra's repository (the
YAML parsed, its defaults list built): 46 of its 158 ms (``bench/compose.py``). Those reads are kept
too, per file and per state of the search path, while the memo composes under a state it checked (and
its lock); a composition whose sources change on the way (a config extending its search path) reads
every file afresh.

``_load_configuration_impl``, ``ConfigRepository.load_config``, ``_apply_overrides_to_config`` and
``get_overrides_dirname`` are Hydra's private API: this module is the one place that touches them
(``install`` wraps the first two, idempotent).
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hydra.core.override_parser.types import Override
    from omegaconf import DictConfig

KEPT = 32  # compositions kept (one per choice of config files), the least recently used dropped first
# hydra.* values that Hydra reads while composing, or writes after the values are set: composed in full
HYDRA_KEPT_OUT = ("hydra.searchpath", "hydra.runtime", "hydra.overrides")
MAX_CONFIG_FILES = 2000  # a search path holding more entries than this is not worth checking each call
_LOCK = threading.Lock()
_TREES: OrderedDict[tuple, bytes | None] = OrderedDict()  # pickled trees; None: composes in full (search path grows)
KEPT_READS = 1024  # config files read, per state of the search path, the least recently used dropped first
_READS: OrderedDict[tuple, bytes] = OrderedDict()  # (state, config path) -> the repository's result, pickled
_COMPOSING = threading.local()  # .checked: (state, sources) while this thread composes for the memo


def install() -> None:
    """Route Hydra's compositions in this process through the memo (idempotent)."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    original = getattr(
        ConfigLoaderImpl._load_configuration_impl, "__wrapped__", ConfigLoaderImpl._load_configuration_impl
    )

    def load_configuration_impl(self, config_name, overrides, run_mode, from_shell=True, validate_sweep_overrides=True):
        def compose(chosen: list[str]) -> DictConfig:
            return original(self, config_name, chosen, run_mode, from_shell, validate_sweep_overrides)

        key = (config_name, run_mode, from_shell, validate_sweep_overrides)
        return remembered(overrides, self.repository, key, compose)

    load_configuration_impl.__wrapped__ = original
    ConfigLoaderImpl._load_configuration_impl = load_configuration_impl

    from hydra._internal.config_repository import ConfigRepository

    load = getattr(ConfigRepository.load_config, "__wrapped__", ConfigRepository.load_config)

    def load_config(self, config_path: str):
        return read_once(self, config_path, load)

    load_config.__wrapped__ = load
    ConfigRepository.load_config = load_config


def remembered(overrides: list[str], repository: Any, key: tuple, compose) -> DictConfig:
    """``compose(overrides)``, from a kept composition of the same choices when the rest are plain values."""
    state = search_path_state(repository.get_sources())
    if state is None:
        return compose(overrides)
    split = split_overrides(overrides, repository.group_exists)
    if split is None:
        return compose(overrides)
    choices, values, parsed = split
    with _LOCK:
        if (state, key, choices) in _TREES:
            tree = _kept((state, key, choices))
        else:
            _COMPOSING.checked = (state, _sources(repository))
            try:
                tree = compose(list(choices))
            finally:
                _COMPOSING.checked = None
            if tree.hydra.get("searchpath"):  # folders this state does not cover: composed in full from now on
                tree = None
            # Hydra's first start adds its plugins' schemas to the store: keep under the state after it
            state = search_path_state(repository.get_sources())
            if state is None:
                return compose(overrides)
            tree = None if tree is None else _pickled(tree)
            _keep((state, key, choices), tree)
        return compose(overrides) if tree is None else with_values(tree, values, parsed)


def read_once(repository: Any, config_path: str, load) -> Any:
    """Hydra's ``ConfigRepository.load_config`` (a config file parsed, its defaults list built), from a
    kept copy while the memo composes under the state it checked and the repository still has the
    sources that state covers (``remembered`` holds the lock then, which guards ``_READS`` too).
    Callers change what they get (Hydra takes the defaults out of it): each gets its own unpickled copy."""
    checked = getattr(_COMPOSING, "checked", None)
    if checked is None or checked[1] != _sources(repository):
        return load(repository, config_path)
    key = (checked[0], config_path)
    kept = _READS.get(key)
    if kept is not None:
        _READS.move_to_end(key)
        return pickle.loads(kept)
    result = load(repository, config_path)
    kept = None if result is None else _pickled(result)
    if kept is not None:
        _READS[key] = kept
        while len(_READS) > KEPT_READS:
            _READS.popitem(last=False)
    return result


def _sources(repository: Any) -> tuple:
    return tuple((source.scheme(), source.path) for source in repository.get_sources())


def split_overrides(overrides: list[str], is_group) -> tuple[tuple[str, ...], list[Override], list[Override]] | None:
    """(the config-file choices, as written; the plain values; every override, parsed), or None when
    an override is neither or does not parse. A choice is what Hydra's defaults list takes
    (``defaults_list.Overrides``): a config group given a name or a list of names."""
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
        if key == "hydra" or key.startswith(HYDRA_KEPT_OUT):
            return None
        if is_group(key):
            if isinstance(override.value(), dict):  # Hydra sets a group's dict as a value, in order
                return None
            choices.append(override.input_line)
        else:
            values.append(override)
    return tuple(choices), values, parsed


def with_values(tree: bytes, values: list[Override], parsed: list[Override]) -> DictConfig:
    """The pickled ``tree`` (composed from the choices alone) as Hydra composes it from every override:
    the values set in order, then what the ``hydra`` node records of the command line, as
    ``_load_configuration_impl`` writes it after its own ``_apply_overrides_to_config``."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
    from omegaconf import open_dict

    composed = pickle.loads(tree)
    ConfigLoaderImpl._apply_overrides_to_config(values, composed)
    hydra = composed.hydra
    application = [override for override in parsed if not override.is_hydra_override()]
    hydra.overrides.hydra = [override.input_line for override in parsed if override.is_hydra_override()]
    hydra.overrides.task = [override.input_line for override in application]
    with open_dict(hydra):
        for key in hydra.job.env_copy:
            hydra.job.env_set[key] = os.environ[key]
    hydra.runtime.cwd = os.getcwd()
    names = hydra.job.config.override_dirname
    hydra.job.override_dirname = get_overrides_dirname(
        overrides=application, kv_sep=names.kv_sep, item_sep=names.item_sep, exclude_keys=names.exclude_keys
    )
    return composed


def search_path_state(sources: list) -> tuple | None:
    """What a composition reads: every config file's relative path, size, times and inode in the search
    path's folders (and every folder's name: a config group; the change time catches an edit of the
    same size whose modification time was put back), and the schemas in Hydra's ConfigStore. None when
    a source is neither a package nor a folder, or holds too much to check on every call."""
    from hydra.core.config_store import ConfigStore

    state: list = [tuple(sorted(_store_names(ConfigStore.instance().repo)))]
    seen = 0
    for source in sources:
        folders = _source_folders(source.scheme(), source.path)
        if folders is None:
            return None
        for folder in folders:
            entries, seen = _folder_entries(folder, seen)
            if entries is None:
                return None
            state.append((source.scheme(), source.path, str(folder), entries))
    return tuple(state)


def _source_folders(scheme: str, path: str) -> list[Path] | None:
    if scheme == "structured":
        return [] if not path else None  # a module's schemas would register on import: not followed
    if scheme == "file":
        return [Path(path)]
    if scheme == "pkg":
        try:
            spec = importlib.util.find_spec(path) if path else None
        except (ImportError, ValueError):
            return None
        if spec is None or not spec.submodule_search_locations:
            return None
        return [Path(location) for location in spec.submodule_search_locations]
    return None


def _folder_entries(folder: Path, seen: int) -> tuple[tuple | None, int]:
    entries: list = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(name for name in dirs if name != "__pycache__")
        seen += len(dirs) + len(files)
        if seen > MAX_CONFIG_FILES:
            return None, seen
        entries.extend(os.path.relpath(os.path.join(root, name), folder) + "/" for name in dirs)
        for name in sorted(files):
            if not name.endswith(".yaml"):
                continue
            try:
                info = os.stat(os.path.join(root, name))
            except OSError:
                continue
            relative = os.path.relpath(os.path.join(root, name), folder)
            entries.append((relative, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino))
    return tuple(entries), seen


def _store_names(node: dict, prefix: str = "") -> list[str]:
    names = []
    for name, child in node.items():
        names.append(prefix + name)
        if isinstance(child, dict):
            names.extend(_store_names(child, prefix + name + "/"))
    return names


def _pickled(tree: Any) -> bytes | None:
    """The tree (or a config file read) as bytes to keep, or None (not kept) for one pickle cannot hold."""
    try:
        return pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None


def _kept(key: tuple):
    _TREES.move_to_end(key)
    return _TREES[key]


def _keep(key: tuple, tree) -> None:
    _TREES[key] = tree
    while len(_TREES) > KEPT:
        _TREES.popitem(last=False)


def forget() -> None:
    """Drop every kept composition (tests; a process that wants Hydra's composition afresh)."""
    with _LOCK:
        _TREES.clear()
        _READS.clear()
