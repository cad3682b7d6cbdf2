"""The process pool whose workers die with their owner, and the liveness test that tells a folder of a
killed run from one of a live run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geetiles.process_pool import process_alive, process_pool, process_started

OWNER = """
import sys, time
from geetiles.process_pool import process_pool

pool = process_pool(2)
futures = [pool.submit(time.sleep, 120) for _ in range(2)]
print("ready", flush=True)
time.sleep(300)
"""


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid``, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as file:
                text = file.read()
        except OSError:
            continue
        if int(text[text.rfind(b")") + 2 :].split()[1]) == pid:
            found.append(int(entry))
    return found


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (with forkserver the pool's workers are its grandchildren)."""
    found, todo = [], [pid]
    while todo:
        below = children(todo.pop())
        found += below
        todo += below
    return found


def running(pids: list[int]) -> list[int]:
    return [pid for pid in pids if process_alive(pid)]


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.slow  # starts a process
def test_a_process_started_records_its_start_and_a_reused_pid_is_told_apart():
    me = os.getpid()
    started = process_started(me)
    assert isinstance(started, int) and started > 0
    assert process_alive(me) and process_alive(me, started)
    assert not process_alive(me, started + 1)  # the same pid, another start: a later process
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not process_alive(child.pid) and process_started(child.pid) is None
    assert not process_alive(0) and not process_alive(-5)


@pytest.mark.slow  # starts a process
def test_a_zombie_is_not_alive():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    assert wait_until(lambda: open(f"/proc/{child.pid}/stat", "rb").read().split(b") ")[1][:1] == b"Z", 10)
    try:
        assert not process_alive(child.pid)  # exited, not yet reaped: its folders are stale
    finally:
        child.wait()


@pytest.mark.slow  # starts a process
def test_the_pool_runs_work():
    with process_pool(2) as pool:
        assert sorted(pool.map(abs, [-3, 1, -2])) == [1, 2, 3]


@pytest.mark.slow
def test_workers_die_within_seconds_when_their_owner_is_killed(tmp_path: Path):
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp_path
    )
    try:
        assert owner.stdout.readline().strip() == "ready"
        # the forkserver, the resource tracker and both workers (grandchildren, below the forkserver)
        assert wait_until(lambda: len(descendants(owner.pid)) >= 4, 30), descendants(owner.pid)
        below = descendants(owner.pid)
    finally:
        owner.kill()
        owner.wait()
    try:
        assert wait_until(lambda: not running(below), 10), f"alive 10 s after their owner's kill -9: {running(below)}"
    finally:
        for pid in running(below):  # only the processes this test started
            os.kill(pid, signal.SIGKILL)
