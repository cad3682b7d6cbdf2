"""Compose the same config tree as ``python -m geetiles`` from code, for ``geet`` and tests.

Composing with Hydra costs ~0.3 s (tens of YAML files and dataclasses turned into OmegaConf nodes,
twice over for Hydra's own tree), which is most of ``geet grid``'s start-up. Hydra composes in two
steps: the config groups chosen (``aoi=wkt``, ``tiling=grid``) select and merge the defaults list;
then every other override is applied, in order, as ``OmegaConf.update(cfg, key, value, merge=True)``.
:func:`compose_cached` keeps the first step in a small on-disk cache, keyed on the group choices and
on everything the composition reads (the ``geetiles.conf`` files, the schema in ``geetiles/config.py``,
this file, the Hydra, OmegaConf and Python versions), and replays the second step exactly as Hydra
does, with each value as Hydra's override parser reads it. The plain overrides ``geet`` writes
(``key='quoted text'``, numbers, booleans, ``[a,b]``) are read without loading Hydra at all; any other
form goes through Hydra's parser, and anything unusual (``+``/``~`` overrides, ``hydra.*`` keys, an
override that fails) takes Hydra's full path, so results and errors are always Hydra's.

The cache lives in ``$GEETILES_CACHE_DIR``, else ``$XDG_CACHE_HOME/geetiles``, else
``~/.cache/geetiles``; ``GEETILES_CACHE_DIR=`` (empty) turns it off. It is only ever a speed-up: an
unreadable or unwritable cache is ignored.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omegaconf import DictConfig

_CONF = Path(__file__).resolve().parents[1] / "conf"
_KEPT = 32  # cache entries kept (one per distinct set of group choices)


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


def compose_cached(overrides: list[str]) -> DictConfig:
    """``compose(overrides)``, with the composition of its config-group choices cached (see above)."""
    from omegaconf import OmegaConf

    split = _split_overrides(overrides)
    folder = cache_dir()
    if split is None or folder is None:
        return compose(overrides)
    groups, values = split
    try:
        cfg = _cached_groups(groups, folder)
        for key, value in values:
            OmegaConf.update(cfg, key, value, merge=True)
    except Exception:  # Hydra words the error (and wraps it) its own way: let it
        return compose(overrides)
    return cfg


def cache_dir() -> Path | None:
    """Where composed configs are cached, or None when caching is turned off."""
    configured = os.environ.get("GEETILES_CACHE_DIR")
    if configured is not None:
        return Path(configured).expanduser() if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "geetiles"


def _split_overrides(overrides: list[str]) -> tuple[list[str], list[tuple[str, object]]] | None:
    """(group choices as written, [(key, value)] of the other overrides in order), each value as
    Hydra's parser reads it; None when an override needs Hydra's full treatment."""
    parsed = _parse_plain(overrides)
    if parsed is None:
        parsed = _parse_with_hydra(overrides)
        if parsed is None:
            return None
    groups, values = [], []
    for line, key, value in parsed:
        if key.split(".")[0] == "hydra":
            return None
        if "." not in key and (_CONF / key).is_dir():
            if not isinstance(value, str):
                return None
            groups.append(line)
        else:
            values.append((key, value))
    return groups, values


def _parse_with_hydra(overrides: list[str]) -> list[tuple[str, str, object]] | None:
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import OverrideType

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception:
        return None
    result = []
    for override in parsed:
        if (override.type is not OverrideType.CHANGE or override.package is not None or override.is_sweep_override()
                or "/" in override.key_or_group):
            return None
        result.append((override.input_line, override.key_or_group, override.value()))
    return result


# The overrides geet writes, read without loading Hydra (~0.1 s): ``key=value`` with a dotted key and
# a value that is one token of Hydra's override grammar, or a list of them (``[a,b]``). Anything else
# (escapes, interpolations, whitespace, ``+``/``~``/``@``, sweeps, dicts, functions) goes to Hydra's
# parser. Tests compare both parsers on every form geet writes.
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*")
_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_INT = re.compile(r"[+-]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[+-]?(?:(?:(?:0|[1-9][0-9]*)\.[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?:0|[1-9][0-9]*)[eE][+-]?[0-9]+)")
_QUOTED = re.compile(r"'[^'\\$]*'")
_NO_VALUE = object()


def _parse_plain(overrides: list[str]) -> list[tuple[str, str, object]] | None:
    result = []
    for line in overrides:
        key, equal, text = line.partition("=")
        if not equal or not _KEY.fullmatch(key):
            return None
        if text.startswith("[") and text.endswith("]"):
            items = [_plain_value(item) for item in text[1:-1].split(",")] if text != "[]" else []
            if any(item is _NO_VALUE for item in items):
                return None
            value = items
        else:
            value = _plain_value(text)
            if value is _NO_VALUE:
                return None
        result.append((line, key, value))
    return result


def _plain_value(text: str) -> object:
    """One primitive token as Hydra's override parser reads it, or _NO_VALUE (not in the subset)."""
    if _QUOTED.fullmatch(text) and len(text) >= 2:
        return text[1:-1]
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if lowered in ("inf", "+inf", "-inf", "nan", "+nan", "-nan"):
        return float(text)
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if _ID.fullmatch(text):
        return text
    return _NO_VALUE


def _cached_groups(groups: list[str], folder: Path) -> DictConfig:
    path = folder / f"compose-{_cache_key(groups)}.pickle"
    try:
        with open(path, "rb") as stream:
            return pickle.load(stream)
    except Exception:  # missing, truncated or from an incompatible interpreter: compose again
        pass
    cfg = compose(groups)
    try:
        from geetiles.atomic import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_bytes(pickle.dumps(cfg, protocol=pickle.HIGHEST_PROTOCOL))
        _prune(folder)
    except Exception:  # a read-only home, a full disk: no cache, same result
        pass
    return cfg


def _cache_key(groups: list[str]) -> str:
    from geetiles import __version__

    digest = hashlib.sha256()
    for part in (__version__, sys.version, _hydra_plugins(), *groups):
        digest.update(part.encode() + b"\0")
    sources = sorted(p for p in _CONF.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    named = [(str(p.relative_to(_CONF.parent)), p) for p in (*sources, _CONF.parent / "config.py")]
    # Hydra's and OmegaConf's versions, read from their files without importing them
    named += [(f"{package}/{file}", _package_file(package, file))
              for package, file in (("hydra", "__init__.py"), ("omegaconf", "version.py"))]
    for name, path in (*named, ("cli/compose.py", Path(__file__))):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def _package_file(package: str, file: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(package)
    return Path(next(iter(spec.submodule_search_locations))) / file


def _hydra_plugins() -> str:
    """Installed Hydra plugins can add config search paths: they are part of the key."""
    import importlib.util
    import pkgutil

    spec = importlib.util.find_spec("hydra_plugins")
    if spec is None or not spec.submodule_search_locations:
        return ""
    return ",".join(sorted(m.name for m in pkgutil.iter_modules(list(spec.submodule_search_locations))))


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("compose-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in entries[_KEPT:]:
        stale.unlink(missing_ok=True)


def quote(value: object) -> str:
    """An override value that Hydra's grammar reads back verbatim (paths with spaces, commas, =)."""
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"
