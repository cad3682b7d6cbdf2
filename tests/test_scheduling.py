"""The suite's own scheduling (``tests/scheduling.py``): every test runs once, each worker's first share is
what the plugin meant it to be under pytest-xdist's real work-stealing scheduler, and the tests on the
session's Ray stay off the last worker."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.scheduling import chunk_sizes, kind, on_session_ray, spread


class FakeItem:
    """What the plugin reads of a pytest item: its marks and its fixtures."""

    def __init__(self, name: str, marks: tuple[str, ...] = (), fixtures: tuple[str, ...] = ()) -> None:
        self.nodeid, self.marks, self.fixturenames = name, set(marks), list(fixtures)

    def get_closest_marker(self, name: str):
        return SimpleNamespace(name=name) if name in self.marks else None

    def __repr__(self) -> str:
        return self.nodeid


def suite(fast: int = 40) -> list[FakeItem]:
    """A collection in file order: long and slow tests, on the session's Ray or not, among fast ones."""
    items = []
    for index in range(fast):
        items.append(FakeItem(f"fast{index}"))
        if index % 5 == 0:
            items.append(FakeItem(f"slow-ray{index}", ("slow",), ("ray_session",)))
        if index % 7 == 0:
            items.append(FakeItem(f"slow-own{index}", ("slow",)))
        if index % 9 == 0:
            items.append(FakeItem(f"long-ray{index}", ("slow", "long"), ("demo_pipeline",)))
        if index % 11 == 0:
            items.append(FakeItem(f"long-own{index}", ("slow", "long")))
    return items


def first_shares(order: list[FakeItem], workers: int) -> list[list[FakeItem]]:
    """What pytest-xdist's work stealing hands each worker first, from the collection ``order``."""
    from xdist.scheduler.worksteal import WorkStealingScheduling

    class Config:
        option = SimpleNamespace(numprocesses=workers, tx=[f"{workers}*popen"], maxprocesses=None)

        def getvalue(self, name):
            return {"tx": [f"{workers}*popen"], "numprocesses": workers}.get(name)

    class Node:
        def __init__(self, name: str) -> None:
            self.gateway, self.shutting_down, self.sent = SimpleNamespace(id=name), False, []

        def send_runtest_some(self, indices) -> None:
            self.sent.extend(indices)

    scheduler = WorkStealingScheduling(Config())
    nodes = [Node(f"gw{index}") for index in range(workers)]
    for node in nodes:
        scheduler.add_node(node)
    for node in nodes:
        scheduler.add_node_collection(node, [item.nodeid for item in order])
    scheduler.schedule()
    return [[order[index] for index in node.sent] for node in nodes]


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_each_worker_opens_with_its_long_tests_and_the_last_one_runs_no_test_on_the_session_ray(workers):
    items = suite()
    order = spread(items, workers)
    assert sorted(map(repr, order)) == sorted(map(repr, items))  # every test once
    shares = first_shares(order, workers)
    assert [len(share) for share in shares] == chunk_sizes(len(items), workers)
    long_on_ray = [item for item in items if kind(item) == 0 and on_session_ray(item)]
    for index, share in enumerate(shares):
        kinds = [kind(item) for item in share]
        assert kinds == sorted(kinds), share  # long, then slow, then fast
        if index < workers - 1:
            assert share[0] in long_on_ray
    last = shares[-1]
    assert not any(on_session_ray(item) for item in last)
    assert {item.nodeid for item in items if kind(item) < 2 and not on_session_ray(item)} <= {i.nodeid for i in last}
    fast = [item for item in order if kind(item) == 2]
    assert fast == [item for item in items if kind(item) == 2]  # the rest keeps its files' order


def test_one_process_runs_the_long_tests_then_the_slow_ones_then_the_rest():
    from tests.scheduling import arrange

    items = suite(12)
    ordered = list(items)
    arrange(SimpleNamespace(), ordered)
    assert [kind(item) for item in ordered] == sorted(kind(item) for item in items)
    assert sorted(map(repr, ordered)) == sorted(map(repr, items))


def test_a_test_on_the_session_ray_is_marked_slow_whatever_its_module_says():
    from tests.scheduling import mark_slow

    unmarked, marked = FakeItem("a", (), ("ray_session",)), FakeItem("b", ("slow",), ("demo_pipeline",))
    plain = FakeItem("c")
    added = []
    for item in (unmarked, marked, plain):
        item.add_marker = lambda mark, item=item: (added.append(item.nodeid), item.marks.add(mark.name))
    mark_slow([unmarked, marked, plain])
    assert added == ["a"] and kind(unmarked) == 1 and kind(plain) == 2


def test_chunk_sizes_cover_every_test_once():
    assert chunk_sizes(1517, 3) == [505, 506, 506]
    assert chunk_sizes(2, 3) == [0, 1, 1]
    assert sum(chunk_sizes(10_001, 7)) == 10_001


def test_auto_adds_a_worker_only_while_slow_tests_wait():
    from tests.scheduling import cores, pytest_xdist_auto_num_workers

    whole, fast = (SimpleNamespace(option=SimpleNamespace(markexpr=m)) for m in ("", "not slow"))
    assert pytest_xdist_auto_num_workers(whole) == cores() + 1
    assert pytest_xdist_auto_num_workers(fast) == cores()


@pytest.mark.parametrize(
    "policy, left", [("all", ["other", "pytest-2", "pytest-3", "pytest-4", "pytest-5"]), ("none", None)]
)
def test_the_early_clean_up_removes_only_what_pytest_would_remove_at_the_end(tmp_path, policy, left):
    from tests import scheduling

    root = tmp_path / "pytest-of-someone"
    for number in range(6):
        (root / f"pytest-{number}").mkdir(parents=True)
        (root / f"pytest-{number}" / "chip.tif").write_bytes(b"x")
    (root / "pytest-2" / ".lock").write_text("4242")  # a session still using it (pytest's lock, fresh)
    (root / "other").mkdir()  # not pytest's
    before = sorted(path.name for path in root.iterdir())
    settings = {"tmp_path_retention_policy": policy, "tmp_path_retention_count": "3"}
    config = SimpleNamespace(
        _tmp_path_factory=SimpleNamespace(getbasetemp=lambda: root / "pytest-5"),
        option=SimpleNamespace(basetemp=None),
        getini=settings.__getitem__,
    )
    scheduling.pytest_sessionstart(SimpleNamespace(config=config))
    scheduling.pytest_sessionfinish()
    assert sorted(path.name for path in root.iterdir()) == (left or before)
    assert (root / "pytest-5" / "chip.tif").exists()  # this session's own folder, whatever the policy
