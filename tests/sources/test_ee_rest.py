import io

import numpy as np
import pytest

from geetiles.sources.ee_rest import decode_npy, error_message, read_npy
from tests.fake_ee.fixtures import fake_ee  # noqa: F401
from tests.fake_ee.helpers import RGB_EXPRESSION


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((3, 4), dtype=[("red", "u1"), ("nir", "<f4")]),
        np.arange(12.0).reshape(3, 4),
        np.asfortranarray(np.arange(12).reshape(3, 4)),
        np.arange(4, dtype=">i2").reshape(2, 2),
    ],
)
def test_npy_reader_equals_numpy(array):
    for version in ((1, 0), (2, 0)):
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, array, version=version)
        read = read_npy(buffer.getvalue())
        assert read.dtype == array.dtype and np.array_equal(read, array)


def test_structured_answer_becomes_bands_in_order():
    structured = np.zeros((2, 3), dtype=[("vis-red", "u1"), ("vis-green", "u1")])
    structured["vis-green"] = 7
    buffer = io.BytesIO()
    np.save(buffer, structured)
    pixels = decode_npy(buffer.getvalue())
    assert pixels.band_names == ["vis-red", "vis-green"] and pixels.array.shape == (2, 2, 3)
    assert (pixels.array[1] == 7).all()


def test_google_error_bodies_become_one_line():
    body = (
        b'{"error": {"code": 400, "message": "Image.select: Pattern \'X\'\\n did not match.", '
        b'"status": "INVALID_ARGUMENT"}}'
    )
    assert error_message(400, body) == "HTTP 400: Image.select: Pattern 'X' did not match."
    assert error_message(None, b"ClientConnectorError: refused") == "ClientConnectorError: refused"


def _endpoint(url: str, max_attempts: int):
    import json

    from geetiles.fetching.pacing import RetryPolicy
    from geetiles.sources.ee_rest import Endpoint

    expression = json.dumps(RGB_EXPRESSION)
    return Endpoint(
        url,
        "test-project",
        expression,
        4,
        100.0,
        RetryPolicy(max_attempts, 0.01, 0.02),
        10,
        50_331_648,
        32768,
        headers={"Authorization": "Bearer test-token"},
    )


def _grid():
    from geetiles.fetching.grid import PixelGrid

    return PixelGrid("EPSG:4326", (1e-4, 0.0, 6.1, 0.0, -1e-4, 49.62), 8, 8)


def test_an_endpoint_refusing_connections_spends_no_attempt_and_the_fetch_completes_when_it_returns(fake_ee):  # noqa: F811
    import asyncio
    import threading

    from geetiles.fetching.outcome import Tally
    from geetiles.sources.ee_rest import Fetcher

    fake_ee.pause()
    threading.Timer(2.5, fake_ee.resume).start()  # 2 attempts with 10-20 ms backoffs would be long spent by then

    async def fetch():
        fetcher = Fetcher(_endpoint(fake_ee.url, max_attempts=2))
        tallies = [Tally() for _ in range(6)]
        try:
            pixels = await asyncio.wait_for(asyncio.gather(*(fetcher.fetch(_grid(), t) for t in tallies)), 20)
            return pixels, tallies, fetcher.breaker
        finally:
            await fetcher.close()

    pixels, tallies, breaker = asyncio.run(fetch())
    assert all(p.array.shape == (3, 8, 8) for p in pixels) and not breaker.down
    # the 4 in flight when it went down, then one probe at a time (at once, 1 s, 3 s), then the 6 that succeed:
    # not 6 chips retrying every 10-20 ms (and failing after their 2 attempts)
    assert sum(t.requests for t in tallies) <= 4 + 3 + 6
    assert any("endpoint unreachable" in t.last_error for t in tallies)
    assert fake_ee.compute_pixels_calls == 6  # the server saw each chip once


def test_a_probe_of_an_unreachable_endpoint_is_bounded_by_the_stall_timeout(fake_ee):  # noqa: F811
    import time
    from types import SimpleNamespace

    from geetiles.errors import RunFailed
    from geetiles.sources.earthengine import EarthEngineSource

    source = EarthEngineSource.__new__(EarthEngineSource)
    source.endpoint = _endpoint(fake_ee.url, max_attempts=10)
    source.config = SimpleNamespace(download=SimpleNamespace(stall_timeout_s=1.5))
    fake_ee.pause()
    started = time.monotonic()
    with pytest.raises(RunFailed, match=r"did not answer the first request within download.stall_timeout_s=1.5 s"):
        source.probe(_grid())
    assert time.monotonic() - started < 1.5 * 5  # bounded: 5x the stall timeout (retries alone would take minutes)
