"""A folder a run writes in, proved usable before any stage starts: created if missing, then a file
made and removed in it. Permission bits are not consulted (``os.access`` answers yes to root for a
read-only folder, and knows nothing of read-only mounts): the write itself is the test."""

from __future__ import annotations

import errno
import tempfile
from pathlib import Path

from geetiles.errors import UserInputError


def ensure_writable_folder(path: Path, setting: str) -> list[Path]:
    """Create ``path`` (and its parents) if missing and check a file can be written in it; otherwise
    UserInputError naming ``setting=path``, why, and the fix. Returns the folders it created, deepest
    first, for :func:`remove_if_empty` when the run stops before writing anything."""
    created = [folder for folder in (path, *path.parents) if not folder.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".geetiles-write-check-"):
            pass
    except OSError as error:
        remove_if_empty(created)
        raise UserInputError(
            f"{setting}={path} {_why(path, error)}; set {setting} to a folder you can write in, "
            f"e.g. {setting}=~/geetiles-data"
        ) from None
    return created


def remove_if_empty(folders: list[Path]) -> None:
    """Remove each of ``folders`` (deepest first) that is still empty: a stopped run leaves nothing behind."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty (the run wrote there), already gone, or not ours to remove
            return


def _why(path: Path, error: OSError) -> str:
    if error.errno == errno.EEXIST or (path.exists() and not path.is_dir()):
        return "is a file, not a folder"
    if error.errno == errno.ENOTDIR:
        blocking = next((parent for parent in path.parents if parent.exists() and not parent.is_dir()), None)
        return f"cannot be created: {blocking} is a file" if blocking else "cannot be created: part of it is a file"
    reason = error.strerror or type(error).__name__
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"is not writable ({reason})"
    return f"cannot be created or written ({reason})"
