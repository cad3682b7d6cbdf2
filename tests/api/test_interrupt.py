"""A kernel interrupt (SIGINT, as Jupyter's stop button sends) during a download from the fake Earth Engine:
the run stops within 10 s with KeyboardInterrupt, every chip on disk is journaled, the Ray head is gone and
Ray is not initialised; a rerun in the same kernel completes and asks the server for no finished chip again."""

from __future__ import annotations

import time

import pytest
from jupyter_client import KernelManager

from geetiles.download.grids import plan_grids
from geetiles.manifest import JOURNAL
from geetiles.tiles import load_tiles
from tests.api.kernel import CHILDREN, execute, interrupted_download, kernel_env, wait_idle
from tests.download.demo_run import journaled
from tests.download.faults import manifest_rows
from tests.download.helpers import FAST_RETRIES, credentials_file, dataset_dir, make_tiles
from tests.fake_ee.fixtures import fake_ee  # noqa: F401

pytestmark = pytest.mark.slow  # a kernel, Ray

STOP_WITHIN_S = 10.0


@pytest.mark.long
def test_an_interrupted_download_stops_in_seconds_and_resumes_in_the_same_kernel(tmp_path, fake_ee):  # noqa: F811
    tiles = make_tiles(tmp_path, (6.0, 49.6, 6.15, 49.7))
    chips = load_tiles(tiles)
    directory = dataset_dir(tiles)
    overrides = interrupted_download(tiles, fake_ee.url, credentials_file(tmp_path, fake_ee), *FAST_RETRIES)
    run = f"import geetiles\nresult = geetiles.run({overrides!r})"
    fake_ee.latency_s = 0.3
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env=kernel_env(), cwd=str(tmp_path))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        assert execute(client, CHILDREN)[0]["status"] == "ok"
        msg_id = client.execute(run)
        printed: list[str] = []
        deadline = time.monotonic() + 90
        while not ("download workers on" in "".join(printed) and len(journaled(directory)) >= 6):
            assert time.monotonic() < deadline, "".join(printed)
            try:
                message = client.get_iopub_msg(timeout=0.1)
            except Exception:  # queue.Empty: nothing printed meanwhile
                continue
            if message["msg_type"] == "stream" and message["parent_header"].get("msg_id") == msg_id:
                printed.append(message["content"]["text"])
        interrupted = time.monotonic()
        manager.interrupt_kernel()  # SIGINT to the kernel: KeyboardInterrupt in its main thread
        reply, said = wait_idle(client, msg_id, timeout=60, seen=printed)
        stopped_s = time.monotonic() - interrupted
        assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", said[-2000:]
        assert stopped_s < STOP_WITHIN_S, said[-2000:]
        assert "finished work is kept" in said and "Traceback" not in said.split("KeyboardInterrupt")[0]

        state, said = execute(client, "import ray\nprint(ray.is_initialized(), _children())")
        assert said.strip() == "False []", said  # the head stopped; the driver left Ray
        kept = {row["identifier"] for row in manifest_rows(directory) if row["status"] == "done"}
        on_disk = {p.stem for p in directory.glob("*.tif")}
        assert 6 <= len(kept) < len(chips) and on_disk == kept  # every chip on disk is journaled
        assert not (directory / JOURNAL).exists() or journaled(directory) <= kept

        fake_ee.latency_s = 0.0
        fake_ee.reset_counters()
        reply, said = execute(client, run + "\nprint(result.summaries['download'].details)", timeout=120)
        assert reply["status"] == "ok", said[-3000:]
        assert f"'done': {len(chips) - len(kept)}, 'skipped': {len(kept)}, 'failed': 0" in said
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    grids = dict(zip(chips["identifier"], plan_grids(chips, [50, 50], None)))
    asked = {
        i for i, g in grids.items() if fake_ee.calls_by_grid[(g.crs, g.transform[2], g.transform[5], g.width, g.height)]
    }
    assert asked == set(chips["identifier"]) - kept  # no finished chip was fetched twice
    print(f"interrupt to idle: {stopped_s:.2f} s")
