"""Ending a command-line run without the interpreter's teardown.

Once a command has finished (files written and renamed into place, Ray shut down, logs flushed),
CPython's finalisation still frees every module and runs the static destructors of Ray's and
gRPC's C++ libraries: about 0.7 s here, spent after the work is done. Console entry points run the
command, then the atexit handlers, flush, and end the process with its exit status. Library calls
of ``main()`` (tests, notebooks) are unaffected."""

from __future__ import annotations

import atexit
import logging
import os
import sys
from collections.abc import Callable

from geetiles.errors import quiet_stderr

_CONSOLE = {"active": False}


def console_run() -> bool:
    """Whether this process is a console command that ends right after ``main`` (so its error line may
    silence stderr for good), not a library call of ``main()`` (tests, notebooks)."""
    return _CONSOLE["active"]


def run_then_exit(main: Callable[[], object]) -> None:
    _CONSOLE["active"] = True
    try:
        main()
        code = 0
    except SystemExit as exit:
        code = _status(exit.code)
    # anything else is a bug: it propagates with its traceback through the normal teardown
    if code != 0:  # the one error line is out: what Ray's C++ teardown prints after it is not shown
        sys.stderr.flush()
        quiet_stderr()
    run_exit_handlers()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def run_exit_handlers() -> None:
    """Run (and clear) the atexit handlers now, as the interpreter does at its exit: Ray's shutdown,
    logging's flush. ``atexit`` has no public call for it; this is the one place that uses the private
    one (tests/cli/test_fast_exit.py fails if it goes)."""
    atexit._run_exitfuncs()


def _status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # SystemExit("message"), as the interpreter would print it
    return 1
