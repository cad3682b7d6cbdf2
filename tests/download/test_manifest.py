import csv

import numpy as np

from geetiles.download.manifest import FAILURES, JOURNAL, MANIFEST, Manifest


def test_journal_survives_a_kill_and_is_folded_into_the_manifest(tmp_path):
    first = Manifest(tmp_path)
    first.record([{"identifier": "a", "status": "done", "attempts": 1, "file_size": 10, "file_mtime_ns": 5}])
    first.record([{"identifier": "b", "status": "failed", "attempts": 2, "error": "HTTP 400: nope"}])
    with open(tmp_path / JOURNAL, "a") as journal:
        journal.write('{"identifier": "c", "sta')  # a line cut by the kill
    second = Manifest(tmp_path)  # the rerun
    known = second.lookup(np.array(["a", "b", "c"]))
    assert known["found"].tolist() == [True, True, False]
    second.record([{"identifier": "b", "status": "done", "attempts": 1}])
    third = Manifest(tmp_path)  # killed again: the cut line swallowed nothing
    assert third.lookup(np.array(["b"]))["status"].tolist() == ["done"]
    failed, examples = second.finalize()
    assert failed == 0 and examples == [] and not (tmp_path / JOURNAL).exists()
    with open(tmp_path / MANIFEST) as f:
        rows = {r["identifier"]: r for r in csv.DictReader(f)}
    assert rows["b"]["status"] == "done" and rows["b"]["attempts"] == "3"  # attempts add up across runs
    assert rows["a"]["file_size"] == "10" and rows["a"]["error"] == ""
    assert (tmp_path / FAILURES).read_text().splitlines()[0].replace('"', "") == "identifier,attempts,error"
    assert len((tmp_path / FAILURES).read_text().splitlines()) == 1


def test_failures_are_listed_and_counted_for_the_chips_asked(tmp_path):
    manifest = Manifest(tmp_path)
    manifest.record([{"identifier": "a", "status": "failed", "attempts": 3, "error": "HTTP 400: bad band"},
                     {"identifier": "b", "status": "failed", "attempts": 1, "error": "HTTP 503"},
                     {"identifier": "c", "status": "done", "attempts": 1}])
    failed, examples = manifest.finalize(np.array(["a", "c"]))
    assert failed == 1 and examples[0]["error"] == "HTTP 400: bad band"
    with open(tmp_path / FAILURES) as f:
        assert [r["identifier"] for r in csv.DictReader(f)] == ["a", "b"]


def test_a_journaled_chip_is_trusted_only_while_its_file_is_unchanged(tmp_path):
    path = tmp_path / "a.tif"
    path.write_bytes(b"x" * 10)
    stat = path.stat()
    manifest = Manifest(tmp_path)
    manifest.record([{"identifier": "a", "status": "done", "attempts": 1, "file_size": stat.st_size, "file_mtime_ns": stat.st_mtime_ns}])
    rerun = Manifest(tmp_path)
    known = rerun.lookup(np.array(["a"]))
    assert rerun.untouched(known, 0, path.stat())
    path.write_bytes(b"y" * 11)
    assert not rerun.untouched(known, 0, path.stat())
