"""chips.parquet itself: a damaged index, a column missing, a chip file the index does not name."""

from __future__ import annotations

import pyarrow.parquet as pq

from geetiles.verify import verify_dataset
from tests.verify.conftest import problem_lines, refresh_croissant_digest, refresh_manifest


def test_a_damaged_index_is_a_problem_not_a_crash(dataset):
    path = dataset / "chips.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    report = verify_dataset(dataset)
    lines = problem_lines(report)
    assert lines[0].startswith("chips.parquet: the index cannot be read (") and lines[0].endswith("no chip checked")
    assert any(line.startswith("chips.parquet: SHA-256 ") for line in lines), lines
    assert report.chips == 0


def test_an_index_without_its_checksums(dataset):
    table = pq.read_table(dataset / "chips.parquet")
    pq.write_table(table.drop_columns(["image_sha256"]), dataset / "chips.parquet")
    refresh_croissant_digest(dataset / "chips.parquet")
    refresh_manifest(dataset)
    assert problem_lines(verify_dataset(dataset)) == ["chips.parquet: has no 'image_sha256' column"]
