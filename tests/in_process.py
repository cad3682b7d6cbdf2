"""``geet`` and ``python -m geetiles`` run inside the test process: faster than a child process, and
the exceptions are ours to see.

A command line holds process-wide state that a child process drops when it ends: the root logger's
handlers (Hydra points one at a file in its run folder, which a refused run then deletes; ``geet``
adds one to stderr), the levels of named loggers, ``os.environ`` (``HYDRA_FULL_ERROR``, Ray's quiet
defaults, ``OPENBLAS_NUM_THREADS``), Hydra's global state, ``sys.argv`` and the working directory.
Every run here starts as a fresh process would (no root handlers) and puts all of that back.
What a child process alone shows (its exit status as the OS sees it, output of C code on the file
descriptors, the fast exit) is left to the few tests that still use ``run_cli``."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Ran:
    """A finished command, with the names ``subprocess.CompletedProcess`` uses."""

    returncode: int
    stdout: str
    stderr: str


def run_in_process(command: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Ran:
    """``run_cli``'s twin: the command line ``geet_cmd(...)`` or ``geetiles_cmd(...)`` built, run in this
    process from ``cwd`` with ``env`` added to the environment, its output captured."""
    prog, args = _entry_point(command)
    if prog == "geet":
        from geetiles.cli import geet

        call: Callable[[], object] = lambda: geet.main(args)  # noqa: E731
    else:
        from geetiles.cli import app

        call = app.main
    out, err = io.StringIO(), io.StringIO()
    with as_a_fresh_process([prog, *args], cwd, env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = exit_status(call)
    return Ran(code, out.getvalue(), err.getvalue())


def _entry_point(command: Sequence[str]) -> tuple[str, list[str]]:
    """("geet" or "geetiles", arguments) of ``python -m geetiles[.cli.geet] ...`` or ``.../geet ...``."""
    if len(command) >= 3 and command[1] == "-m" and command[2] in ("geetiles", "geetiles.cli.geet"):
        return ("geetiles" if command[2] == "geetiles" else "geet"), list(command[3:])
    if command and Path(command[0]).name == "geet":
        return "geet", list(command[1:])
    raise ValueError(f"not a geet or python -m geetiles command line: {list(command)}")


def exit_status(call: Callable[[], object]) -> int:
    """The exit status a process running ``call`` would end with (as ``fast_exit`` computes it); any other
    exception is a bug and propagates with its traceback."""
    try:
        call()
    except SystemExit as stopped:
        if stopped.code is None or isinstance(stopped.code, int):
            return stopped.code or 0
        print(stopped.code, file=sys.stderr)
        return 1
    return 0


@contextlib.contextmanager
def as_a_fresh_process(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> Iterator[None]:
    """Run the body with ``sys.argv``, the working directory and ``env`` of a new process and a root logger
    without handlers; afterwards put back the logging setup, ``os.environ``, Hydra's globals, the argv and
    the directory as they were, and close the handlers the body added."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    loggers = {
        name: (logger.level, logger.disabled, logger.propagate, logger.handlers[:])
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    environ, saved_argv, saved_cwd = dict(os.environ), sys.argv[:], os.getcwd()
    hydra_was_initialised, hydra_cfg = GlobalHydra.instance().is_initialized(), HydraConfig.instance().cfg
    for handler in handlers:
        root.removeHandler(handler)
    os.environ.update(env or {})
    sys.argv[:] = argv
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        sys.argv[:] = saved_argv
        for key in set(os.environ) - set(environ):
            del os.environ[key]
        os.environ.update(environ)
        for handler in root.handlers[:]:
            root.removeHandler(handler)
            handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, (logger_level, disabled, propagate, logger_handlers) in loggers.items():
            logger = logging.getLogger(name)
            logger.setLevel(logger_level)
            logger.disabled, logger.propagate, logger.handlers[:] = disabled, propagate, logger_handlers
        if not hydra_was_initialised:
            GlobalHydra.instance().clear()
        HydraConfig.instance().cfg = hydra_cfg


def run_main(capsys, *args: str) -> tuple[int, str, str, float]:
    """(exit status, stdout, stderr, seconds) of ``python -m geetiles <args>`` in the current directory,
    its output read with ``capsys``."""
    from geetiles.cli import app

    started = time.perf_counter()
    with as_a_fresh_process(["geetiles", *args]):
        code = exit_status(app.main)
    seconds = time.perf_counter() - started
    captured = capsys.readouterr()
    return code, captured.out, captured.err, seconds


def run_geetiles(capsys, *args: str) -> tuple[int, str]:
    """(exit status, stderr) of ``python -m geetiles <args> hydra.run.dir=run``."""
    code, _, err, _ = run_main(capsys, *args, "hydra.run.dir=run")
    return code, err
