import csv

import numpy as np

from geetiles.manifest import FAILURES, JOURNAL, MANIFEST, Manifest


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
    manifest.record(
        [
            {"identifier": "a", "status": "failed", "attempts": 3, "error": "HTTP 400: bad band"},
            {"identifier": "b", "status": "failed", "attempts": 1, "error": "HTTP 503"},
            {"identifier": "c", "status": "done", "attempts": 1},
        ]
    )
    failed, examples = manifest.finalize(np.array(["a", "c"]))
    assert failed == 1 and examples[0]["error"] == "HTTP 400: bad band"
    with open(tmp_path / FAILURES) as f:
        assert [r["identifier"] for r in csv.DictReader(f)] == ["a", "b"]


def test_a_journaled_chip_is_trusted_only_while_its_file_is_unchanged(tmp_path):
    path = tmp_path / "a.tif"
    path.write_bytes(b"x" * 10)
    stat = path.stat()
    manifest = Manifest(tmp_path)
    manifest.record(
        [
            {
                "identifier": "a",
                "status": "done",
                "attempts": 1,
                "file_size": stat.st_size,
                "file_mtime_ns": stat.st_mtime_ns,
            }
        ]
    )
    rerun = Manifest(tmp_path)
    known = rerun.lookup(np.array(["a"]))
    assert rerun.untouched(known, 0, path.stat())
    path.write_bytes(b"y" * 11)
    assert not rerun.untouched(known, 0, path.stat())


def test_a_large_fold_streams_and_keeps_every_row_once(tmp_path, monkeypatch):
    """Folding more rows than one slice: earlier rows not redone are kept, redone ones replaced (their
    attempts added), the run's own rows all there, failures listed and counted. Slices of 4,096 rows
    (65,536 in use) and a journal of a few of its 256 KiB read blocks: the same streaming, 10 times faster."""
    import geetiles.manifest
    import geetiles.manifest_rows

    for module in (geetiles.manifest, geetiles.manifest_rows):
        monkeypatch.setattr(module, "FOLD_ROWS", 4096)
    first = Manifest(tmp_path)
    first.record([{"identifier": f"c{i:06d}", "status": "done", "attempts": 1} for i in range(15_000)])
    first.finalize()
    second = Manifest(tmp_path)
    second.record(
        [
            {
                "identifier": f"c{i:06d}",
                "status": "failed" if i % 100 == 0 else "done",
                "attempts": 2,
                "error": "HTTP 503" if i % 100 == 0 else "",
            }
            for i in range(10_000, 25_000)
        ]
    )
    assert (tmp_path / ".manifest-journal.jsonl").stat().st_size > 3 * (256 << 10)  # read in several blocks
    failed, examples = second.finalize(np.array([f"c{i:06d}" for i in range(20_000, 25_000)]))
    with open(tmp_path / MANIFEST) as f:
        rows = list(csv.DictReader(f))
    by_id = {r["identifier"]: r for r in rows}
    assert len(rows) == len(by_id) == 25_000
    assert (
        by_id["c000001"]["attempts"] == "1"
        and by_id["c012001"]["attempts"] == "3"
        and by_id["c022001"]["attempts"] == "2"
    )
    assert by_id["c010000"]["status"] == "failed"
    assert len((tmp_path / FAILURES).read_text().splitlines()) == 1 + 150
    assert failed == 50 and len(examples) == 5 and examples[0]["identifier"] == "c020000"


def test_a_run_that_journals_a_chip_twice_keeps_its_last_row(tmp_path):
    manifest = Manifest(tmp_path)
    manifest.record([{"identifier": "a", "status": "failed", "attempts": 1, "error": "x"}])
    manifest.record([{"identifier": "a", "status": "done", "attempts": 1}])
    assert manifest.finalize() == (0, [])
    with open(tmp_path / MANIFEST) as f:
        rows = list(csv.DictReader(f))
    assert [(r["identifier"], r["status"], r["attempts"]) for r in rows] == [("a", "done", "2")]


def test_lookup_checks_the_text_behind_a_hash(tmp_path, monkeypatch):
    """Earlier rows are found by a 64-bit hash; two identifiers sharing one (forced here) never
    answer for each other: the text decides, and the chip whose row is not found is fetched again."""
    import geetiles.identifier_hash as identifier_hash

    first = Manifest(tmp_path)
    first.record([{"identifier": i, "status": "done", "attempts": 1} for i in ("a", "b", "c")])
    first.finalize()
    monkeypatch.setattr(identifier_hash, "hash64", lambda ids: np.zeros(len(ids), dtype=np.uint64))
    known = Manifest(tmp_path).lookup(np.array(["a", "b", "z"]))
    assert known["found"].tolist() == [True, False, False]  # "b" collides with "a": not trusted, refetched
    monkeypatch.undo()
    known = Manifest(tmp_path).lookup(np.array(["c", "z", "a", "b"]))
    assert known["found"].tolist() == [True, False, True, True]


def test_discard_takes_back_only_this_runs_rows(tmp_path):
    killed = Manifest(tmp_path)
    killed.record([{"identifier": "a", "status": "done", "attempts": 1}])
    before = (tmp_path / JOURNAL).read_bytes()
    rerun = Manifest(tmp_path)
    rerun.record([{"identifier": "b", "status": "done", "attempts": 1}])
    rerun.discard()
    assert (tmp_path / JOURNAL).read_bytes() == before
    fresh = Manifest(tmp_path / "other")
    fresh.record([{"identifier": "a", "status": "done", "attempts": 1}])
    fresh.discard()
    assert not (tmp_path / "other" / JOURNAL).exists()


def test_a_manifest_written_before_the_requeued_column_still_loads_and_gains_it(tmp_path):
    old_columns = (
        "identifier,status,attempts,bytes,checksum,error,file_size,file_mtime_ns,node,request,grid,updated_utc"
    )
    (tmp_path / MANIFEST).write_text(
        old_columns + "\nold1,done,1,100,abc,,100,7,n,req,grid,2025-01-01T00:00:00+00:00\n"
    )
    manifest = Manifest(tmp_path)
    known = manifest.lookup(np.array(["old1"]))
    assert known["found"].tolist() == [True] and known["status"].tolist() == ["done"]
    manifest.record([{"identifier": "new1", "status": "done", "attempts": 1, "requeued": 2}])
    manifest.finalize()
    with open(tmp_path / MANIFEST) as f:
        reader = csv.DictReader(f)
        rows = {r["identifier"]: r for r in reader}
        assert reader.fieldnames[-1] == "requeued"
    assert rows["old1"]["requeued"] == "" and rows["old1"]["checksum"] == "abc"  # unknown for the old row, not 0
    assert rows["new1"]["requeued"] == "2"
