"""Atomic file writes: a reader never sees a half-written file, a crash never leaves one behind, and a
full disk is reported as one ``DiskFull`` naming the file, whichever stage was writing."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from geetiles.errors import disk_full


@contextlib.contextmanager
def writing(path: str | os.PathLike[str], space_of: str | os.PathLike[str] | None = None) -> Iterator[None]:
    """Turn a full disk (ENOSPC, EDQUOT) raised in the block into ``DiskFull(path)``; other errors pass.

    The one place where a full disk becomes the one-line error users see: atomic_path uses it, and so
    do the few writers that append instead of renaming (the download's journal)."""
    try:
        yield
    except Exception as error:
        full = disk_full(error, path, space_of)
        if full is None or full is error:
            raise
        raise full from None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary name keeps the final suffix so that writers which pick a format from the
    extension (GDAL drivers) behave as they would on the real name. The temporary file is removed
    whatever happens; a full disk raises ``DiskFull`` (see ``writing``).
    """
    final = Path(path)
    tmp = final.with_name(f".{final.stem}.tmp{os.getpid()}{final.suffix}")
    try:
        with writing(final, space_of=final.parent):
            final.parent.mkdir(parents=True, exist_ok=True)
            yield tmp
            os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
