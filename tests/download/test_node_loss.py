"""A node of a two-node Ray cluster removed mid-run: its chips move to the node left, the run
completes (exit 0) with every chip once, and the global caps hold before, during and after.

The bound asserted on the rate: the workers' token buckets add up to download.max_requests_per_s,
each holding at most one second's worth, and a replacement starts empty; so any 1 s window holds at
most 2 x max_requests_per_s requests (the burst in hand plus one second's refill), plus the driver's
1-pixel probe of the dataset."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import RAY_ENV
from tests.download.faults import assert_every_chip_once, manifest_rows, max_in_any_window, rate_bound
from tests.download.helpers import FAST_RETRIES, credentials_file, dataset_dir, make_tiles
from tests.fake_ee.fixtures import fake_ee  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IN_FLIGHT, RATE = 8, 40


@pytest.mark.long
@pytest.mark.slow
def test_removing_a_node_moves_its_chips_to_the_node_left_within_the_caps(tmp_path, fake_ee):  # noqa: F811
    tiles = make_tiles(tmp_path, (6.0, 49.6, 6.15, 49.7))  # 121 chips
    credentials = credentials_file(tmp_path, fake_ee)
    # 0.3 s answers: the ~100 chips left take ~7 s on the node left, longer than a replacement takes to start
    # on a busy machine (at 0.15 s the run could end before it was up, and nothing said 'replaced')
    fake_ee.latency_s = 0.3
    command = [
        sys.executable,
        "-m",
        "tests.download.cluster_node_loss",
        str(tiles),
        fake_ee.url,
        str(credentials),
        "--remove-after",
        "20",
        f"download.max_in_flight={IN_FLIGHT}",
        f"download.max_requests_per_s={RATE}",
        "download.batch_size=8",
        *FAST_RETRIES,
    ]
    result = subprocess.run(
        command, cwd=ROOT, env={**os.environ, **RAY_ENV}, capture_output=True, text=True, timeout=240
    )
    assert result.stdout.strip(), result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.returncode == 0 and summary["exit"] == 0, (summary["error"], result.stderr[-3000:])
    assert summary["removed_at_files"] is not None and summary["driver_node"] != summary["removed_node"]

    directory = dataset_dir(tiles)
    rows = assert_every_chip_once(tiles, directory)
    removed = summary["removed_node"]
    nodes = [row["node"] for row in rows]
    assert removed in nodes  # the removed node did its share before it went ...
    # ... and the chips after its last one came from the node left. A worker on a removed node can still
    # answer for a moment after remove_node returns (its process notices the raylet's death on its own),
    # so where its last chip falls depends on the machine's load; that chips followed it does not.
    last_on_removed = max(i for i, node in enumerate(nodes) if node == removed)
    after = nodes[last_on_removed + 1 :]
    assert len(after) >= 10 and set(after) == {nodes[-1]} != {removed}, (summary["gone_at_files"], last_on_removed)
    messages = summary["messages"]
    assert any("died" in m for m in messages) and any("replaced on node" in m for m in messages), messages
    assert fake_ee.max_in_flight <= IN_FLIGHT
    assert max_in_any_window(fake_ee.request_times) <= rate_bound(RATE)
    assert {r["status"] for r in manifest_rows(directory)} == {"done"}
