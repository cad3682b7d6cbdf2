"""A folder a run writes in is proved writable before any work: created if missing, refused in one
line (naming the setting, the reason and the fix) when it cannot be written."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import pytest

from geetiles.errors import UserInputError
from geetiles.writable import ensure_writable_folder, remove_if_empty


def test_a_missing_folder_is_created_and_nothing_is_left_in_it(tmp_path):
    folder = tmp_path / "a" / "b" / "c"
    ensure_writable_folder(folder, "data_dir")
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_a_file_in_the_way_is_named(tmp_path):
    (tmp_path / "plain").write_text("x")
    with pytest.raises(
        UserInputError, match=rf"^data_dir={tmp_path}/plain/sub cannot be created: {tmp_path}/plain is a file;"
    ):
        ensure_writable_folder(tmp_path / "plain" / "sub", "data_dir")
    with pytest.raises(UserInputError, match=rf"^data_dir={tmp_path}/plain is a file, not a folder;"):
        ensure_writable_folder(tmp_path / "plain", "data_dir")
    assert (tmp_path / "plain").read_text() == "x"


def test_a_folder_under_proc_is_refused_even_for_root():
    with pytest.raises(
        UserInputError, match=r"^data_dir=/proc/geetiles-test cannot be created or written .*; set data_dir"
    ):
        ensure_writable_folder(Path("/proc/geetiles-test"), "data_dir")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a chmod 0555 folder (the /proc case covers root)")
def test_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(UserInputError, match=r"is not writable \(Permission denied\)"):
            ensure_writable_folder(folder, "data_dir")
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize(
    "code, words",
    [
        (errno.EACCES, "is not writable"),
        (errno.EROFS, "is not writable"),
        (errno.ENOSPC, "cannot be created or written"),
    ],
)
def test_a_failed_write_is_worded_by_its_cause(tmp_path, monkeypatch, code, words):
    """The wording, whatever the user running the tests may write (a refused write simulated)."""

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    with pytest.raises(UserInputError) as error:
        ensure_writable_folder(tmp_path, "data_dir")
    assert str(error.value) == (
        f"data_dir={tmp_path} {words} ({os.strerror(code)}); "
        "set data_dir to a folder you can write in, e.g. data_dir=~/geetiles-data"
    )


def test_the_folders_made_are_returned_and_removed_only_while_empty(tmp_path):
    folder = tmp_path / "a" / "b"
    assert ensure_writable_folder(folder, "data_dir") == [folder, tmp_path / "a"]
    assert ensure_writable_folder(folder, "data_dir") == []  # already there: nothing made
    (folder / "kept.txt").write_text("x")
    remove_if_empty([folder, tmp_path / "a"])
    assert (folder / "kept.txt").exists()
    (folder / "kept.txt").unlink()
    remove_if_empty([folder, tmp_path / "a"])
    assert list(tmp_path.iterdir()) == []
