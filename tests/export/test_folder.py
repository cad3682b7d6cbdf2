"""MANIFEST.sha256: every file of the dataset folder, in the order of their paths (part by part), each
with its SHA-256; digests already known are taken as given."""

import hashlib
from pathlib import Path

from geetiles.export.folder import MANIFEST, write_manifest


def test_the_manifest_lists_every_file_part_by_part_with_its_digest(tmp_path):
    files = [
        "images/b.tif",
        "images/a.tif",
        "images-x/z.tif",
        "splits/train.parquet",
        "splits.parquet",
        "Z",
        "a.txt",
        "webdataset/deep/er/x.tar",
    ]
    for index, name in enumerate(files):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x" * index)
    (tmp_path / "webdataset" / MANIFEST).write_text("a nested manifest is not listed")
    written = write_manifest(tmp_path, {"images/a.tif": "given"})
    lines = written.read_text().splitlines()
    expected = sorted(files, key=lambda name: Path(name).parts)  # as pathlib orders them: "images/" before "images-x/"
    assert [line.split("  ", 1)[1] for line in lines] == expected
    assert expected.index("images/b.tif") < expected.index("images-x/z.tif")
    digests = dict(reversed(line.split("  ", 1)) for line in lines)
    assert digests["images/a.tif"] == "given"
    assert digests["webdataset/deep/er/x.tar"] == hashlib.sha256(b"x" * 7).hexdigest()


def test_folders_listed_before_take_their_place_in_the_same_manifest(tmp_path):
    """The export lists the chip folders while the STAC items are written; spliced in, the manifest is
    the one a single walk gives, byte for byte, and a file made after the listing is in it too."""
    from geetiles.export.folder import folder_lines

    for index, name in enumerate(["images/b.tif", "images/a.tif", "images-x/z.tif", "labels/a.tif", "a.txt", "z/y"]):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"y" * index)
    known = {"images/a.tif": "given", "labels/a.tif": "label"}
    ready = {name: folder_lines(tmp_path, name, known) for name in ("images", "labels")}
    (tmp_path / "stac").mkdir()
    (tmp_path / "stac" / "items.parquet").write_bytes(b"made after the listing")
    spliced = write_manifest(tmp_path, known, ready).read_bytes()
    assert spliced == write_manifest(tmp_path, known).read_bytes()
    assert b"  stac/items.parquet\n" in spliced and b"given  images/a.tif\n" in spliced
