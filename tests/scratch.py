"""Where the tests' temporary files go: a RAM disk (``/dev/shm``) when there is a roomy one.

The suite writes tens of thousands of small files (chips, manifests, COGs, records). On this machine's
ext4 disk, creating and writing a small file costs 33-38 µs of CPU when the disk is quiet and 470-490 µs
after mass deletions, against 17 µs on tmpfs (``bench/files.py``); the fast set measured 57.5 and 57.6 s
on the disk against 53.9 and 55.3 s on ``/dev/shm``, run alternately (``bench/suite.py --fast``). So, before any
temporary folder is made, ``TMPDIR`` points at ``/dev/shm`` for the session and every process it starts
(pytest's ``tmp_path``, Ray's session folders, the commands the tests run), unless:

- ``TMPDIR`` is already set, or ``--basetemp`` is given: the caller chose;
- ``GEETILES_TESTS_ON_DISK`` is set (to compare, or where RAM is short);
- ``/dev/shm`` is not a tmpfs, is not writable, or has less than ``MIN_FREE`` free, or the machine has
  less than ``MIN_AVAILABLE`` of memory available (a container's 64 MB ``/dev/shm`` stays unused).

pytest keeps the last three runs' folders there, as on disk (about 1 GB after three whole-suite runs).
Ray's session folders of the session's Ray (``ray_session``) follow ``TMPDIR`` and, as under ``/tmp``
before, Ray leaves them behind: about 0.5 MB each, two a whole-suite run, gone at the next restart.
Local Ray heads keep their own folders in ``/tmp`` (``geetiles/download/ray_cluster.py``: short socket
paths), whatever ``TMPDIR`` says.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest

RAM_DISK = Path("/dev/shm")
MIN_FREE = 4 << 30  # bytes free on the RAM disk
MIN_AVAILABLE = 8 << 30  # bytes of memory the kernel says are available


def ram_disk(
    environ: Mapping[str, str],
    basetemp: str | None,
    mounts: str,
    free_bytes: int,
    available_bytes: int,
    writable: bool,
) -> Path | None:
    """The folder to use as ``TMPDIR``, or None to leave the default. ``mounts`` is /proc/mounts' text."""
    if environ.get("TMPDIR") or basetemp or environ.get("GEETILES_TESTS_ON_DISK"):
        return None
    tmpfs = any(
        fields[1] == str(RAM_DISK) and fields[2] == "tmpfs"
        for fields in (line.split() for line in mounts.splitlines())
        if len(fields) >= 3
    )
    if not tmpfs or not writable or free_bytes < MIN_FREE or available_bytes < MIN_AVAILABLE:
        return None
    return RAM_DISK


def _available_bytes() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _mounts() -> str:
    try:
        return Path("/proc/mounts").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _free_bytes(folder: Path) -> int:
    try:
        stats = os.statvfs(folder)
    except OSError:
        return 0
    return stats.f_bavail * stats.f_frsize


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Before pytest (or xdist's workers, which inherit it) makes any temporary folder."""
    chosen = ram_disk(
        os.environ,
        config.option.basetemp,
        _mounts(),
        _free_bytes(RAM_DISK),
        _available_bytes(),
        os.access(RAM_DISK, os.W_OK | os.X_OK),
    )
    if chosen is not None:
        os.environ["TMPDIR"] = str(chosen)
        tempfile.tempdir = None  # read TMPDIR again at the next use
