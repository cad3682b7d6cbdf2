"""Running tilings and downloads in-process against the fake Earth Engine server."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import rasterio

from geetiles.experiment import Experiment
from geetiles.runner import run_experiment
from tests.composing import compose_with
from tests.fake_ee.pixels import pixel_values

FAST_RETRIES = ["download.backoff_initial_s=0.01", "download.backoff_max_s=0.05", "download.progress=none"]


def credentials_file(folder: Path, server, valid: bool = True) -> Path:
    """A service-account key whose token exchange goes to the fake server's /token (google-auth
    honours ``token_uri`` for service accounts). ``valid=False`` gives a key the server refuses."""
    path = folder / ("key.json" if valid else "revoked-key.json")
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "test-project",
                "private_key_id": "test",
                "private_key": _private_key_pem(),
                "client_email": "geetiles-test@test-project.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": f"{server.url}/token" + ("" if valid else "?revoked=1"),
            }
        )
    )
    return path


@functools.cache
def _private_key_pem() -> str:
    """One key per test process, of 1024 bits: the fake checks that a token request carries a signed
    assertion, not whose key signed it (commit d68737d has what a new 2048-bit key per file cost)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def make_tiles(folder: Path, bbox=(6.0, 49.6, 6.08, 49.66), *extra: str) -> Path:
    cfg = compose_with(
        ["aoi=bbox", f"aoi.bbox=[{','.join(map(str, bbox))}]", "aoi.name=t", "stages=[tiling]", *extra],
        {"data_dir": str(folder)},
    )
    return run_experiment(Experiment.from_config(cfg, command="test")).tiles_file


def download(tiles: Path, server, credentials: Path | str, *extra: str):
    cfg = compose_with(
        ["stages=[download]", "source=sentinel2", "labels=none", *FAST_RETRIES, *extra],
        {"download.tiles_file": str(tiles), "ee.url": server.url, "ee.credentials": str(credentials)},
    )
    return run_experiment(Experiment.from_config(cfg, command="test"))


def dataset_dir(tiles: Path, name: str = "sentinel2-rgb-median-2020") -> Path:
    return tiles.with_suffix("") / name


def assert_chip_matches_server(path: Path, bands=("vis-red", "vis-green", "vis-blue"), dtype=np.uint8) -> None:
    """Pixels equal the server's function of each pixel centre, read through the file's own georeferencing."""
    with rasterio.open(path) as chip:
        assert chip.descriptions == tuple(bands)
        assert chip.dtypes == tuple(np.dtype(dtype).name for _ in bands)
        transform = tuple(chip.transform)[:6]
        crs = chip.crs.to_string()
        for index in range(chip.count):
            expected = pixel_values(crs, transform, chip.width, chip.height, index, np.dtype(dtype))
            assert np.array_equal(chip.read(index + 1), expected), f"{path.name} band {index}"
