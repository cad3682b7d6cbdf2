"""Where a dataset's files are read from: its folder, or the ``{dest}.zip`` that ``export.zip=true`` packs.

Both answer the same two questions, so every check works on either: which regular files the dataset
holds (:class:`Listing`, relative POSIX paths), and a file's bytes. Nothing outside the dataset is ever
read: a symbolic link is listed as a problem and never followed (the folder is walked without following
links, and files are opened with ``O_NOFOLLOW``); a zip member whose name is absolute, holds ``..`` or a
backslash, lies outside the zip's one top folder or is a link is a problem and is never read."""

from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from geetiles.errors import UserInputError
from geetiles.verify.report import Problem, file, path_text


def safe_relative(path: object) -> bool:
    """Whether ``path`` is a relative POSIX path of plain parts: not absolute, no ``..``, ``.`` or empty
    part, no backslash or NUL (so it names something inside the dataset, whatever the platform)."""
    if not isinstance(path, str) or not path or "\\" in path or "\x00" in path:
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


@dataclass
class Listing:
    """The dataset's regular files (relative path → size in bytes) and what else was found there."""

    files: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def under(self, folder: str) -> list[str]:
        prefix = f"{folder}/"
        return [path for path in self.files if path.startswith(prefix)]


class FolderSource:
    """A dataset folder on disk."""

    def __init__(self, root: Path):
        self.root = root
        self.label = str(root)

    def holds(self, relative: str) -> bool:
        """Whether an entry of that path is there (a link counts: the listing reports it), without
        walking the folder."""
        return os.path.lexists(self.root / relative)

    def listing(self) -> Listing:
        listing = Listing()
        pending = [("", self.root)]
        while pending:
            prefix, folder = pending.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError as error:
                listing.problems.append(file(prefix.rstrip("/") or ".", f"cannot be listed ({error.strerror})"))
                continue
            for entry in entries:
                relative = f"{prefix}{entry.name}"
                try:
                    mode = entry.stat(follow_symlinks=False).st_mode
                except OSError as error:
                    listing.problems.append(file(relative, f"cannot be read ({error.strerror})"))
                    continue
                if stat.S_ISLNK(mode):
                    listing.problems.append(
                        file(
                            relative,
                            f"is a symbolic link (to {path_text(_target(entry))}), "
                            "not followed: a dataset holds its files itself",
                        )
                    )
                elif stat.S_ISDIR(mode):
                    pending.append((f"{relative}/", Path(entry.path)))
                elif stat.S_ISREG(mode):
                    listing.files[relative] = entry.stat(follow_symlinks=False).st_size
                else:
                    listing.problems.append(file(relative, "is not a regular file (a device, socket or pipe)"))
        return listing

    def open(self, relative: str) -> BinaryIO:
        """A listed file, open for reading; a symbolic link in its place (swapped in since the listing) is
        refused (``O_NOFOLLOW``), and a pipe there cannot block the open (``O_NONBLOCK``)."""
        if not safe_relative(relative):
            raise OSError(f"unsafe path {path_text(relative)}")
        flags = os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        descriptor = os.open(self.root / relative, flags)
        return open(descriptor, "rb")

    def read(self, relative: str) -> bytes:
        with self.open(relative) as handle:
            return handle.read()


def _target(entry: os.DirEntry) -> str:
    try:
        return os.readlink(entry.path)
    except OSError:
        return "?"


class ZipSource:
    """A dataset zip: one top folder (the dataset's name) holding the dataset's files. The archive is
    opened lazily, so the source can be sent to worker processes, each opening its own."""

    def __init__(self, path: Path):
        self.path = path
        self.label = str(path)
        self._archive: zipfile.ZipFile | None = None
        self._members: dict[str, zipfile.ZipInfo] = {}
        self.top = ""
        try:
            with zipfile.ZipFile(path) as archive:
                names = [info.filename for info in archive.infolist()]
        except (zipfile.BadZipFile, OSError) as error:
            raise UserInputError(
                f"{path} is not a readable zip ({error}); give a dataset folder or the zip export.zip=true wrote"
            ) from None
        tops = {name.split("/", 1)[0] for name in names if safe_relative(name.rstrip("/"))}
        if len(tops) != 1:
            raise UserInputError(
                f"{path} is not a dataset zip: it should hold one top folder (the dataset's), "
                f"it holds {len(tops)}; give the zip export.zip=true wrote, or its folder"
            )
        self.top = tops.pop()

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_archive": None, "_members": {}}

    def _open(self) -> zipfile.ZipFile:
        if self._archive is None:
            self._archive = zipfile.ZipFile(self.path)
            prefix = f"{self.top}/"
            self._members = {
                info.filename[len(prefix) :]: info
                for info in self._archive.infolist()
                if info.filename.startswith(prefix) and not info.is_dir()
            }
        return self._archive

    def holds(self, relative: str) -> bool:
        self._open()
        return relative in self._members

    def listing(self) -> Listing:
        listing = Listing()
        archive = self._open()
        prefix = f"{self.top}/"
        for info in archive.infolist():
            name = info.filename
            if not safe_relative(name.rstrip("/")) or not name.startswith(prefix):
                listing.problems.append(
                    file(name, "zip member with an unsafe name or outside the dataset's folder, not read")
                )
            elif stat.S_ISLNK(info.external_attr >> 16):
                listing.problems.append(file(name[len(prefix) :], "is a symbolic link in the zip, not followed"))
            elif info.is_dir():
                continue
            elif name[len(prefix) :] in listing.files:
                listing.problems.append(file(name[len(prefix) :], "is in the zip twice"))
            else:
                listing.files[name[len(prefix) :]] = info.file_size
        return listing

    def open(self, relative: str) -> BinaryIO:
        if not safe_relative(relative):
            raise OSError(f"unsafe path {path_text(relative)}")
        archive = self._open()
        info = self._members.get(relative)
        if info is None or stat.S_ISLNK(info.external_attr >> 16):
            raise FileNotFoundError(relative)
        return archive.open(info)

    def read(self, relative: str) -> bytes:
        with self.open(relative) as handle:
            return handle.read()


def open_source(path: str | os.PathLike[str]) -> FolderSource | ZipSource:
    """The dataset at ``path`` (a folder or a zip); bad input (nothing there, another kind of file) is
    one line (:class:`UserInputError`)."""
    given = Path(path).expanduser()
    if given.is_symlink():
        given = given.resolve()  # the dataset named by a link the user gave: links *inside* it are refused
    if given.is_dir():
        return FolderSource(given)
    if given.is_file():
        if zipfile.is_zipfile(given):
            return ZipSource(given)
        raise UserInputError(
            f"{given} is a file, not a dataset: give the folder the export wrote "
            "({tiles file}_dataset) or its zip (export.zip=true)"
        )
    raise UserInputError(
        f"{given} does not exist; give the dataset folder the export wrote ({{tiles file}}_dataset) or its zip"
    )
