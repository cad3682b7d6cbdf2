"""Reusing a chip file as the export's COG: only after its kind was judged by re-encoding one chip, only
for chips framed exactly as the encoder frames them, and never for another layout or form."""

import numpy as np
import pytest

from geetiles.tiff import reader
from geetiles.tiff.cog import encode_cog
from geetiles.tiff.cog_reuse import CogReuse, cog_reuse
from geetiles.tiff.reader import chip_of
from geetiles.tiff.template import Templates
from geetiles.tiff.writer import encode_geotiff

BANDS = ["r", "g", "b"]
TAG = {"geetiles_request": "abc123"}


@pytest.fixture(autouse=True)
def fresh_templates(monkeypatch):
    monkeypatch.setattr(reader, "TEMPLATES", Templates())


def _values(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 200, size=(3, 8, 8)).astype("uint8")


def _cog(seed: int, names=BANDS, nodata=0, metadata=TAG) -> bytes:
    return encode_cog(
        _values(seed), "EPSG:32632", (500_000.0 + 80 * seed, 10.0, 0, 5e6, 0, -10.0), names, nodata, None, metadata
    )


def _judge(reuse: CogReuse, data: bytes, names=BANDS, nodata=0) -> None:
    """What the export does with a chip it cannot reuse yet: decode, re-encode, judge."""
    chip = chip_of(data, "unused.tif", all_bands=True)
    reuse.judge(data, encode_cog(chip.values, chip.crs, chip.transform, names, nodata, None, reuse.metadata(data)))


def test_a_kind_is_reused_only_once_judged_and_reads_as_the_parser_reads_it():
    reuse, first = CogReuse(), _cog(0)
    assert reuse.reusable(first) is None  # nothing judged yet
    _judge(reuse, first)
    for seed in (0, 1, 2):
        data = _cog(seed)
        grid = reuse.reusable(data)
        chip = chip_of(data, "unused.tif", all_bands=True)
        assert grid == (chip.crs, chip.transform, 8, 8)
    assert reuse.metadata(first) == TAG


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d + b"\0",  # a byte after the tile's trailer
        lambda d: d[:-1],  # cut short
        lambda d: d[:-4] + bytes(4),  # the trailer is not the tile's last 4 bytes
    ],
)
def test_a_chip_not_framed_as_the_encoder_frames_it_is_not_reused(tamper):
    reuse = CogReuse()
    _judge(reuse, _cog(0))
    assert reuse.reusable(_cog(1)) is not None
    assert reuse.reusable(tamper(_cog(1))) is None


@pytest.mark.parametrize("form", [dict(names=["x", "y", "z"]), dict(nodata=255)])
def test_chips_the_export_would_write_otherwise_are_re_encoded(form):
    reuse, data = CogReuse(), _cog(0)
    _judge(reuse, data, **form)  # the export's own band names or nodata differ from the file's
    assert reuse.reusable(data) is None and reuse.reusable(_cog(1)) is None


def test_a_band_separate_geotiff_is_never_reused():
    reuse = CogReuse()
    for seed in range(2):
        data = encode_geotiff(_values(seed), "EPSG:32632", (10.0, 0, 5e5, 0, -10.0, 5e6), BANDS, 0, TAG)
        _judge(reuse, data)
        assert reuse.reusable(data) is None


def test_the_verdicts_are_kept_per_form_nan_nodata_included():
    assert cog_reuse(BANDS, float("nan"), None) is cog_reuse(BANDS, float("nan"), None)
    assert cog_reuse(BANDS, 0, None) is not cog_reuse(BANDS, 0, {1: (0, 0, 0, 255)})


def test_a_chip_as_geetiles_0_1_7_wrote_it_is_never_reused(tmp_path):
    """0.1.7 rewrote each chip as an uncompressed, pixel-interleaved, striped GTiff (ORIGINAL.md)."""
    import rasterio
    from rasterio.transform import from_origin

    reuse = CogReuse()
    for seed in range(2):
        path = tmp_path / f"{seed}.tif"
        profile = dict(driver="GTiff", width=8, height=8, count=3, dtype="uint8", crs="EPSG:32632", interleave="pixel")
        with rasterio.open(path, "w", transform=from_origin(5e5 + 80 * seed, 5e6, 10, 10), **profile) as dataset:
            dataset.write(_values(seed))
            dataset.descriptions = tuple(BANDS)
        data = path.read_bytes()
        _judge(reuse, data)
        assert reuse.reusable(data) is None
