"""The start watchdog's order of ending (in-process, with the process's end stood in for). In a console
command the work is saved and the line printed before the head is stopped, because Ray's C++ client may
end the process the moment its raylet goes; in a library call the head is stopped first, so the blocked
``ray.init`` can fail and the run end as any failed run."""

from __future__ import annotations

import time

import pytest

from geetiles.download.ray_cluster import _Watchdog
from geetiles.errors import RunFailed
from geetiles.run_ending import library_call


@pytest.fixture
def events(monkeypatch):
    happened: list = []
    monkeypatch.setattr("geetiles.run_ending.last_words", lambda line: happened.append(line))
    monkeypatch.setattr("geetiles.run_ending.os._exit", lambda code: happened.append(("exit", code)))
    return happened


def _expire(events) -> _Watchdog:
    """A watchdog whose deadline passes at once, recording what it does."""
    return _Watchdog(
        time.monotonic() + 0.05,
        "the local Ray did not start",
        on_expiry=lambda: events.append("head stopped"),
        salvage=lambda: events.append("saved"),
    )


def test_a_console_command_saves_and_says_before_the_head_is_stopped(events):
    with _expire(events) as watchdog:
        watchdog._thread.join(5)
    assert watchdog.expired
    assert events == ["saved", "geetiles: error: the local Ray did not start", "head stopped", ("exit", 1)]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # os._exit stood in for
def test_a_console_command_ends_even_when_stopping_the_head_fails(events):
    def failing_stop():
        events.append("head stop failed")
        raise OSError("no such process")

    watchdog = _Watchdog(time.monotonic() + 0.05, "late", on_expiry=failing_stop, salvage=lambda: None)
    with watchdog:
        watchdog._thread.join(5)
    assert events == ["geetiles: error: late", "head stop failed", ("exit", 1)]


def test_a_library_call_whose_init_returns_after_the_head_stops_ends_as_a_failed_run(events):
    with library_call(), _expire(events) as watchdog:
        while "head stopped" not in events:  # ray.init blocked until its head goes, then returns
            time.sleep(0.01)
    watchdog._thread.join(5)
    assert watchdog.expired and events == ["head stopped"]  # nothing saved or printed: the run's own ending does it


def test_a_library_call_whose_init_never_returns_gets_the_failure_raised_in_its_thread(events, monkeypatch):
    monkeypatch.setattr(_Watchdog, "GRACE_S", 0.1)
    with library_call(), pytest.raises(RunFailed, match="the local Ray did not start"):
        with _expire(events):
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:  # a blocked call; the asynchronous exception lands between sleeps
                time.sleep(0.01)
    assert events == ["head stopped", "saved"]
