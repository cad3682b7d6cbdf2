"""The one way geetiles starts worker processes: a ``ProcessPoolExecutor`` whose workers die with
the process that made them.

Why: a plain pool's workers wait on their task pipe forever once their parent is gone, so a
``kill -9`` of a run (or an out-of-memory kill) left them alive for many minutes, holding memory
and files. Here each worker, as it starts, asks Linux to SIGKILL it when its parent dies
(``prctl(PR_SET_PDEATHSIG)``, as the Ray head does in ``download/ray_head.py``) and also polls, once
a second, that its parent and the process that made the pool still live (kernels without prctl, and
the forkserver, which sits between the two). Workers are started with ``forkserver``: the calling
process may hold threads (Ray, a download's event loop) that ``fork`` would copy half-way.

It also tells whether a process recorded earlier (its pid and start time) still runs, so folders
left by a killed run can be told from those of a live one (``geetiles/destinations.py``).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1
POLL_S = 1.0


def process_pool(workers: int, start_method: str = "forkserver") -> ProcessPoolExecutor:
    """A pool of ``workers`` processes that end when this process ends, however it ends."""
    owner = os.getpid()
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context(start_method),
        initializer=die_with_owner,
        initargs=(owner, process_started(owner)),
    )


def die_with_owner(owner: int, owner_started: int | None) -> None:
    """In a worker: SIGKILL this process when its parent dies (the owner, or the forkserver between
    them), and when the owner is gone, whichever is noticed first."""
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the poll below still ends it
        pass
    if os.getppid() != parent or not process_alive(owner, owner_started):  # gone before the prctl took effect
        os.kill(os.getpid(), signal.SIGKILL)

    def watch() -> None:
        while os.getppid() == parent and process_alive(owner, owner_started):
            time.sleep(POLL_S)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="owner-watch", daemon=True).start()


def process_started(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (Linux ``/proc``), or None when it
    cannot be read (no such process, not Linux). With the pid it names one process for good: a
    reused pid has another start time."""
    state = _proc_stat(pid)
    return state[1] if state else None


def process_alive(pid: int, started: int | None = None) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not yet reaped, does not), and, when
    ``started`` is known, is the same process (not a later one that reused the pid)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    state = _proc_stat(pid)
    if state is None:  # on Linux it ended just now; elsewhere os.kill is all there is to know
        return not os.path.isdir("/proc/self")
    return state[0] not in ("Z", "X") and (started is None or state[1] == started)


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks since boot) from ``/proc/{pid}/stat``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            text = file.read()
    except OSError:
        return None
    fields = text[text.rfind(b")") + 2 :].split()  # after the command name, which may hold spaces and ')'
    try:
        return fields[0].decode("ascii", "replace"), int(fields[19])  # fields 3 and 22 of proc(5)
    except (IndexError, ValueError):
        return None
