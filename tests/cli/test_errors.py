"""The one error policy of the entry points: YAML a user's --config-dir holds is read safely (a
``!!python/...`` tag is never constructed, one line naming the file, exit 2), and a full disk is one
line with exit status 1, no traceback."""

from __future__ import annotations

import errno
import os

import pytest
import yaml

from geetiles.cli.errors import as_user_error, run_reporting
from geetiles.errors import DiskFull
from tests.in_process import run_geetiles


def payload(marker) -> str:
    return f'!!python/object/apply:os.system ["touch {marker}"]'


@pytest.mark.parametrize("where", ["group", "experiment", "primary"])
def test_a_python_tag_is_one_line_and_never_runs(workdir, capsys, where):
    marker = workdir / "pwned"
    configs = workdir / "my_configs"
    if where == "group":
        path, args = configs / "aoi" / "evil.yaml", ["aoi=evil", "stages=[aoi]"]
        text = f"name: evil\nbbox: {payload(marker)}\n"
    elif where == "experiment":
        path, args = configs / "experiment" / "evil.yaml", ["experiment=evil"]
        text = f"# @package _global_\ndata_dir: {payload(marker)}\n"
    else:
        path, args = configs / "evil.yaml", ["--config-name", "evil"]
        text = f"defaults:\n  - config\n  - _self_\nstages: {payload(marker)}\n"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    code, err = run_geetiles(capsys, "--config-dir", str(configs), *args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"geetiles: error: {path} line ")
    assert "the YAML tag !!python/object/apply:os.system is not allowed" in lines[0] and "remove the tag" in lines[0]
    assert not marker.exists()  # nothing ran
    assert sorted(p.name for p in workdir.iterdir()) == ["my_configs"]  # no run folder, no data


def test_broken_yaml_is_one_line_naming_the_file_and_line(workdir, capsys):
    path = workdir / "my_configs" / "aoi" / "broken.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("name: broken\nbbox: [6.0, 49.6\nlayer: x\n")
    code, err = run_geetiles(capsys, "--config-dir", str(workdir / "my_configs"), "aoi=broken", "stages=[aoi]")
    assert code == 2 and "Traceback" not in err, err
    assert err.strip() == (
        f"geetiles: error: {path} line 3 is not valid YAML (expected ',' or ']', but got ':'); fix the file"
    )


def test_any_unknown_tag_is_refused_by_its_name():
    with pytest.raises(yaml.YAMLError) as raised:
        yaml.load("x: !custom 1\n", Loader=yaml.SafeLoader)
    error = as_user_error(raised.value)
    assert error is not None and "the YAML tag !custom is not allowed" in str(error)


def fails_with(error: BaseException):
    def call():
        raise error

    return call


@pytest.mark.parametrize(
    "error",
    [DiskFull("/data/t/demo/chip.tif"), OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/data/t/demo/chip.tif")],
    ids=["DiskFull", "a raw ENOSPC from any writer"],
)
def test_a_full_disk_is_one_line_and_exit_status_1(error, capsys):
    with pytest.raises(SystemExit) as exited:
        run_reporting(fails_with(error))
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err == (
        "geetiles: error: disk full while writing /data/t/demo/chip.tif; free space and rerun: "
        "finished chips are kept\n"
    )


def test_other_os_errors_are_still_bugs_with_their_traceback():
    with pytest.raises(OSError, match="I/O error"):
        run_reporting(fails_with(OSError(errno.EIO, "I/O error")))
