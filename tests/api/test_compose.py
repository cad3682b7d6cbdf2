"""``geetiles.compose``: the command line's composition and one-line errors, raised as UserInputError
(never SystemExit); the line is the one ``python -m geetiles`` prints (run in-process here)."""

from __future__ import annotations

import pytest

import geetiles
from geetiles.errors import UserInputError
from tests.in_process import run_geetiles

BAD_OVERRIDES = [  # one of each kind of message (each case runs the command line too: kept few)
    ["tiling.chip_size_m=abc"],  # OmegaConf's type check, reworded by geetiles
    ["experiment=no-such-experiment"],  # a missing group option (Hydra lists the options)
    ["aoi.name=../escape"],  # geetiles' own check of a hostile name
]


def cli_line(capsys, *args: str) -> str:
    code, err = run_geetiles(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("overrides", BAD_OVERRIDES, ids=lambda o: o[0])
def test_bad_overrides_raise_the_line_the_command_line_prints(workdir, capsys, overrides):
    with pytest.raises(UserInputError) as raised:
        geetiles.compose(overrides)
    assert cli_line(capsys, *overrides) == f"geetiles: error: {raised.value}"
    assert list(workdir.iterdir()) == []  # nothing written by either


def test_the_error_is_geetiles_own_exception_type_and_not_systemexit(workdir):
    assert geetiles.UserInputError is UserInputError
    with pytest.raises(Exception) as raised:
        geetiles.compose(["no_such_key=1"])
    assert type(raised.value) is UserInputError and raised.value.__cause__ is None


def test_compose_is_the_command_lines_config_and_can_be_called_twice(workdir):
    from hydra.core.global_hydra import GlobalHydra

    first = geetiles.compose(["experiment=demo", "tiling.chip_size_m=2000", "aoi.name=one"])
    second = geetiles.compose(["experiment=demo", "aoi.name=two"])
    assert not GlobalHydra.instance().is_initialized()  # cleaned up after each call
    assert first.config.tiling.chip_size_m == 2000 and second.config.tiling.chip_size_m == 1000
    assert first.config.source.dataset == "demo-imagery" and first.resolved["aoi"]["name"] == "one"
    assert first.data_dir == workdir / "outputs" / "data"
    assert first.command == "python -m geetiles experiment=demo tiling.chip_size_m=2000 aoi.name=one"


def test_a_users_config_dir_works_as_config_dir_does(workdir, capsys):
    mine = workdir / "my_configs"
    (mine / "experiment").mkdir(parents=True)
    (mine / "experiment" / "mine.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /source: demo\n  - override /labels: demo\n"
        "tiling:\n  chip_size_m: 2500\n"
    )
    (mine / "experiment" / "broken.yaml").write_text("# @package _global_\ntiling:\n  chip_size_m: -3\n")
    experiment = geetiles.compose(["experiment=mine"], config_dir=mine)
    assert experiment.config.tiling.chip_size_m == 2500 and experiment.config.labels.dataset == "demo-landcover"
    assert experiment.command == f"python -m geetiles --config-dir {mine} experiment=mine"
    for overrides, config_dir in ((["experiment=broken"], mine), (["experiment=mine"], workdir / "absent")):
        with pytest.raises(UserInputError) as raised:
            geetiles.compose(overrides, config_dir=config_dir)
        assert cli_line(capsys, "--config-dir", str(config_dir), *overrides) == f"geetiles: error: {raised.value}"
    with pytest.raises(UserInputError, match="Could not find 'experiment/mine'"):
        geetiles.compose(["experiment=mine"])  # the folder joined that one call only


@pytest.mark.parametrize("overrides", ["experiment=demo", [1, 2]])
def test_overrides_that_are_not_a_list_of_strings_are_refused(workdir, overrides):
    with pytest.raises(UserInputError, match="overrides must be"):
        geetiles.compose(overrides)
