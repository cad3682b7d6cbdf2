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
