"""End to end: the demo experiment over a few km², through download, proportions, split and export, then
the report; its page is self-contained and renders in a headless browser (when one is installed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.in_process import Ran
from tests.report.conftest import assert_self_contained

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="module")
def demo_report(demo_pipeline) -> tuple[Path, Ran]:
    """The shared demo run (tests/conftest.py: every default stage, report last)."""
    data, result = demo_pipeline
    [tiles] = data.glob("t_partitions_aschips_*.geojson")
    return tiles.with_name(f"{tiles.stem}_report"), result


def test_demo_run_report(demo_report):
    dest, result = demo_report
    index = dest / "index.html"
    lines = [line for line in (result.stdout + result.stderr).splitlines() if "geetiles.report.stage" in line]
    assert len(lines) == 1 and lines[0].rstrip().endswith(str(index))
    images = assert_self_contained(index)
    assert {"map_aoi.png", "map_split.png", "map_classes.png", "classes.png", "samples.png"} <= set(images)
    assert "map_failures.png" not in images and "map_foreign.png" not in images  # no failure, no foreign units
    text = index.read_text(encoding="utf-8")
    for expected in (
        "demo-imagery",
        "demo-landcover",
        "Tree cover",
        "achieved (count)",
        "Leakage",
        "chip_size_m: 1000.0",
        "<pre>",
    ):
        assert expected in text


def _browser() -> str | None:
    return next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)


@pytest.mark.slow  # starts a process
def test_page_renders_in_a_headless_browser(demo_report, tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip(f"no headless browser on PATH ({', '.join(BROWSERS)}); install Debian's chromium to run this test")
    dest, _ = demo_report
    shot = tmp_path / "page.png"
    args = [
        browser,
        "--headless",
        "--disable-gpu",
        f"--screenshot={shot}",
        "--window-size=1280,2400",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        # nothing leaves the machine: every name unresolvable, every request through a dead local proxy
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-features=MediaRouter,OptimizationHints",
        "--no-default-browser-check",
        "--disable-dev-shm-usage",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    args.append((dest / "index.html").as_uri())
    result = subprocess.run(
        args, capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)}
    )
    assert shot.exists() and shot.stat().st_size > 10_000, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
