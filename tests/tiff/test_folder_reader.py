"""Reading chips by name from an open folder: the same chips, errors and messages as ``read_chip`` on
their paths, for small and large files alike."""

import os

import numpy as np
import pytest

from geetiles.tiff import UnreadableChip, folder_reader, read_chip
from geetiles.tiff.folder_reader import FolderReader
from geetiles.tiff.writer import encode_geotiff


def _write(path, shape=(2, 8, 8), seed=0):
    values = np.random.default_rng(seed).integers(0, 200, size=shape).astype("uint16")
    path.write_bytes(encode_geotiff(values, "EPSG:32632", (10.0, 0, 5e5, 0, -10.0, 5e6), ["a", "b"][: shape[0]], 0))
    return values


@pytest.mark.parametrize("all_bands", [False, True])
def test_chips_read_by_name_are_the_chips_read_by_path(tmp_path, monkeypatch, all_bands):
    monkeypatch.setattr(folder_reader, "BUFFER", 64)  # every file larger than the buffer: read in parts
    _write(tmp_path / "small.tif", (1, 4, 4))
    _write(tmp_path / "large.tif", (2, 300, 270), seed=1)
    with FolderReader(tmp_path) as reader:
        for name in ("small.tif", "large.tif"):
            assert reader.read_bytes(name) == (tmp_path / name).read_bytes()
            by_name, by_path = reader.read_chip(name, all_bands), read_chip(tmp_path / name, all_bands)
            np.testing.assert_array_equal(by_name.values, by_path.values)
            assert (by_name.transform, by_name.crs, by_name.nodata) == (by_path.transform, by_path.crs, by_path.nodata)


def test_missing_damaged_and_unopenable_chips_say_why_as_by_path(tmp_path):
    (tmp_path / "garbage.tif").write_bytes(b"not a tiff at all")
    os.mkdir(tmp_path / "folder.tif")
    with FolderReader(tmp_path) as reader:
        for name in ("missing.tif", "garbage.tif", "folder.tif"):
            with pytest.raises(UnreadableChip) as by_name:
                reader.read_chip(name)
            with pytest.raises(UnreadableChip) as by_path:
                read_chip(tmp_path / name)
            assert str(by_name.value).split("(")[0] == str(by_path.value).split("(")[0]
    with FolderReader(tmp_path / "no such folder") as reader, pytest.raises(UnreadableChip, match="missing"):
        reader.read_chip("a.tif")
