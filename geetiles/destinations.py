"""Folders and zips that geetiles replaces wholesale (the export's dataset and its zip, the report,
the legacy zip and its folder): only ones geetiles made, built aside and swapped in.

Ownership. A folder geetiles makes holds ``.geetiles-made`` (``{"made_by": "geetiles", "kind": ...}``);
a zip carries ``made by geetiles: {kind}`` as its zip comment. A destination is used when it does
not exist, is an empty folder, or carries the marker of the same kind. Folders and zips written
before markers existed are recognised by their exact layout (:func:`made_before_markers`): nothing
in them that geetiles would not have written. Anything else (a user's folder, a file, a symbolic
link, a report where a dataset goes) is refused with one line before anything is written, so
nothing is deleted.

Building. The new folder is built as ``.{name}.building-{pid}-{start}`` beside the destination and
swapped in at the end (the previous one renamed ``.{name}.old-{pid}-{start}``, then removed), so a
failed run leaves the previous folder untouched. ``{pid}-{start}`` names the building process for
good (pid and start time, so a reused pid is not mistaken for it). A run killed with ``kill -9``
leaves such folders behind; the next run building the same destination removes every one whose
process is gone, never one of a live process.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from geetiles.errors import UserInputError
from geetiles.process_pool import process_alive, process_started

log = logging.getLogger(__name__)

MARKER = ".geetiles-made"
DATASET, REPORT, LEGACY_ZIP = "dataset", "report", "legacy_zip"
KIND_NAMES = {DATASET: "dataset folder", REPORT: "report folder", LEGACY_ZIP: "legacy zip folder"}
_HEAD_BYTES = 4096


def marker_text(kind: str) -> str:
    """The marker's content: the same for every run, so the dataset's checksums stay reproducible."""
    return json.dumps({"made_by": "geetiles", "kind": kind}) + "\n"


def zip_comment(kind: str) -> bytes:
    return f"made by geetiles: {kind}".encode("ascii")


def marker_kind(folder: Path) -> str | None:
    """The kind named by ``folder``'s marker, or None without a readable geetiles marker."""
    try:
        with open(folder / MARKER, "rb") as file:
            data = json.loads(file.read(_HEAD_BYTES))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get("made_by") == "geetiles" and isinstance(data.get("kind"), str):
        return data["kind"]
    return None


# --- may this be replaced? ------------------------------------------------------------------------


def output_folder(chosen: str | None, default: Path, tiles_path: Path, chips_root: Path, setting: str) -> Path:
    """``chosen`` (a user's ``export.dest``/``report.dest``) or ``default``, resolved; refused when it is the
    chip folders, inside them, holds them, or is the tiles file's own folder (replacing it would delete chips)."""
    dest = Path(chosen).expanduser().resolve() if chosen else default.resolve()
    chips_root = chips_root.resolve()
    holds_chips = dest in chips_root.parents or dest == tiles_path.parent.resolve()
    if dest == chips_root or chips_root in dest.parents or holds_chips:
        raise UserInputError(
            f"{setting}={str(dest)!r} would overwrite the downloaded chips in {chips_root} (or hold "
            f"them); give a folder of its own, e.g. the default {{tiles file}}_{default.name.rsplit('_', 1)[-1]}"
        )
    return dest


def check_folder(dest: Path, kind: str, setting: str | None = None) -> None:
    """Refuse (UserInputError, one line) unless ``dest`` is absent, an empty folder or a folder
    geetiles made of this kind. ``setting`` names the option that chooses the place, for the fix."""
    problem = _folder_problem(Path(dest), kind)
    if problem:
        raise UserInputError(_refusal(dest, problem, setting))


def check_zip(path: Path, kind: str, folder_name: str, setting: str | None = None) -> None:
    """Refuse unless ``path`` is absent or a zip geetiles made of this kind (its members under
    ``folder_name/``)."""
    problem = _zip_problem(Path(path), kind, folder_name)
    if problem:
        raise UserInputError(_refusal(path, problem, setting))


def _refusal(path: Path, problem: str, setting: str | None) -> str:
    fix = f"choose another {setting}, or move or remove it yourself" if setting else "move or remove it yourself"
    return f"{path} {problem}, so geetiles will not replace it; nothing was written or deleted: {fix}"


def _folder_problem(dest: Path, kind: str) -> str | None:
    if dest.is_symlink():
        return "is a symbolic link"
    if not dest.exists():
        return None
    if not dest.is_dir():
        return "exists and is not a folder"
    marked = marker_kind(dest)
    if marked == kind:
        return None
    if marked is not None:
        return f"is a geetiles {KIND_NAMES.get(marked, marked)}, not a {KIND_NAMES[kind]}"
    try:
        if not _entries(dest) or made_before_markers(dest, kind):
            return None
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    return f"exists and geetiles did not make it (no {MARKER} file in it)"


def _zip_problem(path: Path, kind: str, folder_name: str) -> str | None:
    if path.is_symlink():
        return "is a symbolic link"
    if not path.exists():
        return None
    if not path.is_file():
        return "exists and is not a file"
    try:
        with zipfile.ZipFile(path) as archive:
            comment, members = archive.comment, archive.namelist()
    except (OSError, zipfile.BadZipFile, ValueError):
        return "exists and is not a zip geetiles made"
    if comment == zip_comment(kind):
        return None
    if comment.startswith(b"made by geetiles: "):
        return f"is a geetiles {comment.decode('ascii', 'replace').rsplit(' ', 1)[-1]} zip, not a {kind} zip"
    if zip_made_before_markers(members, kind, folder_name):
        return None
    return "exists and geetiles did not make it (its zip comment does not say so)"


# --- made before markers existed ------------------------------------------------------------------


def made_before_markers(folder: Path, kind: str) -> bool:
    """Whether ``folder`` (without marker) holds exactly what geetiles wrote before markers existed:

    * a dataset: ``MANIFEST.sha256`` (sha256sum's lines), ``config.yaml`` and ``README.md``, and no
      file the manifest does not list;
    * a report: ``index.html`` titled ``geetiles report`` and PNG files, nothing else;
    * a legacy zip's folder (0.1.7's too): ``data/`` of ``.pkl`` files, ``.geojson`` files (one at
      least), ``splits.csv`` and ``README.txt``, nothing else.

    A symbolic link anywhere, or a file the layout does not explain, means it is someone else's."""
    if kind == DATASET:
        return _old_dataset(folder)
    if kind == REPORT:
        return _old_report(folder)
    if kind == LEGACY_ZIP:
        return _old_legacy_folder(folder)
    return False


def _old_dataset(folder: Path) -> bool:
    if not all(
        (folder / name).is_file() and not (folder / name).is_symlink()
        for name in ("MANIFEST.sha256", "config.yaml", "README.md")
    ):
        return False
    listed = set()
    with open(folder / "MANIFEST.sha256", encoding="utf-8", errors="replace") as file:
        for line in file:
            match = re.fullmatch(r"[0-9a-f]{64}  (.+)", line.rstrip("\n"))
            if match is None:
                return False
            listed.add(match[1])
    for root, directories, files in os.walk(folder):
        for name in directories + files:
            path = Path(root, name)
            if path.is_symlink():
                return False
            if name in files and path.relative_to(folder).as_posix() not in listed | {"MANIFEST.sha256"}:
                return False
    return True


def _old_report(folder: Path) -> bool:
    index = folder / "index.html"
    if index.is_symlink() or not index.is_file():
        return False
    with open(index, "rb") as file:
        if b"<title>geetiles report" not in file.read(_HEAD_BYTES):
            return False
    return all(
        entry.is_file(follow_symlinks=False) and (entry.name == "index.html" or entry.name.endswith(".png"))
        for entry in _entries(folder)
    )


def _entries(folder: Path) -> list[os.DirEntry]:
    with os.scandir(folder) as entries:
        return list(entries)


def _legacy_metadata(name: str) -> bool:
    return name.endswith(".geojson") or name in ("splits.csv", "README.txt")


def _old_legacy_folder(folder: Path) -> bool:
    geojson = False
    for entry in _entries(folder):
        if entry.name == "data" and entry.is_dir(follow_symlinks=False):
            pickles = _entries(Path(entry.path))
            if not all(item.is_file(follow_symlinks=False) and item.name.endswith(".pkl") for item in pickles):
                return False
        elif entry.is_file(follow_symlinks=False) and _legacy_metadata(entry.name):
            geojson |= entry.name.endswith(".geojson")
        else:
            return False
    return geojson


def zip_made_before_markers(members: list[str], kind: str, folder_name: str) -> bool:
    """Whether a zip without our comment holds what geetiles wrote before comments existed: every
    member under ``folder_name/``, and for a dataset its ``MANIFEST.sha256``; for a legacy zip (0.1.7's
    too) ``data/*.pkl`` and the metadata files, one ``.geojson`` at least."""
    prefix = f"{folder_name}/"
    if not members or not all(m.startswith(prefix) and ".." not in m.split("/") for m in members):
        return False
    inside = [m[len(prefix) :] for m in members]
    if kind == DATASET:
        return "MANIFEST.sha256" in inside
    if kind == LEGACY_ZIP:
        pickle = re.compile(r"data/[^/]+\.pkl")
        return any(m.endswith(".geojson") and "/" not in m for m in inside) and all(
            pickle.fullmatch(m) or ("/" not in m and _legacy_metadata(m)) for m in inside
        )
    return False


# --- building aside, swapping in, cleaning up after killed runs ------------------------------------


@contextmanager
def building(dest: Path, kind: str, setting: str | None = None) -> Iterator[Path]:
    """A fresh folder (already marked) to build ``dest`` in; it replaces ``dest`` only if the block
    succeeds, and only if ``dest`` may be replaced (checked before and again at the swap)."""
    dest = Path(dest)
    check_folder(dest, kind, setting)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(dest)
    tag = _process_tag()
    work = dest.with_name(f".{dest.name}.building-{tag}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        (work / MARKER).write_text(marker_text(kind), encoding="utf-8")
        yield work
        check_folder(dest, kind, setting)  # something may have appeared there meanwhile
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    old = dest.with_name(f".{dest.name}.old-{tag}")
    if dest.exists():
        os.replace(dest, old)
    os.replace(work, dest)
    shutil.rmtree(old, ignore_errors=True)


def _process_tag() -> str:
    started = process_started(os.getpid())
    return f"{os.getpid()}" if started is None else f"{os.getpid()}-{started}"


def remove_stale(dest: Path) -> list[Path]:
    """Remove the building and old folders of folder ``dest`` (``.{name}.building-{pid}[-{start}]``,
    ``.{name}.old-…``) whose process is gone; return them. A process that still runs keeps its own."""
    pattern = re.compile(rf"\.{re.escape(dest.name)}\.(?:building|old)-(\d+)(?:-(\d+))?")
    return _remove_orphans(Path(dest).parent, pattern, folders=True)


def remove_stale_temporary(path: Path) -> list[Path]:
    """Remove the temporary files ``geetiles.atomic`` writes ``path`` through
    (``.{stem}.tmp{pid}{suffix}``) whose process is gone; return them."""
    path = Path(path)
    pattern = re.compile(rf"\.{re.escape(path.stem)}\.tmp(\d+)(){re.escape(path.suffix)}")
    return _remove_orphans(path.parent, pattern, folders=False)


def _remove_orphans(parent: Path, pattern: re.Pattern, folders: bool) -> list[Path]:
    """Entries of ``parent`` named by ``pattern`` (group 1 the pid, group 2 its start time or empty)
    whose process is gone: folders or regular files, never a symbolic link."""
    removed: list[Path] = []
    try:
        entries = _entries(parent)
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None or not (entry.is_dir if folders else entry.is_file)(follow_symlinks=False):
            continue
        if process_alive(int(match[1]), int(match[2]) if match[2] else None):
            continue
        if folders:
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            Path(entry.path).unlink(missing_ok=True)
        log.info("removed %s, left by process %s, which is gone", entry.path, match[1])
        removed.append(Path(entry.path))
    return removed
