"""A COG write that fails midway, on the fast path or through GDAL, leaves no file behind, and a failed
rewrite keeps the previous file."""

import hashlib

import pytest

from geetiles.tiff import cog
from geetiles.tiff.cog import write_cog
from tests.tiff.cog_checks import UTM, chip


def _fail_midway(path, *args, **kwargs):
    with open(path, "wb") as file:
        file.write(b"II*\0partial")
    raise OSError("disk full")


@pytest.mark.parametrize("size, function", [(100, "_write_file"), (1000, "_write_with_gdal")])
def test_a_write_that_fails_midway_leaves_no_file(tmp_path, monkeypatch, size, function):
    monkeypatch.setattr(cog, function, _fail_midway)
    path = tmp_path / "out" / "chip.tif"
    with pytest.raises(OSError, match="disk full"):
        write_cog(path, chip("uint8", 1, size, size), *UTM, ["a"], 0)
    assert list((tmp_path / "out").iterdir()) == []


def test_a_failed_rewrite_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "chip.tif"
    digest = write_cog(path, chip("uint8", 3, 100, 100), *UTM, ["a", "b", "c"], 0)
    monkeypatch.setattr(cog, "_write_file", _fail_midway)
    with pytest.raises(OSError):
        write_cog(path, chip("uint8", 3, 100, 100, seed=1), *UTM, ["a", "b", "c"], 0)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest and list(tmp_path.iterdir()) == [path]
