"""The dataset folder (built beside its destination and swapped in at the end by
``geetiles.destinations.building``, so a rerun never leaves a mix of old and new chips and a failed
export leaves the previous dataset untouched): every file gets its SHA-256 in ``MANIFEST.sha256``
and, on request, the folder is zipped with its members STORED, so GDAL can read each chip in place
(``/vsizip/``). The zip's comment marks it as geetiles's, so a rerun may replace it."""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from pathlib import Path

MANIFEST = "MANIFEST.sha256"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(root: Path, known: dict[str, str] | None = None, ready: dict[str, list[str]] | None = None) -> Path:
    """``MANIFEST.sha256`` (sha256sum's format) of every file under ``root``; ``known`` gives the
    digests already computed while writing (relative path → hex); ``ready`` the lines of top-level
    folders listed before (:func:`folder_lines`, their files unchanged since), put in their place."""
    from geetiles.atomic import write_text

    ready = ready or {}
    lines: list[str] = []
    for relative in _files(root, skip=frozenset(ready)):
        if relative.endswith("/"):
            lines.extend(ready[relative[:-1]])
        else:
            lines.append(_line(root, relative, known or {}))
    target = root / MANIFEST
    write_text(target, "\n".join(lines) + "\n")
    return target


def folder_lines(root: Path, folder: str, known: dict[str, str] | None = None) -> list[str]:
    """The manifest lines of the files under the top-level ``folder`` of ``root``, in the manifest's
    order: the chip folders are listed while the STAC items are written (see the export stage)."""
    return [_line(root, relative, known or {}) for relative in _files(root / folder, f"{folder}/")]


def _line(root: Path, relative: str, known: dict[str, str]) -> str:
    return f"{known.get(relative) or sha256_file(root / relative)}  {relative}"


def _files(root: Path, prefix: str = "", skip: frozenset[str] = frozenset()) -> list[str]:
    """Every file under ``root`` but the manifests, as relative POSIX paths (after ``prefix``), in the
    order of their ``Path`` (part by part): each folder's entries sorted by name, a subfolder's files in
    its place, which is that order and sorts plain strings (a key of parts per path cost seconds for
    millions of chips). A top-level folder in ``skip`` is one entry, its name and a slash. ``os.scandir``
    knows a file from its directory entry (``rglob`` and ``is_file`` cost a ``stat`` and several path
    objects each, minutes for millions of chips), and only names are kept and sorted, not a tuple per
    entry."""
    found: list[str] = []

    def walk(folder: str, prefix: str, top: bool) -> None:
        names, folders = [], set()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir():
                    folders.add(entry.name)
                    names.append(entry.name)
                elif entry.is_file() and entry.name != MANIFEST:
                    names.append(entry.name)
        names.sort()
        for name in names:
            if name in folders and top and name in skip:
                found.append(f"{prefix}{name}/")
            elif name in folders:
                walk(os.path.join(folder, name), f"{prefix}{name}/", False)
            else:
                found.append(prefix + name)

    walk(os.fspath(root), prefix, True)
    return found


def zip_folder(root: Path, zip_path: Path) -> Path:
    """``root`` as a zip of STORED members under ``{root name}/``, atomically, in a fixed order and
    with fixed dates, so the same folder gives the same bytes."""
    from geetiles.atomic import atomic_path
    from geetiles.destinations import DATASET, remove_stale_temporary, zip_comment

    remove_stale_temporary(zip_path)
    with atomic_path(zip_path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            archive.comment = zip_comment(DATASET)
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                info = zipfile.ZipInfo(
                    f"{root.name}/{path.relative_to(root).as_posix()}", date_time=(1980, 1, 1, 0, 0, 0)
                )
                info.external_attr = 0o644 << 16
                large = path.stat().st_size >= 2**31
                with open(path, "rb") as source, archive.open(info, "w", force_zip64=large) as target:
                    shutil.copyfileobj(source, target, 1 << 20)
    return zip_path
