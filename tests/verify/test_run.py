"""``verify_dataset`` and ``geet verify`` on a clean dataset (no problem, exit 0) and on input that is
not a dataset (one line, exit status 2, no traceback)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from geetiles.errors import UserInputError
from geetiles.verify import verify_dataset
from tests.conftest import geet_cmd
from tests.in_process import run_in_process
from tests.verify.conftest import identifiers


def test_a_clean_dataset_has_no_problem(dataset):
    report = verify_dataset(dataset)
    assert report.ok, report.lines()
    assert report.chips == len(identifiers(dataset)) == 16
    files = [p for p in dataset.rglob("*") if p.is_file()]
    assert report.files == len(files)  # every file read once, the manifest included
    assert report.checks == ["index", "shards", "chips", "webdataset", "manifest", "splits", "card", "catalogs"]


def test_geet_verify_prints_a_summary_and_exits_0(dataset, tmp_path):
    result = run_in_process(geet_cmd("verify", str(dataset)), tmp_path)
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    assert line.startswith(f"verify {dataset}: 16 chips and ") and "no problem" in line and "chips/s" in line


def test_geet_verify_lists_each_problem_then_the_summary_and_exits_1(dataset, tmp_path):
    [first, second] = identifiers(dataset)[:2]
    (dataset / "images" / f"{first}.tif").unlink()
    (dataset / "labels" / f"{second}.tif").unlink()
    result = run_in_process(geet_cmd("verify", str(dataset)), tmp_path)
    assert result.returncode == 1
    *problems, summary = result.stdout.splitlines()
    assert f"chip {first}: image file images/{first}.tif is missing" in problems
    assert f"chip {second}: label file labels/{second}.tif is missing" in problems
    assert f"chip {first}: images/{first}.tif: listed in MANIFEST.sha256 but missing" in problems
    assert f"{len(problems)} problem(s)" in summary and "Traceback" not in result.stderr


@pytest.mark.parametrize("make", ["missing", "a file", "not a dataset", "no index"])
def test_not_a_dataset_is_one_line_and_exit_2(dataset, tmp_path, make):
    target = {
        "missing": tmp_path / "nowhere",
        "a file": dataset / "README.md",
        "not a dataset": tmp_path / "photos",
        "no index": dataset,
    }[make]
    if make == "not a dataset":
        target.mkdir()
        (target / "cat.jpg").write_bytes(b"a cat")
    if make == "no index":
        (dataset / "chips.parquet").unlink()
    result = run_in_process(geet_cmd("verify", str(target)), tmp_path)
    assert result.returncode == 2
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("geetiles: error: ")
    with pytest.raises(UserInputError):
        verify_dataset(target)


def test_a_huge_folder_that_is_not_a_dataset_is_refused_without_walking_it(tmp_path, monkeypatch):
    from geetiles.verify.source import FolderSource

    monkeypatch.setattr(FolderSource, "listing", lambda self: pytest.fail("walked a folder that is not a dataset"))
    (tmp_path / "home" / "deep").mkdir(parents=True)
    with pytest.raises(UserInputError, match="is not a geetiles dataset"):
        verify_dataset(tmp_path / "home")


@pytest.mark.slow
def test_worker_processes_find_what_one_process_finds(dataset):
    first = identifiers(dataset)[0]
    data = bytearray((dataset / "images" / f"{first}.tif").read_bytes())
    data[-1] ^= 0xFF
    (dataset / "images" / f"{first}.tif").write_bytes(bytes(data))
    one, two = verify_dataset(dataset, workers=1), verify_dataset(dataset, workers=2)
    assert sorted(one.lines()[:-1]) == sorted(two.lines()[:-1]) != []
    assert one.files == two.files


def test_a_dataset_zip_is_verified_in_place(dataset, tmp_path):
    from geetiles.export.folder import zip_folder

    archive = zip_folder(dataset, tmp_path / "t_dataset.zip")
    shutil.rmtree(dataset)
    report = verify_dataset(archive)
    assert report.ok, report.lines()
    assert report.chips == 16


def test_a_webdataset_only_export_is_verified(wds_dataset: Path):
    report = verify_dataset(wds_dataset)
    assert report.ok, report.lines()
    assert report.chips == 16
    assert "webdataset" in report.checks
