"""Header templates: a chip recognised by an earlier chip's template reads exactly as the full parser (and
GDAL) reads it, with its own tie point and chunk tables; a chip that differs anywhere else is parsed in
full; a damaged chip is still unreadable."""

import numpy as np
import pytest
import rasterio

from geetiles.tiff import UnreadableChip, read_chip, reader
from geetiles.tiff.header import plain_header, plain_layout, read_ifd
from geetiles.tiff.template import Templates
from geetiles.tiff.writer import encode_geotiff
from tests.proportions.synthetic import write_chip


def _chip(seed: int, shape=(3, 8, 8), x0=500_000.0, y0=5_500_000.0, nodata=0, crs="EPSG:32632", dtype="uint8"):
    values = np.random.default_rng(seed).integers(0, 200, size=shape).astype(dtype)
    return values, encode_geotiff(values, crs, (10.0, 0.0, x0, 0.0, -10.0, y0), ["r", "g", "b"][: shape[0]], nodata)


def _full(data: bytes):
    ifd = read_ifd(data)
    return plain_header(ifd, descriptive=False), plain_layout(ifd)


@pytest.fixture(autouse=True)
def fresh_templates(monkeypatch):
    monkeypatch.setattr(reader, "TEMPLATES", Templates())


@pytest.mark.parametrize("shape", [(3, 8, 8), (1, 8, 8), (3, 300, 270)])  # one tile a band; several
def test_a_chip_read_by_template_reads_as_the_full_parser_reads_it(tmp_path, shape):
    templates = Templates()
    first = _chip(0, shape)[1]
    templates.learn(first, *_full(first))
    for seed, (x0, y0) in enumerate([(500_010.0, 5_499_990.0), (123_456.789, 4_000_000.125), (-5.5, 1e7)], 1):
        values, data = _chip(seed, shape, x0, y0)
        template = templates.find(data)
        assert template is not None, "a chip of the same kind must match"
        header, layout = template.read(data)
        full_header, full_layout = _full(data)
        assert header == full_header
        assert (layout.offsets, layout.counts) == (full_layout.offsets, full_layout.counts)
        assert layout == full_layout
        path = tmp_path / f"{seed}.tif"
        path.write_bytes(data)
        chip = read_chip(path, all_bands=True)
        np.testing.assert_array_equal(chip.values, values)
        with rasterio.open(path) as dataset:
            assert chip.transform == dataset.transform.to_gdal()
            np.testing.assert_array_equal(dataset.read(), values)


def test_read_chip_learns_and_uses_a_template(tmp_path):
    for seed in range(3):
        path = tmp_path / f"{seed}.tif"
        path.write_bytes(_chip(seed, x0=500_000.0 + 80 * seed)[1])
        chip = read_chip(path, all_bands=True)
        assert chip.transform[0] == 500_000.0 + 80 * seed
    assert len(reader.TEMPLATES.known) == 1


def test_cogs_of_one_kind_share_a_template_though_each_tile_leader_differs(tmp_path):
    from geetiles.tiff.cog import encode_cog

    for seed in range(3):  # random pixels: each tile compresses to another size, written before the tile
        values = np.random.default_rng(seed).integers(0, 200, size=(3, 8, 8)).astype("uint8")
        path = tmp_path / f"{seed}.tif"
        path.write_bytes(
            encode_cog(values, "EPSG:32632", (500_000.0 + 80 * seed, 10.0, 0, 5e6, 0, -10.0), list("rgb"), 0)
        )
        chip = read_chip(path, all_bands=True)
        np.testing.assert_array_equal(chip.values, values)
        assert chip.transform[0] == 500_000.0 + 80 * seed
    assert len({len(p.read_bytes()) for p in tmp_path.iterdir()}) > 1
    assert len(reader.TEMPLATES.known) == 1


@pytest.mark.parametrize(
    "other",
    [dict(nodata=255), dict(crs="EPSG:32631"), dict(shape=(2, 8, 8)), dict(dtype="uint16"), dict(shape=(3, 9, 8))],
)
def test_a_chip_that_differs_elsewhere_does_not_match(other):
    templates = Templates()
    first = _chip(0)[1]
    templates.learn(first, *_full(first))
    data = _chip(1, **other)[1]
    assert templates.find(data) is None


@pytest.mark.parametrize("tiled", [False, True])
def test_gdal_written_chips_get_a_template_too(tmp_path, tiled):
    options = dict(tiled=tiled) if tiled else dict(tiled=False, blockysize=7)
    paths = [
        write_chip(tmp_path / f"{i}.tif", np.full((2, 20, 30), i, "int16"), (i, 0, i + 3, 2), **options)
        for i in range(2)
    ]
    first, second = (p.read_bytes() for p in paths)
    templates = Templates()
    templates.learn(first, *_full(first))
    template = templates.find(second)
    assert template is not None
    assert template.read(second) == _full(second)


def _outcome(path):
    try:
        return read_chip(path, all_bands=True).values.tolist()
    except UnreadableChip as error:
        return str(error)


@pytest.mark.parametrize("cut", ["the last tile's end", "every tile"])
def test_a_damaged_chip_of_a_known_kind_reads_as_without_a_template(tmp_path, cut):
    good, damaged = tmp_path / "good.tif", tmp_path / "damaged.tif"
    good.write_bytes(_chip(0)[1])
    data = _chip(1)[1]
    data = data[:-10] if cut == "the last tile's end" else data[: min(_full(data)[1].offsets) + 5]
    damaged.write_bytes(data)
    without = _outcome(damaged)
    read_chip(good)
    assert reader.TEMPLATES.find(data) is not None, "the header matches"
    assert _outcome(damaged) == without


def test_the_templates_kept_are_bounded():
    templates = Templates(keep=2)
    for nodata in (1, 2, 3):
        data = _chip(0, nodata=nodata)[1]
        templates.learn(data, *_full(data))
    assert len(templates.known) == 2
