"""Reading many chips of one folder by name: the stages that read every chip (the proportions, the
export) read a million files each.

Two costs dominate such a read, and both are avoided here. Opening ``folder/name`` walks the whole
path again for every file; opening ``name`` relative to an open descriptor of the folder does not.
And reading into a fresh buffer sized for the largest chip is an ``mmap`` and a ``munmap`` per file,
which in a process with threads interrupts every core to flush its TLB; a buffer reused for every
file is not. ``bench/pipeline.py`` measures both stages at a million chips.
"""

from __future__ import annotations

import os

from geetiles.tiff.reader import ChipRaster, UnreadableChip, chip_of

BUFFER = 1 << 20  # a chip up to this size is read in one call; a larger one in more


class FolderReader:
    """The chip files of one folder, read by name; a context manager (it holds a descriptor)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = os.fspath(folder)
        self.prefix = os.path.join(self.folder, "")  # the folder and one separator: a chip's path is prefix + name
        self.error: OSError | None = None  # a folder that cannot be opened: each chip read raises it
        try:
            self.descriptor = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as error:
            self.descriptor, self.error = -1, error
        self.buffer = bytearray(BUFFER)
        self.view = memoryview(self.buffer)

    def __enter__(self) -> FolderReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.descriptor >= 0:
            os.close(self.descriptor)
            self.descriptor = -1

    def path(self, name: str) -> str:
        return self.prefix + name  # os.path.join's result for a plain name, built once per folder

    def read_bytes(self, name: str) -> bytes:
        """The bytes of the file ``name`` (a plain name, no separator); ``OSError`` as ``open`` raises it."""
        if self.error is not None:
            raise type(self.error)(self.error.errno, self.error.strerror, self.path(name))
        file = os.open(name, os.O_RDONLY, dir_fd=self.descriptor)
        try:
            size = os.readv(file, [self.buffer])
            if size < BUFFER:  # a regular file reads short only at its end
                return bytes(self.view[:size])
            parts = [bytes(self.buffer)]
            while size := os.readv(file, [self.buffer]):
                parts.append(bytes(self.view[:size]))
            return b"".join(parts)
        finally:
            os.close(file)

    def read_chip(self, name: str, all_bands: bool = False) -> ChipRaster:
        """As ``reader.read_chip`` on ``folder/name``: its first band (or every band) and its grid, or
        ``UnreadableChip`` saying why not."""
        try:
            data = self.read_bytes(name)
        except FileNotFoundError:
            raise UnreadableChip("missing") from None
        except OSError as error:
            raise UnreadableChip(f"unreadable ({' '.join(str(error).split())})") from None
        return chip_of(data, self.path(name), all_bands)
