import csv

from geetiles.download.manifest import FAILURES, JOURNAL, MANIFEST, Manifest


def test_journal_survives_a_kill_and_is_folded_into_the_manifest(tmp_path):
    first = Manifest(tmp_path)
    first.record([{"identifier": "a", "status": "done", "attempts": 1, "file_size": 10, "file_mtime_ns": 5}])
    first.record([{"identifier": "b", "status": "failed", "attempts": 2, "error": "HTTP 400: nope"}])
    with open(tmp_path / JOURNAL, "a") as journal:
        journal.write('{"identifier": "c", "sta')  # a line cut by the kill
    second = Manifest(tmp_path)  # the rerun
    assert set(second.rows) == {"a", "b"}
    second.record([{"identifier": "b", "status": "done", "attempts": 1}])
    failures = second.finalize()
    assert failures == [] and not (tmp_path / JOURNAL).exists()
    with open(tmp_path / MANIFEST) as f:
        rows = {r["identifier"]: r for r in csv.DictReader(f)}
    assert rows["b"]["status"] == "done" and rows["b"]["attempts"] == "3"  # attempts add up across runs
    assert (tmp_path / FAILURES).read_text() == "identifier,attempts,error\n"


def test_recorded_valid_needs_the_same_file(tmp_path):
    path = tmp_path / "a.tif"
    path.write_bytes(b"x" * 10)
    stat = path.stat()
    manifest = Manifest(tmp_path)
    manifest.record([{"identifier": "a", "status": "done", "attempts": 1, "file_size": stat.st_size, "file_mtime_ns": stat.st_mtime_ns}])
    assert manifest.recorded_valid("a", path)
    path.write_bytes(b"y" * 11)
    assert not manifest.recorded_valid("a", path)
