"""The exceptions that end a run with one line: bad input (exit status 2), failed work (exit status 1),
and the disk filling up (exit status 1), which every writer reports the same way."""

from __future__ import annotations

import errno
import os

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_DISK_FULL_WORDS = ("No space left on device", "Disk quota exceeded")
LOW_SPACE_BYTES = 1 << 20  # a write that fails without an errno (GDAL) with less free than this: the disk is full


class UserInputError(Exception):
    """Bad input from the user: the message names the problem and the fix, on one line.

    Entry points turn it into ``geetiles: error: <message>`` and exit status 2, without a traceback.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class RunFailed(Exception):
    """The run finished its work but some of it failed (chips listed in failures.csv): exit status 1.

    Everything that succeeded is on disk and recorded; rerunning resumes with what is missing.
    """

    exit_code = 1


class DiskFull(RunFailed):
    """The disk (or the user's quota) filled up while writing ``path``: one line, exit status 1.

    Raised where files are written (``geetiles.atomic``), so every stage says it the same way and
    leaves no temporary file behind; what finished is kept, so freeing space and rerunning resumes.
    ``args`` is the path alone, so the error survives pickling (process pools, Ray)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(str(path) if path is not None else "")
        self.path = str(path) if path is not None else ""

    def __str__(self) -> str:
        return f"disk full while writing {self.path or 'a file'}; free space and rerun: finished chips are kept"


def disk_full(
    error: BaseException, path: str | os.PathLike[str] | None = None, space_of: str | os.PathLike[str] | None = None
) -> DiskFull | None:
    """The DiskFull that ``error`` means, or None: a DiskFull itself, or ENOSPC/EDQUOT (or their words)
    anywhere in its chain, named after ``path`` (else the error's own file name). Writers that lose the
    errno (GDAL: "Write failed") count as disk full when the filesystem of ``space_of`` is nearly full."""
    chain, seen = [], set()
    item: BaseException | None = error
    while item is not None and id(item) not in seen and len(chain) < 8:
        seen.add(id(item))
        chain.append(item)
        item = item.__cause__ or item.__context__
    for item in chain:
        if isinstance(item, DiskFull):
            return item
    for item in chain:
        said = any(words in str(item) for words in _DISK_FULL_WORDS)
        if isinstance(item, OSError) and item.errno in DISK_FULL_ERRNOS or said:
            return DiskFull(path if path is not None else getattr(item, "filename", None) or _file_being_written(item))
    if space_of is not None and isinstance(error, OSError) and error.errno is None and _nearly_full(space_of):
        return DiskFull(path)
    return None


def _nearly_full(path: str | os.PathLike[str]) -> bool:
    try:
        stat = os.statvfs(path)
    except (OSError, AttributeError):  # gone, or not POSIX
        return False
    return stat.f_bavail * stat.f_frsize < LOW_SPACE_BYTES


def _file_being_written(error: BaseException) -> str | None:
    """The name of the file a writer outside geetiles (Hydra's run record, PIL, a library) was writing
    when ``error`` was raised: a write() on an open file carries no file name, but the frames that
    raised it hold the file object (innermost first)."""
    import io

    frames = []
    traceback = error.__traceback__
    while traceback is not None:
        frames.append(traceback.tb_frame)
        traceback = traceback.tb_next
    for frame in reversed(frames):
        for value in frame.f_locals.values():
            if (
                isinstance(value, io.IOBase)
                and isinstance(getattr(value, "name", None), str)
                and any(c in getattr(value, "mode", "") for c in "wax+")
            ):
                return value.name
    return None


def last_words(line: str) -> None:
    """Print the run's one error line on stderr as its last: file descriptor 2 goes to /dev/null first and
    the line to a copy of the real stderr, so nothing Ray's C++ threads print while the process ends (a
    worker that failed to register, a lost GCS) can come after it, not even in between."""
    import sys

    sys.stderr.flush()
    try:
        real = os.dup(2)
    except OSError:  # no descriptor 2: print as usual
        print(line, file=sys.stderr, flush=True)
        return
    quiet_stderr()
    try:
        os.write(real, f"{line}\n".encode("utf-8", "backslashreplace"))
    finally:
        os.close(real)


def quiet_stderr() -> None:
    """Point file descriptor 2 at /dev/null (C++ code writes there directly, past Python's sys.stderr)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:  # no /dev/null (a sandbox): the extra lines are only noise
        pass
