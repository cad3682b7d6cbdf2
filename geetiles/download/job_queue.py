"""The chips still to hand out, shared by the driver's dispatch loop and its bootstrap thread.

Chips to fetch are read from the tiles file as they are handed out (``JobStream``), so a million
waiting chips cost a byte each (the to-fetch flag), not a job object each; chips given back
(credentials refused, a hand-over, an extra round after exhausted retries) are held as lists."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from geetiles.download.blocks import cell_order
from geetiles.download.messages import ChipJob


class JobStream:
    """The chips of a ChipTable to fetch (``todo``: a flag per chip), in the table's order or in
    ``order`` (positions; a shuffled download), built into ChipJobs a batch at a time.

    With ``cells`` (``blocks.cell_keys`` bound to the run's limits), chips are tagged with their
    cell and handed out cell by cell, whole cells per batch, so a worker gets each cell's chips
    still to fetch together and fetches them in blocks (a shuffled download is not coalesced)."""

    def __init__(self, chips, directory: Path, todo: np.ndarray, order: np.ndarray | None = None, cells=None) -> None:
        self.chips, self.directory, self.todo, self.order = chips, directory, todo, order
        self.cells = cells if order is None else None
        self._count = int(todo.sum()) if order is None else len(order)

    def __len__(self) -> int:
        return self._count

    def batches(self, size: int) -> Iterator[list[ChipJob]]:
        if self.order is not None:
            yield from self._shuffled(size)
            return
        for window in self.chips.windows():
            rows = np.flatnonzero(self.todo[window.start : window.start + len(window)])
            if self.cells is None:
                rows = rows.tolist()
                for i in range(0, len(rows), size):
                    yield [window.job(row, self.directory) for row in rows[i : i + size]]
                continue
            yield from self._by_cell(window, rows, size)

    def _by_cell(self, window, rows: np.ndarray, size: int) -> Iterator[list[ChipJob]]:
        keys = self.cells(window.grids.subset(rows))
        batch: list[ChipJob] = []
        for i in cell_order(keys):
            if len(batch) >= size and (keys[i] is None or keys[i] != batch[-1].block):
                yield batch
                batch = []
            batch.append(window.job(int(rows[i]), self.directory)._replace(block=keys[i]))
        if batch:
            yield batch

    def chips_per_request(self) -> float:
        """Chips a request fetches on average over the first window's chips to fetch (1 uncoalesced):
        the driver sizes workers' shares and batches in chips by it, so they stay in requests."""
        if self.cells is None or not self._count:
            return 1.0
        window = self.chips.first()
        rows = np.flatnonzero(self.todo[window.start : window.start + len(window)])
        keys = self.cells(window.grids.subset(rows))
        requests = len({k for k in keys if k is not None}) + sum(k is None for k in keys)
        return max(1.0, len(keys) / max(1, requests))

    def _shuffled(self, size: int) -> Iterator[list[ChipJob]]:
        """Any chip may come next: every window is held (about 130 bytes a chip; opt-in)."""
        windows = list(self.chips.windows())
        starts = np.asarray([window.start for window in windows], dtype=np.int64)
        for i in range(0, len(self.order), size):
            positions = self.order[i : i + size]
            which = np.searchsorted(starts, positions, side="right") - 1
            yield [
                windows[w].job(p - windows[w].start, self.directory) for p, w in zip(positions.tolist(), which.tolist())
            ]


class JobQueue:
    def __init__(self, jobs: JobStream | Sequence[ChipJob], window: int) -> None:
        """``jobs``: a JobStream, or a plain list of jobs; handed out ``window`` chips at a time."""
        self.window = window
        if isinstance(jobs, JobStream):
            self._stream = jobs.batches(window)
        else:
            self._stream = (list(jobs[i : i + window]) for i in range(0, len(jobs), window))
        self._left = len(jobs)  # chips the stream has not yet given
        self._front: deque[list[ChipJob]] = deque()
        self._back: deque[list[ChipJob]] = deque()
        self._lock = threading.Lock()

    def take(self, count: int) -> list[ChipJob]:
        """Up to about ``count`` chips from the front (whole windows: at most one window more)."""
        taken: list[ChipJob] = []
        with self._lock:
            while len(taken) < count:
                if self._front:
                    taken.extend(self._front.popleft())
                elif self._left:
                    batch = next(self._stream, [])
                    self._left = self._left - len(batch) if batch else 0
                    taken.extend(batch)
                elif self._back:
                    taken.extend(self._back.popleft())
                else:
                    break
        return taken

    def put_front(self, jobs: list[ChipJob]) -> None:
        if jobs:
            with self._lock:
                self._front.appendleft(list(jobs))

    def put_back(self, jobs: list[ChipJob]) -> None:
        if jobs:
            with self._lock:
                self._back.append(list(jobs))

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._front or self._left or self._back)
