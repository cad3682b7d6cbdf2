"""One writer at a time per tiles file: ``fcntl.flock`` on ``{stem}.lock`` beside it.

A stage loads a tiles file, computes, and writes it back; two processes doing so at once would each
write what they loaded plus their own column, and one column would be lost. The lock is held from the
first load to the last write (for a run, from its first column-adding stage to the GeoJSON write).
The second writer waits a little (a bound), then stops with one line. The lock file is empty and its
holder removes it on release; a writer that locked a file since removed (or replaced) tries again, so
two writers never hold two different lock files. A holder that dies leaves the file, unlocked (the
kernel drops the lock): harmless, the next writer takes it and removes it.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from geetiles.errors import UserInputError
from geetiles.layout import lock_path

LOCK_WAIT_S = 2.0  # how long a second writer waits before it stops


class TilesLock:
    """An exclusive lock on one tiles file (re-entrant within this object, not across objects)."""

    def __init__(self, tiles_path: str | os.PathLike[str], wait_s: float = LOCK_WAIT_S):
        self.tiles_path = Path(tiles_path)
        self.path = lock_path(self.tiles_path)
        self.wait_s = wait_s
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as error:
                raise UserInputError(
                    f"cannot create the lock file {self.path} ({error.strerror}); the tiles file's "
                    "folder must be writable to update it"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if time.monotonic() >= deadline:
                    raise UserInputError(
                        f"another geetiles process is updating {self.tiles_path.name} (it holds {self.path.name}); "
                        "wait for it to finish, then run this again"
                    ) from None
                time.sleep(0.05)
                continue
            if _same_file(fd, self.path):
                self._fd = fd
                return
            os.close(fd)  # the holder we waited for removed it: lock the one there now

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            self.path.unlink(missing_ok=True)  # while still held: a waiter then sees it is gone and retries
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> TilesLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False
