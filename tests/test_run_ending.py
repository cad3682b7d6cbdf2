"""Ending a run from a watch thread: inside ``geetiles.run`` (a library call) the run's own thread gets a
RunFailed and the process lives on; the console path (``os._exit``) is tested in a process of its own
(tests/download/test_head_loss.py, test_watchdogs.py)."""

from __future__ import annotations

import threading
import time

import pytest

from geetiles.download.head_watch import HeadWatch
from geetiles.errors import RunFailed
from geetiles.run_ending import end_run, in_library_call, library_call


class DeadHead:
    """A local head's Popen whose process has ended."""

    returncode = -9

    def poll(self):
        return self.returncode


def wait_for_failure(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.01)  # Python code runs between sleeps: the asynchronous exception lands here


def test_in_a_library_call_a_lost_head_raises_in_the_run_and_the_process_lives_on(monkeypatch):
    salvaged = []
    monkeypatch.setattr("geetiles.download.head_watch.POLL_S", 0.01)
    with library_call(), pytest.raises(RunFailed) as raised:
        watch = HeadWatch("the local Ray head", None, DeadHead(), lambda: salvaged.append(1) or "12 chips are kept")
        watch.start()
        wait_for_failure(5.0)
    watch._thread.join(5)
    assert str(raised.value) == (
        "the local Ray head ended (killed by SIGKILL) mid-run; 12 chips are kept; rerun the same command to resume"
    )
    assert salvaged == [1] and not in_library_call()


def test_end_run_raises_in_the_driver_thread_not_the_watchers(monkeypatch):
    caught = []

    def driver() -> None:
        try:
            wait_for_failure(5.0)
        except RunFailed as error:
            caught.append(str(error))

    thread = threading.Thread(target=driver)
    thread.start()
    with library_call():
        end_run("the head stopped", thread.ident)  # returns: the watcher thread carries on
    thread.join(5)
    assert caught == ["the head stopped"]


def test_outside_a_library_call_end_run_ends_the_process(monkeypatch):
    ended = []
    monkeypatch.setattr("geetiles.run_ending.last_words", lambda line: ended.append(line))
    monkeypatch.setattr("geetiles.run_ending.os._exit", lambda code: ended.append(code))
    end_run("the head stopped", threading.get_ident())
    assert ended == ["geetiles: error: the head stopped", 1]
