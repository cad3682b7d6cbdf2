"""``python -m geetiles`` run inside the test process (faster than a child process, and the
exceptions are ours to see), leaving the process's logging as it found it."""

from __future__ import annotations

import logging
import sys

from geetiles.cli import app


def run_geetiles(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """(exit status, stderr) of ``python -m geetiles <args> hydra.run.dir=run`` in the current directory.
    Hydra points the root logger at a file in its run folder, which a refused run then deletes: the
    root logger's handlers and level are put back, so later tests do not log into a removed file."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    monkeypatch.setattr(sys, "argv", ["geetiles", *args, "hydra.run.dir=run"])
    try:
        app.main()
        code = 0
    except SystemExit as stopped:
        code = stopped.code
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
    return code, capsys.readouterr().err
