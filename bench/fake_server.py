"""The fake Earth Engine server (tests/fake_ee) as the download benches start it: its own process on
127.0.0.1, no token, one seed for its injected errors; and its request counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_server(
    latency: float,
    error_rate: float = 0.0,
    seed: int = 0,
    extra: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen, str]:
    """The server and its URL; ``extra`` are more of its options (e.g. ``--latency-per-mpx 0.5``)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_ee.server", "--latency", str(latency), "--error-rate", str(error_rate)]
        + ["--token", "none", "--seed", str(seed), *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=env if env is not None else dict(os.environ),
    )
    return server, server.stdout.readline().strip()


def server_stats(url: str) -> dict:
    """What the server answered so far (requests served, errors injected)."""
    with urllib.request.urlopen(f"{url}/_stats", timeout=30) as response:  # loopback only
        return json.loads(response.read())


def download_command(tiles: Path, url: str, run_dir: Path, *extra: str) -> list[str]:
    """``python -m geetiles`` downloading ``tiles``' chips (sentinel2, no labels) from the fake at ``url``;
    ``extra`` overrides come last, so they win."""
    return [
        sys.executable,
        "-m",
        "geetiles",
        "stages=[download]",
        f"download.tiles_file={tiles}",
        "source=sentinel2",
        "labels=none",
        f"ee.url={url}",
        "ee.credentials=none",
        "ee.project=bench",
        f"hydra.run.dir={run_dir}",
        *extra,
    ]
