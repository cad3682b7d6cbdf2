"""Nothing outside the dataset is read: symbolic links inside the folder are problems and never
followed; a zip's members with unsafe names are problems and never read."""

from __future__ import annotations

import os
import shutil
import zipfile

from geetiles.verify import verify_dataset
from tests.verify.conftest import identifiers, problem_lines


def test_a_link_pointing_outside_is_a_problem_not_followed(dataset, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "notes.txt").write_text("private")
    os.symlink(outside, dataset / "linked")
    os.symlink(outside / "notes.txt", dataset / "notes.txt")
    lines = problem_lines(verify_dataset(dataset))
    not_followed = "not followed: a dataset holds its files itself"
    assert lines == [
        f"linked: is a symbolic link (to {str(outside)!r}), {not_followed}",
        f"notes.txt: is a symbolic link (to {str(outside / 'notes.txt')!r}), {not_followed}",
    ], lines


def test_a_chip_replaced_by_a_link_to_an_identical_copy_is_not_accepted(dataset, tmp_path):
    chip = identifiers(dataset)[0]
    path = dataset / "images" / f"{chip}.tif"
    copy = shutil.copy(path, tmp_path / "copy.tif")
    path.unlink()
    os.symlink(copy, path)
    lines = problem_lines(verify_dataset(dataset))
    link = f"images/{chip}.tif: is a symbolic link (to {str(copy)!r}), not followed: a dataset holds its files itself"
    assert link in lines
    assert f"chip {chip}: image file images/{chip}.tif is missing" in lines


def test_a_linked_images_folder_is_not_followed(dataset, tmp_path):
    shutil.move(dataset / "images", tmp_path / "images")
    os.symlink(tmp_path / "images", dataset / "images")
    report = verify_dataset(dataset)
    assert any(line.startswith("images: is a symbolic link") for line in problem_lines(report))
    assert sum(" is missing" in line for line in problem_lines(report)) == 16


def test_unsafe_zip_members_are_problems_never_read(dataset, tmp_path):
    from geetiles.export.folder import zip_folder

    archive = zip_folder(dataset, tmp_path / "t_dataset.zip")
    with zipfile.ZipFile(archive, "a") as appended:
        appended.writestr("t_dataset/../evil.txt", b"escape")
        appended.writestr("/etc/evil.txt", b"absolute")
        link = zipfile.ZipInfo("t_dataset/images/link.tif")
        link.external_attr = 0o120777 << 16
        appended.writestr(link, "/etc/passwd")
    lines = problem_lines(verify_dataset(archive))
    assert "'t_dataset/../evil.txt': zip member with an unsafe name or outside the dataset's folder, not read" in lines
    assert "'/etc/evil.txt': zip member with an unsafe name or outside the dataset's folder, not read" in lines
    assert "images/link.tif: is a symbolic link in the zip, not followed" in lines
    assert len(lines) == 3, lines


def test_a_damaged_chip_inside_a_zip_is_named(dataset, tmp_path):
    from geetiles.export.folder import zip_folder

    chip = identifiers(dataset)[1]
    path = dataset / "images" / f"{chip}.tif"
    path.write_bytes(path.read_bytes()[:100])
    archive = zip_folder(dataset, tmp_path / "t_dataset.zip")
    lines = problem_lines(verify_dataset(archive))
    assert any(line.startswith(f"chip {chip}: image file images/{chip}.tif does not decode") for line in lines), lines


def test_a_pipe_in_the_folder_is_a_problem_and_never_opened(dataset):
    os.mkfifo(dataset / "images" / "pipe.tif")  # opening it for reading would wait for a writer
    lines = problem_lines(verify_dataset(dataset))
    assert lines == ["images/pipe.tif: is not a regular file (a device, socket or pipe)"], lines
