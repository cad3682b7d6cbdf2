"""``python -m geetiles`` run inside the test process (faster than a child process, and the
exceptions are ours to see), leaving the process's logging as it found it."""

from __future__ import annotations

import logging
import sys
import time

from geetiles.cli import app


def run_main(monkeypatch, capsys, *args: str) -> tuple[int, str, str, float]:
    """(exit status, stdout, stderr, seconds) of ``python -m geetiles <args>`` in the current directory.
    Hydra points the root logger at a file in its run folder, which a refused run then deletes: the
    root logger's handlers and level are put back, so later tests do not log into a removed file."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    monkeypatch.setattr(sys, "argv", ["geetiles", *args])
    started = time.perf_counter()
    try:
        app.main()
        code = 0
    except SystemExit as stopped:
        code = stopped.code
    finally:
        seconds = time.perf_counter() - started
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
    captured = capsys.readouterr()
    return code, captured.out, captured.err, seconds


def run_geetiles(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """(exit status, stderr) of ``python -m geetiles <args> hydra.run.dir=run``."""
    code, _, err, _ = run_main(monkeypatch, capsys, *args, "hydra.run.dir=run")
    return code, err
