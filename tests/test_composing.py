"""The stage tests' shortcut (tests/composing.py) gives the tree Hydra composes from the same overrides."""

import pytest
from omegaconf import OmegaConf

from geetiles.cli.compose import compose, quote
from geetiles.experiment import Experiment
from tests.composing import compose_with

AWKWARD = "dir with spaces, commas=and 'quotes'"


@pytest.mark.parametrize(
    "overrides, values",
    [
        (["stages=[report]", "source=none", "labels=none"], {"data_dir": AWKWARD, "report.tiles_file": "t.geojson"}),
        (
            ["stages=[download]", "source=sentinel2", "labels=none"],
            {"ee.url": "http://127.0.0.1:1", "ee.credentials": "k.json"},
        ),
        (["experiment=demo", "labels=none"], {"download.tiles_file": f"/tmp/{AWKWARD}/t.geojson", "data_dir": "/tmp"}),
    ],
)
def test_the_shortcut_equals_hydras_own_composition(tmp_path, overrides, values):
    values = {key: str(tmp_path / value) if key.endswith("dir") else value for key, value in values.items()}
    by_hydra = compose([*overrides, *(f"{key}={quote(value)}" for key, value in values.items())])
    shortcut = compose_with(overrides, values)
    assert OmegaConf.to_container(shortcut) == OmegaConf.to_container(by_hydra)
    ours, theirs = (Experiment.from_config(c, command="test") for c in (shortcut, by_hydra))
    assert ours == theirs


def test_each_test_gets_its_own_copy_and_an_unknown_key_is_refused(tmp_path):
    first = compose_with(["source=none"], {"data_dir": str(tmp_path / "a")})
    second = compose_with(["source=none"], {"data_dir": str(tmp_path / "b")})
    assert (first.data_dir, second.data_dir) == (str(tmp_path / "a"), str(tmp_path / "b"))
    with pytest.raises(KeyError, match="no_such_key"):
        compose_with(["source=none"], {"report.no_such_key": "x"})
