"""The fast exit runs the atexit handlers itself, through atexit's private ``_run_exitfuncs``; these
tests fail if that name goes or stops running (and clearing) the handlers."""

import subprocess
import sys

import pytest

SCRIPT = """
import atexit, os
from geetiles.cli.fast_exit import run_exit_handlers
atexit.register(print, "first handler ran", flush=True)
atexit.register(print, "second handler ran", flush=True)
run_exit_handlers()
print("after", flush=True)
run_exit_handlers()  # cleared: nothing runs twice
os._exit(0)
"""


@pytest.mark.slow
def test_run_exit_handlers_runs_each_handler_once_last_registered_first():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["second handler ran", "first handler ran", "after"]


@pytest.mark.slow
def test_run_then_exit_keeps_the_exit_status_and_runs_the_handlers():
    script = (
        "import atexit, sys\nfrom geetiles.cli.fast_exit import run_then_exit\n"
        "atexit.register(print, 'handler ran', flush=True)\n"
        "run_then_exit(lambda: sys.exit(3))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert done.stdout.splitlines() == ["handler ran"]
