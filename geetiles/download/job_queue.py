"""The chips still to hand out, shared by the driver's dispatch loop and its bootstrap thread.

Chips are held as windows (slices) of the lazily built job list, so a million waiting chips cost a
few thousand slices, not a million job objects; chips given back (credentials refused, a hand-over,
an extra round after exhausted retries) are held as lists of jobs."""

from __future__ import annotations

import threading
from collections import deque

from geetiles.download.worker import ChipJob


class JobQueue:
    def __init__(self, jobs, window: int) -> None:
        """``jobs``: indexable by slice into lists of ChipJob (the engine's lazy job list)."""
        self.jobs, self.window = jobs, window
        self._windows: deque = deque(slice(i, i + window) for i in range(0, len(jobs), window))
        self._lock = threading.Lock()

    def take(self, count: int) -> list[ChipJob]:
        """Up to about ``count`` chips from the front (whole windows: at most one window more)."""
        taken: list[ChipJob] = []
        with self._lock:
            while len(taken) < count and self._windows:
                window = self._windows.popleft()
                taken.extend(self.jobs[window] if isinstance(window, slice) else window)
        return taken

    def put_front(self, jobs: list[ChipJob]) -> None:
        if jobs:
            with self._lock:
                self._windows.appendleft(list(jobs))

    def put_back(self, jobs: list[ChipJob]) -> None:
        if jobs:
            with self._lock:
                self._windows.append(list(jobs))

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._windows)
