"""How a run is ended from a watch thread (Ray's head lost, ``ray.init`` stuck): a console command
prints its one line and ends the process (``os._exit``: Ray's client would otherwise end it later, from
C++, with nothing saved); a library call (``geetiles.run`` in a notebook) must never end or silence the
user's interpreter, so the driver thread gets a :class:`~geetiles.errors.RunFailed` raised in it instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from collections.abc import Callable, Iterator

from geetiles.errors import RunFailed, last_words

_LIBRARY_CALLS = {"depth": 0}
_LOCK = threading.Lock()


@contextlib.contextmanager
def library_call() -> Iterator[None]:
    """While in this block, runs end by raising in their driver thread, not by ending the process."""
    with _LOCK:
        _LIBRARY_CALLS["depth"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _LIBRARY_CALLS["depth"] -= 1


def in_library_call() -> bool:
    return _LIBRARY_CALLS["depth"] > 0


def end_run(message: str, driver: int | None) -> None:
    """End the run with ``message`` (without the ``geetiles: error:`` prefix): in a console command, as its
    last line and exit status 1; in a library call, as a RunFailed raised in thread ``driver`` (the thread
    that runs the stages) once it next runs Python code."""
    if not in_library_call() or driver is None:
        end_process(message)
        return  # os._exit never returns, unless a test stands in for it
    raise_in_thread(driver, message)


def end_process(message: str, then: Callable[[], object] | None = None) -> None:
    """Print ``message`` as the console command's last line, run ``then`` (e.g. stopping Ray's head, which
    may make Ray's C++ client end the process at once: the line is out before), exit with status 1."""
    last_words(f"geetiles: error: {message}")
    try:
        if then is not None:
            then()
    finally:
        os._exit(1)


def raise_in_thread(thread_id: int, message: str) -> bool:
    """Raise a RunFailed saying ``message`` in thread ``thread_id`` (CPython's asynchronous exception);
    False when that thread is gone. The exception must be a class: a subclass carries the message."""
    failure = type("RunFailed", (RunFailed,), {"__init__": lambda self, *_: RunFailed.__init__(self, message)})
    failure.__module__ = RunFailed.__module__
    done = ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(failure))
    return done == 1
