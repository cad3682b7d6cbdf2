"""The zip writer: ZIP64 fields that readers accept."""

from __future__ import annotations

import os

from geetiles.export.legacy_zip import zip_writer
from tests.export.legacy_zip.case import read_zip


def test_zip64_fields_are_read_back(tmp_path, monkeypatch):
    """Sizes and offsets past the ZIP64 limit (lowered here) go in ZIP64 fields that readers accept."""
    import zlib

    monkeypatch.setattr(zip_writer, "ZIP64_LIMIT", 100)
    payloads = {f"f/{i}.bin": os.urandom(150) for i in range(4)}
    with open(tmp_path / "t.zip", "wb") as file:
        writer = zip_writer.ZipWriter(file)
        for name, data in payloads.items():
            compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
            writer.add(name, zlib.crc32(data), len(data), compressor.compress(data) + compressor.flush())
        writer.close()
    assert read_zip(tmp_path / "t.zip") == payloads
