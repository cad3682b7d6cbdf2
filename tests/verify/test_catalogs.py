"""STAC items and Croissant files, when present, against the index."""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq

from geetiles.verify import verify_dataset
from tests.verify.conftest import identifiers, problem_lines, refresh_manifest


def test_stac_items_name_exactly_the_indexed_chips(dataset):
    chips = identifiers(dataset)
    shutil.rmtree(dataset / "stac")  # the export's own, replaced by a damaged one
    (dataset / "stac").mkdir()
    (dataset / "stac" / "collection.json").write_text(json.dumps({"type": "Collection", "id": "t"}))
    pq.write_table(pa.table({"id": [*chips[1:], "ghost", chips[2]]}), dataset / "stac" / "items.parquet")
    refresh_manifest(dataset)
    lines = problem_lines(verify_dataset(dataset))
    assert sorted(lines) == sorted(
        [
            f"chip {chips[2]}: has 2 items in stac/items.parquet",
            f"chip {chips[0]}: is in the index but has no item in stac/items.parquet",
            "stac/items.parquet: item ghost is not a chip of the index",
        ]
    ), lines


def test_stac_items_without_a_collection(dataset):
    (dataset / "stac" / "collection.json").unlink()
    pq.write_table(pa.table({"id": identifiers(dataset)}), dataset / "stac" / "items.parquet")
    refresh_manifest(dataset)
    assert problem_lines(verify_dataset(dataset)) == ["stac/collection.json: is missing beside stac/items.parquet"]


def test_croissant_files_exist_inside_the_dataset(dataset):
    (dataset / "croissant.json").write_text(
        json.dumps(
            {
                "distribution": [
                    {"@type": "cr:FileObject", "@id": "index", "contentUrl": "chips.parquet"},
                    {"@type": "cr:FileObject", "@id": "gone", "contentUrl": "gone.parquet"},
                    {"@type": "cr:FileObject", "@id": "escape", "contentUrl": "../../etc/passwd"},
                    {"@type": "cr:FileObject", "@id": "web", "contentUrl": "https://example.org/x"},
                    {"@type": "cr:FileObject", "@id": "card", "contentUrl": "README.md", "sha256": "0" * 64},
                    {"@type": "cr:FileSet", "@id": "images", "includes": "images/*.tif"},
                    {"@type": "cr:FileSet", "@id": "none", "includes": ["masks/*.tif"]},
                ]
            }
        )
    )
    refresh_manifest(dataset)
    assert problem_lines(verify_dataset(dataset)) == [
        "croissant.json: file gone: gone.parquet is missing",
        "croissant.json: file escape: '../../etc/passwd' leaves the dataset: not read",
        "README.md: SHA-256 differs from croissant.json's (changed or corrupt)",
        "croissant.json: file set none: no file matches 'masks/*.tif'",
    ]
