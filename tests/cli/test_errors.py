"""The one error policy of both entry points, for a full disk: one line, exit status 1, no traceback."""

from __future__ import annotations

import errno
import os

import pytest

from geetiles.cli.errors import run_reporting
from geetiles.errors import DiskFull


def fails_with(error: BaseException):
    def call():
        raise error
    return call


@pytest.mark.parametrize("error", [DiskFull("/data/t/demo/chip.tif"),
                                   OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/data/t/demo/chip.tif")],
                         ids=["DiskFull", "a raw ENOSPC from any writer"])
def test_a_full_disk_is_one_line_and_exit_status_1(error, capsys):
    with pytest.raises(SystemExit) as exited:
        run_reporting(fails_with(error))
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err == ("geetiles: error: disk full while writing /data/t/demo/chip.tif; free space and rerun: "
                   "finished chips are kept\n")


def test_other_os_errors_are_still_bugs_with_their_traceback():
    with pytest.raises(OSError, match="I/O error"):
        run_reporting(fails_with(OSError(errno.EIO, "I/O error")))
