"""The geotiff writer links chips the download already wrote as the export's COGs: the same files it
writes by re-encoding an older download's band-separate GeoTIFFs, bytes and index rows alike; links
refused by the file system fall back to writing, and no name in the dataset is ever written through."""

import errno
import os

import numpy as np
import pytest

from geetiles.export.geotiff import _write_batch, colormap
from geetiles.export.selection import dataset_info
from geetiles.tiff import read_chip, reader
from geetiles.tiff.header import plain_header, read_ifd
from geetiles.tiff.template import Templates
from geetiles.tiff.writer import encode_geotiff


@pytest.fixture(autouse=True)
def fresh_templates(monkeypatch):
    monkeypatch.setattr(reader, "TEMPLATES", Templates())
    monkeypatch.setattr("geetiles.tiff.cog_reuse._REUSES", {})


def _spec(tiles, dest):
    images = dataset_info(tiles, "demo-imagery", "images")
    labels = dataset_info(tiles, "demo-landcover", "labels")
    return (images, labels, colormap(labels), dest), images, labels


def _identifiers(info) -> np.ndarray:
    return np.array(sorted(p.stem for p in info.folder.glob("*.tif")), dtype=object)


def _files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.tif"))}


def _as_band_separate_geotiffs(folder) -> None:
    """Rewrite a chip folder as geetiles wrote downloads before: tiled, band-separate GeoTIFFs."""
    for path in folder.glob("*.tif"):
        data = path.read_bytes()
        header = plain_header(read_ifd(data))
        chip = read_chip(path, all_bands=True)
        x0, dx, rx, y0, ry, dy = chip.transform
        geotiff = encode_geotiff(
            chip.values, chip.crs, (dx, rx, x0, ry, dy, y0), list(header.descriptions), chip.nodata, header.metadata
        )
        assert geotiff != data
        path.write_bytes(geotiff)


def test_linked_chips_are_the_files_re_encoding_writes(dataset, tmp_path):
    spec, images, labels = _spec(dataset, tmp_path / "linked")
    identifiers = _identifiers(images)
    for role in ("images", "labels"):
        (tmp_path / "linked" / role).mkdir(parents=True)
    linked = _write_batch(spec, identifiers)
    for role, info in (("images", images), ("labels", labels)):
        for identifier in identifiers:  # every chip, the first of its kind too, is the download's file
            assert os.path.samefile(tmp_path / "linked" / role / f"{identifier}.tif", info.folder / f"{identifier}.tif")
    kept = {role: _files(tmp_path / "linked" / role) for role in ("images", "labels")}
    assert b"geetiles_request" in next(iter(kept["images"].values()))  # the download's request tag is kept

    reader.TEMPLATES = Templates()  # a fresh worker process, reading an older download
    _as_band_separate_geotiffs(images.folder)
    _as_band_separate_geotiffs(labels.folder)
    spec, _, _ = _spec(dataset, tmp_path / "written")
    for role in ("images", "labels"):
        (tmp_path / "written" / role).mkdir(parents=True)
    written = _write_batch(spec, identifiers)
    for role in ("images", "labels"):
        assert _files(tmp_path / "written" / role) == kept[role]
        assert all((tmp_path / "written" / role / name).stat().st_nlink == 1 for name in kept[role])
    assert written[:6] == linked[:6] and written[8] == linked[8] == list(identifiers)


def test_links_refused_by_the_file_system_are_written_instead(dataset, tmp_path, monkeypatch):
    spec, images, _ = _spec(dataset, tmp_path / "dest")
    for role in ("images", "labels"):
        (tmp_path / "dest" / role).mkdir(parents=True)
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", refuse)
    identifiers = _identifiers(images)
    _write_batch(spec, identifiers)
    assert len(calls) == 2  # once per folder: then it writes without trying again
    for identifier in identifiers:
        copy = tmp_path / "dest" / "images" / f"{identifier}.tif"
        assert copy.stat().st_nlink == 1 and copy.read_bytes() == (images.folder / f"{identifier}.tif").read_bytes()


def test_a_name_already_in_the_dataset_is_replaced_not_written_through(dataset, tmp_path):
    spec, images, _ = _spec(dataset, tmp_path / "dest")
    for role in ("images", "labels"):
        (tmp_path / "dest" / role).mkdir(parents=True)
    identifiers = _identifiers(images)
    bystander = tmp_path / "bystander.tif"
    bystander.write_bytes(b"someone else's file")
    for identifier in identifiers[:3]:  # names in the dataset that are another file's links
        os.link(bystander, tmp_path / "dest" / "images" / f"{identifier}.tif")
    _write_batch(spec, identifiers)
    assert bystander.read_bytes() == b"someone else's file"
    for identifier in identifiers[:3]:
        assert (tmp_path / "dest" / "images" / f"{identifier}.tif").read_bytes() == (
            images.folder / f"{identifier}.tif"
        ).read_bytes()
