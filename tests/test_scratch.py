"""Where the tests' temporary files go (``tests/scratch.py``): the RAM disk only when it is one, roomy,
writable and nobody chose another place; and this session follows the choice."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.scratch import MIN_AVAILABLE, MIN_FREE, RAM_DISK, ram_disk

TMPFS = "sysfs /sys sysfs rw 0 0\ntmpfs /dev/shm tmpfs rw,nosuid,nodev 0 0\n/dev/vda / ext4 rw 0 0\n"
ROOMY = dict(free_bytes=MIN_FREE, available_bytes=MIN_AVAILABLE, writable=True)


def test_a_roomy_writable_tmpfs_is_chosen():
    assert ram_disk({}, None, TMPFS, **ROOMY) == RAM_DISK


@pytest.mark.parametrize(
    "environ, basetemp",
    [({"TMPDIR": "/scratch"}, None), ({}, "/somewhere/else"), ({"GEETILES_TESTS_ON_DISK": "1"}, None)],
    ids=["TMPDIR", "basetemp", "on-disk"],
)
def test_a_callers_choice_is_kept(environ, basetemp):
    assert ram_disk(environ, basetemp, TMPFS, **ROOMY) is None


@pytest.mark.parametrize(
    "mounts, changes",
    [
        ("/dev/vda / ext4 rw 0 0\n/dev/vdb /dev/shm ext4 rw 0 0\n", {}),  # /dev/shm on a disk
        ("tmpfs /dev/shm2 tmpfs rw 0 0\ntmpfs /run tmpfs rw 0 0\n", {}),  # other tmpfs mounts only
        ("", {}),  # /proc/mounts unreadable
        (TMPFS, {"free_bytes": 64 << 20}),  # a container's 64 MB /dev/shm
        (TMPFS, {"free_bytes": MIN_FREE - 1}),
        (TMPFS, {"available_bytes": MIN_AVAILABLE - 1}),  # little memory left
        (TMPFS, {"writable": False}),
        ("tmpfs /dev/shm", {}),  # a truncated line
    ],
    ids=["disk", "elsewhere", "no-mounts", "64MB", "just-short", "low-memory", "read-only", "truncated"],
)
def test_no_ram_disk_unless_it_is_one_with_room(mounts, changes):
    assert ram_disk({}, None, mounts, **{**ROOMY, **changes}) is None


def test_this_sessions_temporary_files_follow_tmpdir(tmp_path: Path):
    tmpdir = os.environ.get("TMPDIR")
    root = Path(tmpdir or "/tmp").resolve()
    assert Path(tempfile.gettempdir()).resolve() == root
    assert tmp_path.resolve().is_relative_to(root)
