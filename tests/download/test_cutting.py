"""A block fetched in one request and cut apart writes the very bytes a chip-by-chip fetch writes,
for every source; a block refused for its size is halved; a block that keeps failing falls back to
one request per chip. No Ray: the worker is a plain object on an event loop (as in test_exchange)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from geetiles.download.blocks import cell_keys
from geetiles.download.messages import ChipJob
from geetiles.download.worker import DownloadWorker
from geetiles.fetching.grid import PixelGrid
from geetiles.fetching.pacing import RetryPolicy
from geetiles.sources.demo import DemoSpec
from geetiles.sources.ee_rest import Endpoint
from geetiles.sources.local import LocalSpec
from tests.download.test_blocks import RGB, square, table
from tests.fake_ee.fixtures import fake_ee  # noqa: F401

EE_BYTES = 50_331_648


def expression(asset: str) -> str:
    load = {"functionInvocationValue": {"functionName": "Image.load", "arguments": {"id": {"constantValue": asset}}}}
    return json.dumps({"result": "0", "values": {"0": load}})


def endpoint(server, asset: str = "FAKE/RGB", itemsizes=None, attempts: int = 3) -> Endpoint:
    policy = RetryPolicy(max_attempts=attempts, initial_s=0.01, max_s=0.02)
    return Endpoint(server.url, "test", expression(asset), 8, 1e6, policy, 30, EE_BYTES, 32768, itemsizes)


def chip_jobs(folder: Path, grids: list[PixelGrid], coalesce: bool) -> list[ChipJob]:
    keys = cell_keys(table(grids), 1024, RGB, EE_BYTES) if coalesce else [None] * len(grids)
    folder.mkdir(parents=True, exist_ok=True)
    return [
        ChipJob(f"c{i:02d}", g, str(folder / f"c{i:02d}.tif"), None, k) for i, (g, k) in enumerate(zip(grids, keys))
    ]


def fetch(spec, jobs: list[ChipJob]):
    async def go():
        worker = DownloadWorker()
        worker.configure(spec, 0, True, 0, "request")
        try:
            return await worker.run_batch(jobs, {"Authorization": "Bearer test-token"})
        finally:
            await worker.close()

    return asyncio.run(go())


def both_ways(tmp_path: Path, spec, grids: list[PixelGrid], server=None):
    """Chip files and results without and with coalescing; the requests each way (server's count if any)."""
    out = {}
    for name, coalesce in (("off", False), ("on", True)):
        before = server.compute_pixels_calls if server is not None else 0
        results = fetch(spec, chip_jobs(tmp_path / name, grids, coalesce))
        assert all(r.status == "done" for r in results), [r.error for r in results if r.status != "done"]
        files = {p.name: p.read_bytes() for p in (tmp_path / name).glob("*.tif")}
        sent = server.compute_pixels_calls - before if server is not None else None
        out[name] = (files, results, sent)
    return out


def assert_same_files(out) -> None:
    off, on = out["off"][0], out["on"][0]
    assert len(off) == len(on) > 1 and off == on  # the very bytes: header, pixels, request tag


@pytest.mark.parametrize("asset", ["FAKE/RGB", "FAKE/FLOAT"])
def test_a_block_from_the_fake_earth_engine_writes_the_bytes_of_chip_by_chip(tmp_path, fake_ee, asset):  # noqa: F811
    grids = square(4, pixels=32)  # 16 chips of 32 x 32 px, 31.25 m pixels
    out = both_ways(tmp_path, endpoint(fake_ee, asset), grids, fake_ee)
    assert_same_files(out)
    assert (out["off"][2], out["on"][2]) == (16, 1)
    assert sum(r.requests for r in out["on"][1]) == 1  # the block's request is counted once, on its first chip


def test_a_block_of_the_demo_source_writes_the_bytes_of_chip_by_chip(tmp_path):
    out = both_ways(tmp_path, DemoSpec("demo-imagery"), square(3, pixels=40))
    assert_same_files(out)
    assert [sum(r.requests for r in out[way][1]) for way in ("off", "on")] == [9, 1]


@pytest.mark.parametrize("resampling", ["nearest", "bilinear"])
def test_a_block_of_a_local_raster_is_one_warp_and_the_bytes_of_chip_by_chip(tmp_path, resampling):
    import rasterio
    from rasterio.transform import from_origin

    raster = tmp_path / "source.tif"
    rng = np.random.default_rng(3)
    data = rng.integers(0, 10_000, size=(2, 400, 400), dtype=np.uint16)
    with rasterio.open(
        raster, "w", driver="GTiff", width=400, height=400, count=2, dtype="uint16", crs="EPSG:32631",
        transform=from_origin(519_937.0, 5_520_047.0, 7.3, 7.3),  # another grid: every chip is resampled
    ) as dst:  # fmt: skip
        dst.write(data)
    out = both_ways(tmp_path, LocalSpec(str(raster), resampling, ("a", "b")), square(2, pixels=50))
    assert_same_files(out)
    assert [sum(r.requests for r in out[way][1]) for way in ("off", "on")] == [4, 1]


def test_a_block_refused_for_its_size_is_halved_and_gives_the_same_chips(tmp_path, fake_ee):  # noqa: F811
    grids = square(4, pixels=32)
    fake_ee.max_request_bytes = 2 * 32 * 32 * RGB * 4  # 8 chips a request at most; the client does not know
    out = both_ways(tmp_path, endpoint(fake_ee), grids, fake_ee)
    assert_same_files(out)
    refused_then_halves = out["on"][2]
    assert 3 <= refused_then_halves < 16  # the block, then its halves (and their halves): not chip by chip


def test_a_block_that_keeps_failing_falls_back_to_one_request_per_chip(tmp_path, fake_ee):  # noqa: F811
    grids = square(3, pixels=32)
    block = (grids[0].crs, grids[0].transform[2], grids[0].transform[5], 96, 96)
    lost = (grids[4].crs, grids[4].transform[2], grids[4].transform[5], 32, 32)
    fake_ee.fail_grid_keys = {block, lost}  # the block, and one chip on its own: "User memory limit exceeded."
    results = fetch(endpoint(fake_ee), chip_jobs(tmp_path, grids, True))
    assert fake_ee.compute_pixels_calls == 1 + 9
    assert [r.status for r in results].count("done") == 8
    [failed] = [r for r in results if r.status != "done"]
    assert failed.identifier == "c04" and failed.status == "failed" and "memory" in failed.error
    assert sum(r.requests for r in results) == 10
    assert sorted(p.name for p in tmp_path.glob("*.tif")) == [f"c{i:02d}.tif" for i in range(9) if i != 4]


def test_a_block_under_injected_errors_retries_as_one_request(tmp_path, fake_ee):  # noqa: F811
    fake_ee.error_rate = 0.5
    results = fetch(endpoint(fake_ee, attempts=30), chip_jobs(tmp_path, square(2, pixels=16), True))
    assert all(r.status == "done" for r in results)
    assert sum(r.requests for r in results) == fake_ee.compute_pixels_calls
    assert sum(r.retries for r in results) == fake_ee.compute_pixels_calls - 1


@pytest.mark.slow  # downloads on the session's Ray
def test_a_coalesced_download_resumes_a_partly_done_cell_with_the_bytes_of_an_uncoalesced_one(tmp_path, ray_session):
    """tiling=utm, demo imagery at 20 m (24 px chips): off, then coalesced stopped after 30 chips (cells
    left partly done), then resumed: every chip once, in fewer requests than chips, same bytes as off."""
    from tests.download.demo_run import run, summary

    grid = ["tiling=utm", "tiling.chip_size_m=480", "source.pixels_lonlat=null", "source.meters_per_pixel=20"]
    tiles = run(None, tmp_path, "aoi,tiling", *grid).tiles_file
    for name, extra in (("off", ["download.coalesce=off"]), ("on", ["download.max_downloads=30"]), ("on", [])):
        run(tiles, tmp_path, "download", *grid, "labels=none", f"source.name={name}", *extra)
    off, on = summary(tiles, "off"), summary(tiles, "on")
    total = off["total"]
    assert total > 60 and off["requests"] == off["done"] == total
    assert (on["skipped"], on["done"], on["failed"]) == (30, total - 30, 0)
    assert on["requests"] < on["done"] / 4  # blocks, and the partly done cells only for what is missing
    folder = tiles.with_suffix("")
    names = sorted(p.name for p in (folder / "off").glob("*.tif"))
    assert len(names) == total and names == sorted(p.name for p in (folder / "on").glob("*.tif"))
    assert all((folder / "off" / n).read_bytes() == (folder / "on" / n).read_bytes() for n in names)
