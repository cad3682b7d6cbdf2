"""Hydra's log file on a full disk: the run's one line is all the user sees, not a traceback per record."""

from __future__ import annotations

import errno
import logging
import os

import pytest

from geetiles.cli.app import _quiet_full_disk_in_log_files


class _Stream:
    def __init__(self, error: OSError) -> None:
        self.error = error

    def write(self, text: str) -> None:
        raise self.error

    def flush(self) -> None:
        raise self.error


@pytest.fixture
def log_file(tmp_path):
    handler = logging.FileHandler(tmp_path / "geetiles.log", delay=True)
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


@pytest.mark.parametrize(
    ("error", "reported"),
    [(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), False), (OSError(errno.EIO, os.strerror(errno.EIO)), True)],
    ids=["disk full: silent", "another error: reported as logging does"],
)
def test_a_full_disk_under_the_log_file_prints_no_logging_error(log_file, capsys, error, reported):
    _quiet_full_disk_in_log_files()
    log_file.stream = _Stream(error)
    logging.getLogger("geetiles.test").warning("a record the log file cannot take")
    assert ("--- Logging error ---" in capsys.readouterr().err) is reported
