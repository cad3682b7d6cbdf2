"""The fake server as a running service: overlapping latency, injected errors, outages, its own process.

Error paths use raw HTTP to 127.0.0.1 because the ee client retries 429/5xx with sleeps.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tests.fake_ee import FakeEarthEngine
from tests.fake_ee.fixtures import fake_ee  # noqa: F401
from tests.fake_ee.helpers import COMPUTE_PIXELS, error_of, pixels_body, post

REPO = Path(__file__).resolve().parents[2]


def test_latency_overlaps_concurrent_requests(fake_ee: FakeEarthEngine) -> None:  # noqa: F811
    fake_ee.latency_s = 1.0  # long enough that all 20 are in flight at once even on a loaded machine
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: post(fake_ee.url, COMPUTE_PIXELS, pixels_body()), range(20)))
    elapsed = time.monotonic() - started
    assert [status for status, _, _ in results] == [200] * 20
    assert 1.0 <= elapsed < 10.0, elapsed  # one after another would take 20 x 1 = 20 s
    assert fake_ee.max_in_flight == 20 and fake_ee.in_flight == 0
    times = fake_ee.request_times
    assert len(times) == 20


def test_injected_errors(fake_ee: FakeEarthEngine) -> None:  # noqa: F811
    fake_ee.error_rate = 1.0
    fake_ee.error_statuses = (429,)
    status, content_type, body = post(fake_ee.url, COMPUTE_PIXELS, pixels_body())
    assert (status, content_type) == (429, "application/json")
    assert error_of(body) == {
        "code": 429,
        "message": "Too many concurrent aggregations.",
        "status": "RESOURCE_EXHAUSTED",
    }
    fake_ee.error_statuses = (503,)
    status, _, body = post(fake_ee.url, COMPUTE_PIXELS, pixels_body())
    assert status == 503 and error_of(body)["status"] == "UNAVAILABLE"
    assert fake_ee.errors_injected == 2 and sum(fake_ee.calls_by_grid.values()) == 0
    fake_ee.error_rate = 0.0
    assert post(fake_ee.url, COMPUTE_PIXELS, pixels_body())[0] == 200


def test_error_injection_is_seeded() -> None:
    def statuses(seed: int) -> list[int]:
        with FakeEarthEngine(error_rate=0.5, seed=seed) as server:
            return [post(server.url, COMPUTE_PIXELS, pixels_body())[0] for _ in range(12)]

    first = statuses(7)
    assert first == statuses(7)
    assert 200 in first and set(first) - {200} <= {429, 503} and set(first) != {200}


@pytest.mark.slow  # starts a process
def test_command_line_server() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_ee.server", "--latency", "0", "--error-rate", "0", "--token", "none"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        status, _, body = post(url, COMPUTE_PIXELS, pixels_body(), token=None)
        assert status == 200 and np.load(io.BytesIO(body)).dtype.names == ("red", "green", "blue")
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr


def test_pause_refuses_connections_and_resets_open_ones_then_resume_serves_on_the_same_port(
    fake_ee: FakeEarthEngine,  # noqa: F811
) -> None:
    import http.client
    import socket

    url, port = fake_ee.url, int(fake_ee.url.rsplit(":", 1)[1])
    assert post(url, COMPUTE_PIXELS, pixels_body())[0] == 200
    kept = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # a keep-alive connection opened before
    kept.request("GET", "/$discovery/rest?version=v1")
    assert kept.getresponse().read() and fake_ee.requests["discovery"] == 1
    fake_ee.pause()
    assert fake_ee.paused
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        kept.request("GET", "/$discovery/rest?version=v1")  # reset: the outage reaches open connections too
        kept.getresponse().read()
    calls = fake_ee.compute_pixels_calls
    fake_ee.resume()
    assert not fake_ee.paused and fake_ee.url == url
    status, _, body = post(url, COMPUTE_PIXELS, pixels_body())
    assert status == 200 and fake_ee.compute_pixels_calls == calls + 1
