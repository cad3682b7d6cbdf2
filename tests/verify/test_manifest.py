"""MANIFEST.sha256: every file listed with its SHA-256, and hostile lines (``..``, absolute paths,
garbage) reported without ever reading what they name."""

from __future__ import annotations

import hashlib

from geetiles.verify import verify_dataset
from tests.verify.conftest import problem_lines


def _add_lines(root, *lines: str) -> None:
    with open(root / "MANIFEST.sha256", "a") as manifest:
        manifest.write("".join(f"{line}\n" for line in lines))


def test_a_changed_file_outside_the_index_is_caught_by_the_manifest(dataset):
    (dataset / "config.yaml").write_text("changed: true\n")
    lines = problem_lines(verify_dataset(dataset))
    assert len(lines) == 1 and lines[0].startswith("config.yaml: SHA-256 ") and "MANIFEST.sha256" in lines[0], lines


def test_a_missing_manifest(dataset):
    (dataset / "MANIFEST.sha256").unlink()
    assert problem_lines(verify_dataset(dataset)) == [
        "MANIFEST.sha256: is missing (the export lists every file's SHA-256 there)"
    ]


def test_lines_outside_the_dataset_are_problems_and_never_read(dataset, tmp_path, monkeypatch):
    from geetiles.verify.source import FolderSource

    secret = tmp_path / "secret.txt"
    secret.write_text("not the dataset's")
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()
    backslashed = "images\\..\\..\\secret.txt"
    count = len((dataset / "MANIFEST.sha256").read_text().splitlines())
    _add_lines(
        dataset,
        f"{digest}  ../secret.txt",
        f"{digest}  {secret}",
        f"{digest}  images/../../secret.txt",
        f"{digest}  {backslashed}",
        "not a manifest line",
        f"{digest}  README.md",
    )
    opened = []
    real_open = FolderSource.open
    monkeypatch.setattr(FolderSource, "open", lambda self, rel: opened.append(rel) or real_open(self, rel))
    lines = problem_lines(verify_dataset(dataset, workers=1))
    outside = "outside the dataset (absolute or '..'): not read"
    assert lines == [
        f"MANIFEST.sha256 line {count + 1}: names '../secret.txt', {outside}",
        f"MANIFEST.sha256 line {count + 2}: names {str(secret)!r}, {outside}",
        f"MANIFEST.sha256 line {count + 3}: names 'images/../../secret.txt', {outside}",
        f"MANIFEST.sha256 line {count + 4}: names {backslashed!r}, {outside}",
        f"MANIFEST.sha256 line {count + 5}: is not 'SHA256  path' (sha256sum's format)",
        f"MANIFEST.sha256 line {count + 6}: lists README.md a second time",
    ], lines
    assert all(".." not in rel and not rel.startswith("/") and "secret" not in rel for rel in opened)


def test_a_hostile_name_is_shown_on_one_line(dataset):
    (dataset / "images" / "evil\nname\x1b[31m.tif").write_bytes(b"x")
    report = verify_dataset(dataset)
    for line in report.lines():
        assert "\n" not in line and "\x1b" not in line
    assert any("'images/evil\\nname\\x1b[31m.tif'" in line for line in problem_lines(report)), report.lines()
