"""``run_mode``: Hydra's ``get_mode`` answered without a composition where the answer is known, and the
same answer as Hydra's own in every case (packaged configs, overrides, a user's config dir)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra._internal.hydra import Hydra
from hydra._internal.utils import create_automatic_config_search_path
from hydra.core.config_search_path import SearchPathQuery
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode

import geetiles
from geetiles.cli import run_mode
from geetiles.config import register

CONF = Path(geetiles.__file__).parent / "conf"


def _hydra(config_dir: Path | None = None) -> Hydra:
    """Hydra as ``python -m geetiles [--config-dir DIR]`` sets it up."""
    register()
    GlobalHydra.instance().clear()
    search_path = create_automatic_config_search_path(None, None, "pkg://geetiles.conf")
    if config_dir is not None:
        search_path.prepend(provider="command-line", path=f"file://{config_dir}", anchor=SearchPathQuery("schema"))
    return Hydra.create_main_hydra2(task_name="geetiles", config_search_path=search_path)


@pytest.fixture
def compositions(monkeypatch):
    """Hydra's get_mode as it is (the wrapper undone at the end) and the count of compositions made."""
    original = getattr(Hydra.get_mode, "__wrapped__", Hydra.get_mode)
    monkeypatch.setattr(Hydra, "get_mode", original)
    made = []
    load = ConfigLoaderImpl.load_configuration
    monkeypatch.setattr(
        ConfigLoaderImpl, "load_configuration", lambda self, *a, **k: made.append(1) or load(self, *a, **k)
    )
    yield made
    GlobalHydra.instance().clear()


def _modes(hydra: Hydra, overrides: list[str]) -> tuple[object, object]:
    original = getattr(Hydra.get_mode, "__wrapped__", Hydra.get_mode)
    hydra_own = original(hydra, "config", list(overrides))
    run_mode.install()
    ours = Hydra.get_mode(hydra, "config", list(overrides))
    return hydra_own, ours


def _keys_under_hydra(node, inside_hydra=False):
    if isinstance(node, dict):
        for key, value in node.items():
            if inside_hydra:
                yield key
            yield from _keys_under_hydra(value, inside_hydra or key == "hydra")


def test_no_packaged_config_sets_hydra_mode():
    files = sorted(CONF.rglob("*.yaml"))
    assert len(files) > 40
    for path in files:
        assert "mode" not in set(_keys_under_hydra(yaml.safe_load(path.read_text()) or {})), path


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["experiment=demo", "tiling=utm"],
        ["tiling.chip_size_m=1000,2000"],  # a sweep: Hydra's -m decides, not hydra.mode
        ["hydra.mode=MULTIRUN"],
        ["hydra.mode=RUN", "experiment=demo"],
        ["aoi=nonexistent"],  # Hydra's get_mode swallows the error (None); the run reports it
    ],
)
def test_the_answer_is_hydras_own(compositions, overrides):
    hydra_own, ours = _modes(_hydra(), overrides)
    assert ours == hydra_own


def test_packaged_configs_without_hydra_overrides_need_no_composition(compositions):
    hydra = _hydra()
    run_mode.install()
    assert Hydra.get_mode(hydra, "config", ["experiment=demo", "tiling.chip_size_m=2000"]) is None
    assert compositions == []
    assert Hydra.get_mode(hydra, "config", ["hydra.mode=MULTIRUN"]) == RunMode.MULTIRUN
    assert len(compositions) == 1


def test_a_users_config_dir_that_sets_the_mode_is_composed(compositions, tmp_path):
    experiment = tmp_path / "experiment"
    experiment.mkdir()
    (experiment / "sweep.yaml").write_text("# @package _global_\nhydra:\n  mode: MULTIRUN\n")
    hydra_own, ours = _modes(_hydra(tmp_path), ["experiment=sweep"])
    assert ours == hydra_own == RunMode.MULTIRUN


def test_install_twice_wraps_once(compositions):
    run_mode.install()
    first = Hydra.get_mode
    run_mode.install()
    assert Hydra.get_mode.__wrapped__ is first.__wrapped__
