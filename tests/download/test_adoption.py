"""Chips adopted from disk are exported like downloaded ones: after a lost manifest, a kill -9, a full
disk (tests/download/test_disk_full.py) or in a folder of geetiles 0.1.7, rerunning the download sends
no request for the valid chips, records their checksums, and the export then packages every chip.

The offline demo experiment (16 chips of 24 x 24 pixels), in-process on the session's Ray."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import rasterio

from geetiles.errors import RunFailed
from geetiles.manifest import FAILURES, MANIFEST
from geetiles.tiles import load_tiles
from tests.conftest import DEMO_RUN, RAY_ENV, geetiles_cmd
from tests.download.demo_run import (
    DATASETS,
    assert_checksums_recorded,
    chips,
    download,
    export,
    journaled,
    run,
    summary,
)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # every test downloads, on the session's Ray


@pytest.fixture
def tiles(demo_pipeline, tmp_path) -> Path:
    """A copy of the shared demo run (tests/conftest.py, built once per session) up to the split (16 chips
    per dataset, with manifests), without its dataset and report folders: its tiles file."""
    shutil.copytree(demo_pipeline[0], tmp_path / "data", ignore=shutil.ignore_patterns("*_dataset", "*_report"))
    [tiles] = (tmp_path / "data").glob("t_partitions_aschips_*.geojson")
    return tiles


def forget(tiles: Path, *names: str) -> None:
    for dataset in DATASETS:
        for name in names:
            (tiles.with_suffix("") / dataset / name).unlink(missing_ok=True)


def test_after_a_lost_manifest_the_download_adopts_without_requests_and_the_export_succeeds(tiles):
    forget(tiles, MANIFEST, FAILURES)
    for name, got in download(tiles).items():
        assert (got["requests"], got["done"], got["skipped"]) == (0, 0, 16), name
    assert_checksums_recorded(tiles)
    export(tiles)


def test_chips_adopted_without_a_checksum_by_an_earlier_run_are_checked_again_and_exported(tiles):
    """A folder adopted by a geetiles that recorded no checksum: its export refused forever, because
    the rerun trusted those rows. Now the rerun checks such chips again and records their checksums."""
    for name in DATASETS:
        path = tiles.with_suffix("") / name / MANIFEST
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        for row in rows:
            row["checksum"] = ""
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    with pytest.raises(RunFailed, match="16 of 16 chips .* not in the download manifest as done"):
        export(tiles)
    for name, got in download(tiles).items():
        assert (got["requests"], got["skipped"]) == (0, 16), name
    assert_checksums_recorded(tiles)
    export(tiles)


def test_a_chip_written_but_never_journaled_is_adopted_with_its_checksum(tiles):
    """kill -9 between a chip's rename and its journal line: the file is there, its row is not."""
    victims = sorted(chips(tiles, "demo-imagery"))[:3]
    for name in DATASETS:
        path = tiles.with_suffix("") / name / MANIFEST
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(line for line in lines if not any(v in line for v in victims)))
    with pytest.raises(RunFailed, match=r"3 of 16 chips .*\(absent\)"):
        export(tiles)
    for name, got in download(tiles).items():
        assert (got["requests"], got["skipped"]) == (0, 16), name
    assert_checksums_recorded(tiles)
    export(tiles)


def test_a_folder_of_geetiles_0_1_7_is_exported_before_and_after_the_download_adopts_it(tiles):
    """Chips as 0.1.7 left them: plain GeoTIFFs on the right grid, no request tag, no band names, no
    manifest, record or request history. The export decodes them; the download adopts them (no
    request) and records their checksums; the export then checks those."""
    for name in DATASETS:
        folder = tiles.with_suffix("") / name
        for path in chips(tiles, name).values():
            with rasterio.open(path) as chip:
                pixels, profile = chip.read(), chip.profile
            path.unlink()
            with rasterio.open(
                path,
                "w",
                driver="GTiff",
                width=profile["width"],
                height=profile["height"],
                count=profile["count"],
                dtype=profile["dtype"],
                crs=profile["crs"],
                transform=profile["transform"],
            ) as plain:
                plain.write(pixels)
            with rasterio.open(path) as plain:
                assert "geetiles_request" not in plain.tags() and plain.descriptions == (None,) * profile["count"]
        for extra in [p for p in folder.iterdir() if p.suffix != ".tif"]:
            extra.unlink()
    export(tiles)  # no manifest at all: every chip decoded
    for name, got in download(tiles).items():
        assert (got["requests"], got["done"], got["skipped"]) == (0, 0, 16), name
    assert_checksums_recorded(tiles)
    export(tiles)


def test_a_damaged_chip_in_a_folder_without_manifest_refuses_the_export(tiles):
    """Without checksums the export still decodes every chip: a cut file is named, nothing written."""
    forget(tiles, MANIFEST, FAILURES)
    victim = min(chips(tiles, "demo-landcover").values())
    victim.write_bytes(victim.read_bytes()[:400])
    with pytest.raises(RunFailed, match=rf"1 of 16 chips .*{victim.stem}: demo-landcover: corrupt"):
        export(tiles)
    assert not tiles.with_name(f"{tiles.stem}_dataset").exists()
    assert download(tiles)["demo-landcover"]["done"] == 1  # fetched again, the others adopted
    export(tiles)


@pytest.mark.long
def test_after_a_kill_9_mid_download_the_rerun_fetches_only_the_rest_and_the_export_succeeds(tmp_path, ray_session):
    """A real download process killed with SIGKILL while it writes chips (larger chips, so it is caught
    midway): chips journaled with their checksums are trusted, chips written but not journaled are
    adopted with theirs, and only the missing ones are fetched."""
    big = ("source.pixels_lonlat=[384,384]", "aoi.bbox=[6.0,49.6,6.15,49.68]")
    tiles = run(None, tmp_path / "data", "aoi,tiling", *big).tiles_file
    total = len(load_tiles(tiles))
    images = tiles.with_suffix("") / "demo-imagery"
    overrides = [*DEMO_RUN, *big, f"data_dir={tmp_path / 'data'}", "stages=[download]", f"download.tiles_file={tiles}"]
    env = {**os.environ, **RAY_ENV, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        geetiles_cmd(*overrides),
        cwd=tmp_path,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not journaled(images) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the driver and the Ray head it started
        process.wait(30)
    on_disk = chips(tiles, "demo-imagery")
    assert journaled(images) and len(on_disk) < total, "the download was not caught midway"
    assert not (images / MANIFEST).exists()  # killed: never finalized
    run(tiles, tmp_path / "data", "download", *big)
    got = summary(tiles, "demo-imagery")
    assert got["skipped"] == len(on_disk) and got["done"] == got["requests"] == total - len(on_disk)
    assert_checksums_recorded(tiles)
    assert not [p for p in images.iterdir() if p.name.startswith(".") and ".tmp" in p.name]
    run(tiles, tmp_path / "data", "proportions,split,export", *big)
    dest = tiles.with_name(f"{tiles.stem}_dataset")
    assert len(list((dest / "images").rglob("*.tif"))) == total
