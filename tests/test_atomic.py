"""Atomic writes, and a full disk as one ``DiskFull`` naming the file, whichever writer hit it."""

from __future__ import annotations

import errno
import os
import pickle
from types import SimpleNamespace

import pytest

from geetiles.atomic import atomic_path, write_text, writing
from geetiles.errors import DiskFull, RunFailed, disk_full

LINE = "disk full while writing {}; free space and rerun: finished chips are kept"


def no_space(path="") -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), *([path] if path else []))


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT], ids=["ENOSPC", "EDQUOT"])
def test_a_full_disk_in_the_block_is_one_disk_full_naming_the_file_and_leaves_nothing(tmp_path, code):
    final = tmp_path / "sub" / "chip.tif"
    final.parent.mkdir()
    final.write_bytes(b"the previous, complete file")
    with pytest.raises(DiskFull) as raised, atomic_path(final) as tmp:
        tmp.write_bytes(b"half of it")
        raise OSError(code, os.strerror(code))
    assert str(raised.value) == LINE.format(final)
    assert isinstance(raised.value, RunFailed) and raised.value.exit_code == 1
    assert raised.value.__suppress_context__  # the user sees one line, not a chained traceback
    assert final.read_bytes() == b"the previous, complete file"
    assert leftovers(final.parent) == []


def test_write_text_on_a_full_disk(tmp_path, monkeypatch):
    def full(self, *args, **kwargs):
        raise no_space()

    monkeypatch.setattr("pathlib.Path.write_text", full)
    with pytest.raises(DiskFull, match=LINE.format(tmp_path / "record.yaml").replace(".", r"\.")):
        write_text(tmp_path / "record.yaml", "x: 1\n")
    assert list(tmp_path.iterdir()) == []


def test_other_errors_pass_unchanged(tmp_path):
    with pytest.raises(PermissionError), atomic_path(tmp_path / "a.txt"):
        raise PermissionError(errno.EACCES, "Permission denied")
    with pytest.raises(ValueError, match="a bug"), writing(tmp_path / "a.txt"):
        raise ValueError("a bug")
    assert list(tmp_path.iterdir()) == []


def test_a_writer_that_loses_the_errno_counts_only_when_the_disk_is_nearly_full(tmp_path, monkeypatch):
    """GDAL says "Write failed" (an OSError without errno): disk full only if little space is left."""
    from rasterio.errors import RasterioIOError

    def failing_write(path):
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"partial")
            raise RasterioIOError("Write failed. See previous exception for details.")

    with pytest.raises(RasterioIOError):  # plenty of space: GDAL's own error, for what it is
        failing_write(tmp_path / "a.tif")
    monkeypatch.setattr(os, "statvfs", lambda path: SimpleNamespace(f_bavail=3, f_frsize=4096))
    with pytest.raises(DiskFull, match="while writing .*a.tif;"):
        failing_write(tmp_path / "a.tif")
    assert list(tmp_path.iterdir()) == []


def test_disk_full_survives_pickling_with_its_path():
    """Process pools and Ray send exceptions by pickle."""
    again = pickle.loads(pickle.dumps(DiskFull("/data/x/chip.tif")))
    assert isinstance(again, DiskFull) and str(again) == LINE.format("/data/x/chip.tif")


def test_a_raw_write_outside_geetiles_is_named_after_the_open_file(tmp_path):
    """A library writing an open file (Hydra's run record, PIL) raises ENOSPC without a file name."""

    def library_writer(path):
        with open(path, "w") as file:
            file.write("x")
            raise no_space()

    with pytest.raises(OSError) as raised:
        library_writer(tmp_path / "config.yaml")
    assert str(disk_full(raised.value)) == LINE.format(tmp_path / "config.yaml")
    assert disk_full(no_space("/named/by/errno")).path == "/named/by/errno"
    assert disk_full(no_space()).path == "" and str(disk_full(no_space())).startswith("disk full while writing a file;")
    assert disk_full(OSError(errno.EIO, "I/O error")) is None and disk_full(ValueError("x")) is None


def test_a_disk_full_deeper_in_the_chain_is_found():
    try:
        try:
            raise no_space("/d/manifest.csv")
        except OSError as error:
            raise RuntimeError("while folding the journal") from error
    except RuntimeError as outer:
        assert disk_full(outer).path == "/d/manifest.csv"
