"""The chip pass: each damaged chip is found and named, by the check meant to find it (the others'
checksums fixed up where they would find it first)."""

from __future__ import annotations

import numpy as np

from geetiles.verify import verify_dataset
from tests.verify.conftest import (
    identifiers,
    problem_lines,
    refresh_manifest,
    rewrite_parquet,
)


def _set_sha(root, identifier: str, column: str, digest: str) -> None:
    rewrite_parquet(
        root / "chips.parquet",
        lambda rows: [{**r, column: digest} if r["identifier"] == identifier else r for r in rows],
    )
    refresh_manifest(root)


def test_a_flipped_byte_is_named_by_the_index_and_the_manifest(dataset):
    chip = identifiers(dataset)[3]
    path = dataset / "labels" / f"{chip}.tif"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    lines = problem_lines(verify_dataset(dataset))
    assert any(
        line.startswith(f"chip {chip}: label file labels/{chip}.tif: SHA-256 ") and "differs from the index" in line
        for line in lines
    ), lines
    assert any(
        line.startswith(f"chip {chip}: labels/{chip}.tif: SHA-256 ") and "MANIFEST.sha256" in line for line in lines
    ), lines
    assert all(f"chip {chip}" in line for line in lines), lines


def test_a_truncated_tiff_does_not_decode(dataset):
    chip = identifiers(dataset)[0]
    path = dataset / "images" / f"{chip}.tif"
    path.write_bytes(path.read_bytes()[:-200])
    from geetiles.export.folder import sha256_file

    _set_sha(dataset, chip, "image_sha256", sha256_file(path))  # only decoding can tell now
    lines = problem_lines(verify_dataset(dataset))
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"chip {chip}: image file images/{chip}.tif does not decode: ")


def test_a_chip_of_another_size_and_dtype_than_the_index_says(dataset):
    from geetiles.tiff import read_chip
    from geetiles.tiff.cog import write_cog

    chip = identifiers(dataset)[5]
    path = dataset / "images" / f"{chip}.tif"
    original = read_chip(path, all_bands=True)
    bands, height, width = original.values.shape
    values = np.zeros((bands, height + 8, width), dtype=np.uint16)
    digest = write_cog(path, values, original.crs, original.transform, ["a"] * bands, 0)
    _set_sha(dataset, chip, "image_sha256", digest)  # checksums agree: only the decoded grid tells
    lines = problem_lines(verify_dataset(dataset))
    assert lines == [
        f"chip {chip}: image file images/{chip}.tif: dtype uint16, the index says uint8",
        (f"chip {chip}: image file images/{chip}.tif: {width}x{height + 8} pixels, the index says {width}x{height}"),
    ], lines


def test_a_chip_moved_elsewhere_on_the_earth(dataset):
    from geetiles.tiff import read_chip
    from geetiles.tiff.cog import write_cog

    chip = identifiers(dataset)[2]
    path = dataset / "labels" / f"{chip}.tif"
    original = read_chip(path, all_bands=True)
    x0, dx, rx, y0, ry, dy = original.transform
    digest = write_cog(path, original.values, "EPSG:3857", (x0 + 1, dx, rx, y0, ry, dy), ["Map"], 0)
    _set_sha(dataset, chip, "label_sha256", digest)
    lines = problem_lines(verify_dataset(dataset))
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"chip {chip}: label file labels/{chip}.tif: CRS EPSG:3857, the index says EPSG:4326")
    assert (
        lines[1] == f"chip {chip}: label file labels/{chip}.tif: footprint differs from the image's in the index "
        "by more than one label pixel"
    )


def test_a_deleted_chip_and_an_unindexed_one(dataset):
    chips = identifiers(dataset)
    (dataset / "images" / f"{chips[0]}.tif").unlink()
    (dataset / "images" / "stray.tif").write_bytes((dataset / "images" / f"{chips[1]}.tif").read_bytes())
    lines = problem_lines(verify_dataset(dataset))
    assert f"chip {chips[0]}: image file images/{chips[0]}.tif is missing" in lines
    assert "images/stray.tif: is not in the index (no chips.parquet row names it)" in lines
    assert "images/stray.tif: is not listed in MANIFEST.sha256 (added after the export?)" in lines


def test_an_index_path_outside_the_dataset_is_never_read(dataset, tmp_path, monkeypatch):
    from geetiles.verify.source import FolderSource

    chip = identifiers(dataset)[0]
    (tmp_path / "secret.tif").write_bytes((dataset / "images" / f"{chip}.tif").read_bytes())
    rewrite_parquet(
        dataset / "chips.parquet",
        lambda rows: [{**r, "image_path": "../secret.tif"} if r["identifier"] == chip else r for r in rows],
    )
    refresh_manifest(dataset)
    opened = []
    real_open = FolderSource.open
    monkeypatch.setattr(FolderSource, "open", lambda self, rel: opened.append(rel) or real_open(self, rel))
    lines = problem_lines(verify_dataset(dataset, workers=1))
    assert f"chip {chip}: image path '../secret.tif' leaves the dataset (absolute or '..'): not read" in lines
    assert f"images/{chip}.tif: is not in the index (no chips.parquet row names it)" in lines
    assert not any(".." in rel for rel in opened)


def test_an_index_transform_that_is_not_six_numbers(dataset):
    chip = identifiers(dataset)[4]
    rewrite_parquet(
        dataset / "chips.parquet",
        lambda rows: [{**r, "transform": [1.0]} if r["identifier"] == chip else r for r in rows],
    )
    refresh_manifest(dataset)
    lines = problem_lines(verify_dataset(dataset))
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"chip {chip}: image file images/{chip}.tif: transform [") and lines[0].endswith(
        "the index says [1.0]"
    )
    assert (
        lines[1] == f"chip {chip}: label file labels/{chip}.tif: footprint differs from the image's in the index "
        "by more than one label pixel"
    )
