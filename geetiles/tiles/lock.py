"""One writer at a time per tiles file: ``fcntl.flock`` on ``{stem}.lock`` beside it.

A stage loads a tiles file, computes, and writes it back; two processes doing so at once would each
write what they loaded plus their own column, and one column would be lost. The lock is held from the
first load to the last write (for a run, from its first column-adding stage to the GeoJSON write).
The second writer waits a little (a bound), then stops with one line. The lock file is empty and is
left in place: removing it would let a third writer lock a new file while the second holds the old
one; an unlocked lock file is harmless, and the kernel drops the lock when its holder dies.
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
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as error:
            raise UserInputError(f"cannot create the lock file {self.path} ({error.strerror}); the tiles file's "
                                 "folder must be writable to update it") from None
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise UserInputError(
                        f"another geetiles process is updating {self.tiles_path.name} (it holds {self.path.name}); "
                        "wait for it to finish, then run this again") from None
                time.sleep(0.05)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> "TilesLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
