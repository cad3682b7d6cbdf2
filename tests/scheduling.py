"""Which tests are slow and how the suite is spread over pytest-xdist's workers (a plugin of the root
``conftest.py``), for its 3-minute bound on 2 cores: measured with ``bench/suite.py``.

- Every test on the session's Ray is slow, so the fast set never starts Ray.

- Every worker starts with its part of the long and slow tests (processes, Ray). They wait more than
  they compute (a fault test waits for a timeout, a head for its daemons), so with one worker more than
  there are cores the machine stays busy; run last, they left both cores half idle for the final minute.
  The tests on the session's Ray share all workers but one, which starts no Ray of its own.
- The oldest temporary folder pytest keeps is removed when the session starts, beside the tests,
  instead of after the last test, where it held the whole run for seconds.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

RAY_FIXTURES = {"ray_session", "demo_pipeline"}  # fixtures that start the session's Ray
LOCK_TIMEOUT_S = 3 * 24 * 3600  # pytest's own: a numbered folder locked more recently is in use
_early_cleanup: threading.Thread | None = None


def cores() -> int:
    """The cores this process may run on (a container's share, not the machine's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def runs_slow_tests(config: pytest.Config) -> bool:
    """False for the inner loop's ``-m "not slow"``, which starts no process to wait for."""
    return "not slow" not in (config.option.markexpr or "")


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: without xdist (-p no:xdist), never called
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: a worker per core, and one more while slow tests wait (the fast set alone computes
    all the time, and a worker more only adds its start-up)."""
    return cores() + 1 if runs_slow_tests(config) else cores()


def kind(item: pytest.Item) -> int:
    """0: a long test (``@pytest.mark.long``: many seconds, mostly waiting); 1: another slow test; 2: the rest."""
    if item.get_closest_marker("long"):
        return 0
    return 1 if item.get_closest_marker("slow") else 2


def chunk_sizes(total: int, workers: int) -> list[int]:
    """How many tests pytest-xdist's work stealing first hands each worker: a contiguous share each."""
    sizes = []
    for index in range(workers):
        sizes.append((total - sum(sizes)) // (workers - index))
    return sizes


def on_session_ray(item: pytest.Item) -> bool:
    """Whether the test runs on its worker's one Ray (``ray_session``, directly or through a fixture)."""
    return bool(RAY_FIXTURES & set(getattr(item, "fixturenames", ())))


def spread(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """Each worker's first share opens with its part of the long tests (dealt in turn), then a contiguous
    part of the other slow ones, then of the rest: every worker starts on waits the others fill, and
    stealing (from the end of a queue) leaves the shortest tests for the end. The tests on the session's
    Ray go to every worker but the last, which gets the other slow ones: one Ray fewer to start and keep."""
    groups: list[list[pytest.Item]] = [[], [], []]
    for item in items:
        groups[kind(item)].append(item)
    long, slow, fast = groups
    ray_shares = max(1, workers - 1)
    shares: list[list[pytest.Item]] = [[] for _ in range(workers)]
    for group, dealt in ((long, True), (slow, False)):
        on_ray = [item for item in group if on_session_ray(item)]
        own = [item for item in group if not on_session_ray(item)]
        parts = [on_ray[i::ray_shares] for i in range(ray_shares)] if dealt else _pieces(on_ray, ray_shares)
        for share, part in zip(shares, parts):
            share.extend(part)
        shares[-1 if workers > 1 else 0].extend(own)
    rest = iter(fast)
    for share, size in zip(shares, chunk_sizes(len(items), workers)):
        share.extend(item for _, item in zip(range(max(0, size - len(share))), rest))
    shares[-1].extend(rest)
    return [item for share in shares for item in share]


def _pieces(items: list[pytest.Item], count: int) -> list[list[pytest.Item]]:
    sizes = chunk_sizes(len(items), count)
    starts = [sum(sizes[:index]) for index in range(count)]
    return [items[start : start + size] for start, size in zip(starts, sizes)]


def mark_slow(items: list[pytest.Item]) -> None:
    """Every test on the session's Ray (directly or through a fixture that needs it) is slow, so
    ``-m "not slow"`` never starts Ray, whether or not its module remembered the mark."""
    for item in items:
        if on_session_ray(item) and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


def arrange(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker (each collects the same list), the order its work stealing hands out; in one
    process, the long tests, then the other slow ones."""
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    items[:] = spread(items, workers) if workers > 1 else sorted(items, key=kind)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]):
    """The slow marks before any other plugin (``-m`` deselects by them), the order after them all."""
    mark_slow(items)
    yield
    arrange(config, items)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """In the controlling process: remove the numbered folders pytest would remove at the session's end
    (its retention count, its lock rule) in a thread now."""
    global _early_cleanup
    config = session.config
    factory = getattr(config, "_tmp_path_factory", None)
    if hasattr(config, "workerinput") or config.option.basetemp or factory is None:
        return
    try:
        from _pytest.pathlib import cleanup_numbered_dir
    except ImportError:  # another pytest: its own clean-up at the end still runs
        return
    keep = 0 if config.getini("tmp_path_retention_policy") == "none" else int(config.getini("tmp_path_retention_count"))
    if keep < 1:  # pytest then removes this session's own (unlocked) folder at its end: never before
        return
    root = factory.getbasetemp().parent
    _early_cleanup = threading.Thread(
        target=cleanup_numbered_dir,
        args=(root, "pytest-", keep, time.time() - LOCK_TIMEOUT_S),
        name="early-tmp-cleanup",
        daemon=True,
    )
    _early_cleanup.start()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish() -> None:
    """pytest's own clean-up runs after this: never two removals of one folder at once."""
    if _early_cleanup is not None:
        _early_cleanup.join()
