"""Which folders and zips geetiles may replace (only ones it made: marker, zip comment, or the layout
it wrote before markers), building aside and swapping in, and the removal of what killed runs left."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from geetiles.destinations import (
    DATASET,
    LEGACY_ZIP,
    MARKER,
    REPORT,
    building,
    check_folder,
    check_zip,
    marker_text,
    remove_stale,
    remove_stale_temporary,
    zip_comment,
)
from geetiles.errors import UserInputError
from geetiles.process_pool import process_started


def listing(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def users_folder(path: Path) -> Path:
    (path / "photos").mkdir(parents=True)
    (path / "thesis.tex").write_text("years of work")
    (path / "photos" / "cat.jpg").write_bytes(b"\xff\xd8 a cat")
    return path


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def refusal(call) -> str:
    with pytest.raises(UserInputError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [DATASET, REPORT, LEGACY_ZIP])
def test_a_users_folder_is_refused_and_kept_whole(tmp_path, kind):
    dest = users_folder(tmp_path / "mine")
    before = listing(dest)
    message = refusal(lambda: check_folder(dest, kind, "export.dest"))
    assert str(dest) in message and "did not make it" in message and "choose another export.dest" in message
    assert "nothing was written or deleted" in message
    with pytest.raises(UserInputError):
        with building(dest, kind, "export.dest"):
            pytest.fail("the block must not run")
    assert listing(dest) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no building folder either


def test_a_file_a_symlink_and_another_kind_are_refused(tmp_path):
    afile = tmp_path / "notes.txt"
    afile.write_text("mine")
    assert "is not a folder" in refusal(lambda: check_folder(afile, DATASET))
    target = users_folder(tmp_path / "target")
    link = tmp_path / "link"
    link.symlink_to(target)
    assert "symbolic link" in refusal(lambda: check_folder(link, DATASET))
    report = tmp_path / "report"
    report.mkdir()
    (report / MARKER).write_text(marker_text(REPORT))
    assert "is a geetiles report folder, not a dataset folder" in refusal(lambda: check_folder(report, DATASET))
    forged = tmp_path / "forged"
    forged.mkdir()
    (forged / MARKER).write_text("not json")
    (forged / "x").write_text("x")
    assert "did not make it" in refusal(lambda: check_folder(forged, DATASET))


def test_an_unreadable_folder_is_refused(tmp_path, monkeypatch):
    locked = users_folder(tmp_path / "locked")

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("geetiles.destinations.os.scandir", denied)  # as root, chmod 0 would not stop a read
    assert "cannot be read (Permission denied)" in refusal(lambda: check_folder(locked, DATASET))


# --- what may be used --------------------------------------------------------------------------------


def test_absent_and_empty_folders_are_used_and_marked(tmp_path):
    for dest in (tmp_path / "absent", tmp_path / "empty"):
        if dest.name == "empty":
            dest.mkdir()
        with building(dest, DATASET) as work:
            (work / "a.txt").write_text("new")
        assert listing(dest) == {MARKER: marker_text(DATASET).encode(), "a.txt": b"new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["absent", "empty"]


def test_a_marked_folder_is_replaced_wholesale(tmp_path):
    dest = tmp_path / "ds"
    with building(dest, DATASET) as work:
        (work / "old.txt").write_text("old")
    with building(dest, DATASET) as work:
        (work / "new.txt").write_text("new")
    assert sorted(listing(dest)) == [MARKER, "new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_a_failed_build_leaves_the_previous_folder(tmp_path):
    dest = tmp_path / "ds"
    with building(dest, REPORT) as work:
        (work / "index.html").write_text("first")
    with pytest.raises(RuntimeError):
        with building(dest, REPORT) as work:
            (work / "index.html").write_text("second")
            raise RuntimeError("drawing failed")
    assert (dest / "index.html").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_a_folder_that_appears_while_building_is_not_replaced(tmp_path):
    dest = tmp_path / "ds"
    with pytest.raises(UserInputError):
        with building(dest, DATASET) as work:
            (work / "a.txt").write_text("new")
            users_folder(dest)  # the user made it meanwhile
    assert (dest / "thesis.tex").read_text() == "years of work" and not (dest / "a.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


# --- made before markers -----------------------------------------------------------------------------


def old_dataset(dest: Path) -> Path:
    """A dataset folder as geetiles wrote it before markers: files listed in MANIFEST.sha256."""
    (dest / "images").mkdir(parents=True)
    files = {"images/c1.tif": b"tif", "config.yaml": b"a: 1\n", "README.md": b"# card\n", "chips.parquet": b"pq"}
    for name, data in files.items():
        (dest / name).write_bytes(data)
    (dest / "MANIFEST.sha256").write_text("".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in files.items()))
    return dest


def test_folders_from_before_markers_are_recognised_by_their_layout(tmp_path):
    check_folder(old_dataset(tmp_path / "ds"), DATASET)
    report = tmp_path / "rep"
    report.mkdir()
    (report / "index.html").write_text("<!DOCTYPE html>\n<html><head><title>geetiles report: t.geojson</title>")
    (report / "map_aoi.png").write_bytes(b"\x89PNG")
    check_folder(report, REPORT)
    legacy = tmp_path / "lux_s2_wc"
    (legacy / "data").mkdir(parents=True)
    (legacy / "data" / "c1.pkl").write_bytes(b"pickle")
    for name in ("lux_partitions_aschips.geojson", "splits.csv", "README.txt"):
        (legacy / name).write_text("x")
    check_folder(legacy, LEGACY_ZIP)


@pytest.mark.parametrize("extra", ["notes.txt", "images/mine.tif", "data.bin"])
def test_a_file_the_old_layout_does_not_explain_makes_it_the_users(tmp_path, extra):
    dest = old_dataset(tmp_path / "ds")
    (dest / extra).write_text("the user's")
    before = listing(dest)
    refusal(lambda: check_folder(dest, DATASET))
    assert listing(dest) == before


def test_old_layouts_with_a_users_file_or_link_are_refused(tmp_path):
    report = tmp_path / "rep"
    report.mkdir()
    (report / "index.html").write_text("<title>geetiles report: x</title>")
    (report / "diary.txt").write_text("mine")
    refusal(lambda: check_folder(report, REPORT))
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "index.html").write_text("<title>My homepage</title>")
    refusal(lambda: check_folder(fake, REPORT))
    legacy = tmp_path / "legacy"
    (legacy / "data").mkdir(parents=True)
    (legacy / "data" / "c1.pkl").write_bytes(b"p")
    (legacy / "a.geojson").write_text("x")
    (legacy / "data" / "notes.txt").write_text("mine")
    refusal(lambda: check_folder(legacy, LEGACY_ZIP))
    linked = old_dataset(tmp_path / "linked")
    (linked / "images" / "elsewhere").symlink_to(tmp_path / "fake")
    refusal(lambda: check_folder(linked, DATASET))


# --- zips ----------------------------------------------------------------------------------------------


def write_zip(path: Path, members: dict[str, bytes], comment: bytes = b"") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.comment = comment
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_zips(tmp_path):
    check_zip(tmp_path / "absent.zip", DATASET, "ds")
    ours = write_zip(tmp_path / "ours.zip", {"whatever": b"x"}, zip_comment(DATASET))
    check_zip(ours, DATASET, "ds")
    assert "legacy_zip zip, not a dataset zip" in refusal(
        lambda: check_zip(write_zip(tmp_path / "l.zip", {"x": b"x"}, zip_comment(LEGACY_ZIP)), DATASET, "ds")
    )
    foreign = write_zip(tmp_path / "photos.zip", {"ds/cat.jpg": b"cat"})
    assert "did not make it" in refusal(lambda: check_zip(foreign, DATASET, "ds", "export.dest"))
    plain = tmp_path / "plain.zip"
    plain.write_bytes(b"not a zip at all")
    assert "is not a zip geetiles made" in refusal(lambda: check_zip(plain, DATASET, "ds"))
    assert plain.read_bytes() == b"not a zip at all" and foreign.exists()


def test_zips_from_before_comments_are_recognised_by_their_members(tmp_path):
    check_zip(write_zip(tmp_path / "ds.zip", {"ds/MANIFEST.sha256": b"", "ds/images/c.tif": b""}), DATASET, "ds")
    legacy = {"lux_a_b/lux_partitions_aschips.geojson": b"", "lux_a_b/splits.csv": b"", "lux_a_b/data/c1.pkl": b""}
    check_zip(write_zip(tmp_path / "lux_a_b.zip", legacy), LEGACY_ZIP, "lux_a_b")  # also 0.1.7's
    for members in (
        {**legacy, "lux_a_b/data/../../evil.pkl": b""},
        {**legacy, "other/x.geojson": b""},
        {**legacy, "lux_a_b/thesis.tex": b""},
        {"lux_a_b/data/c1.pkl": b""},
    ):
        refusal(lambda members=members: check_zip(write_zip(tmp_path / "z.zip", members), LEGACY_ZIP, "lux_a_b"))


# --- what killed runs left ------------------------------------------------------------------------------


@pytest.mark.slow  # starts a process
def test_stale_building_and_old_folders_of_gone_processes_are_removed(tmp_path):
    dest = tmp_path / "t_dataset"
    me, started = os.getpid(), process_started(os.getpid())
    gone = dead_pid()
    stale = [
        f".t_dataset.building-{gone}",
        f".t_dataset.old-{gone}",
        f".t_dataset.building-{gone}-123",
        f".t_dataset.building-{me}-{started + 1}",
    ]  # the last: a live pid reused by another process
    kept = [
        f".t_dataset.building-{me}-{started}",
        f".t_dataset.old-{me}",  # this live process's
        f".other_dataset.building-{gone}",
        "t_dataset.building-1",
        f".t_dataset.building-{gone}x",
    ]
    for name in stale + kept:
        (tmp_path / name).mkdir()
        (tmp_path / name / "chip.tif").write_bytes(b"x" * 100)
    (tmp_path / f".t_dataset.file-like.building-{gone}").write_text("a file, not ours")
    link = tmp_path / f".t_dataset.old-{gone}9"
    link.symlink_to(users_folder(tmp_path / "mine"))
    removed = remove_stale(dest)
    assert sorted(p.name for p in removed) == sorted(stale)
    assert all((tmp_path / name / "chip.tif").exists() for name in kept)
    assert link.is_symlink() and (tmp_path / "mine" / "thesis.tex").exists()


@pytest.mark.slow  # starts a process
def test_the_next_build_removes_what_a_killed_one_left(tmp_path):
    dest = tmp_path / "t_report"
    left = tmp_path / f".t_report.building-{dead_pid()}"
    left.mkdir()
    (left / "map.png").write_bytes(b"half")
    with building(dest, REPORT) as work:
        (work / "index.html").write_text("page")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t_report"]


@pytest.mark.slow  # starts a process
def test_stale_zip_temporaries_are_removed(tmp_path):
    zip_path = tmp_path / "lux_a_b.zip"
    gone = tmp_path / f".lux_a_b.tmp{dead_pid()}.zip"
    live = tmp_path / f".lux_a_b.tmp{os.getpid()}.zip"
    other = tmp_path / f".other.tmp{dead_pid()}.zip"
    for path in (gone, live, other):
        path.write_bytes(b"partial")
    assert remove_stale_temporary(zip_path) == [gone]
    assert live.exists() and other.exists()
