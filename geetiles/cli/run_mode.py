"""One composition per ``python -m geetiles`` run instead of two.

Before a run, Hydra composes the whole config tree once only to read ``hydra.mode`` (``Hydra.get_mode``),
then composes it again for the run: about 0.13 s of CPU each on a 2-core machine (``bench/compose.py``).
``hydra.mode`` is unset (``None``, what ``get_mode`` then returns) unless an override or a config file
sets it, and geetiles' own config files never do (``tests/cli/test_run_mode.py`` checks every one). So
when the search path holds only Hydra's and geetiles' packaged configs and no override mentions
``hydra.mode``, ``hydra.searchpath`` or a ``hydra/`` group, the answer is known without composing;
anything else (``--config-dir``, a search-path plugin) gets Hydra's own ``get_mode``.

``Hydra.get_mode`` is Hydra's private API: this module is the one place that touches it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

# (provider, scheme, path) of Hydra's own configs, geetiles' and the structured schemas
PACKAGED_SOURCES = {("hydra", "pkg", "hydra.conf"), ("main", "pkg", "geetiles.conf"), ("schema", "structured", "")}
MODE_WORDS = ("hydra.mode", "hydra.searchpath", "hydra/")


def mode_is_unset(sources: Sequence[tuple[str, str, str]], overrides: Sequence[str]) -> bool:
    """Whether ``hydra.mode`` is surely unset for these config sources (provider, scheme, path) and overrides."""
    if not set(sources) <= PACKAGED_SOURCES:
        return False
    return not any(word in override for override in overrides for word in MODE_WORDS)


def install() -> None:
    """Make ``Hydra.get_mode`` answer without composing when :func:`mode_is_unset` (idempotent)."""
    from hydra._internal.hydra import Hydra

    original: Callable[..., Any] = getattr(Hydra.get_mode, "__wrapped__", Hydra.get_mode)

    def get_mode(self, config_name, overrides):
        sources = [(source.provider, source.scheme(), source.path) for source in self.config_loader.get_sources()]
        if mode_is_unset(sources, overrides):
            return None
        return original(self, config_name, overrides)

    get_mode.__wrapped__ = original
    Hydra.get_mode = get_mode
