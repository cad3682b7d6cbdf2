"""The error line is the last thing a console run writes on stderr, whatever a C++ thread writes after it."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow  # a child process: descriptor 2 of this one must stay as it is
def test_last_words_come_last_even_when_stderr_is_written_right_after():
    script = (
        "import os, sys, threading\n"
        "from geetiles.errors import last_words\n"
        "sys.stderr.write('before\\n')\n"
        "late = threading.Thread(target=lambda: [os.write(2, b'raylet complaint\\n') for _ in range(200)])\n"
        "late.start()\n"
        "last_words('geetiles: error: the one line')\n"
        "late.join()\n"
        "os.write(2, b'C++ teardown\\n')\n"
        "print('stdout still works')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    lines = result.stderr.splitlines()
    assert lines[0] == "before" and lines[-1] == "geetiles: error: the one line", lines
    assert "C++ teardown" not in result.stderr and result.stdout == "stdout still works\n"


def test_a_library_call_of_main_prints_the_line_and_keeps_stderr(capsys):
    from geetiles.cli.errors import exit_with
    from geetiles.errors import UserInputError

    with pytest.raises(SystemExit) as exited:
        exit_with(UserInputError("bad input; the fix"))
    assert exited.value.code == 2
    assert capsys.readouterr().err == "geetiles: error: bad input; the fix\n"
    print("still here", file=sys.stderr)
    assert capsys.readouterr().err == "still here\n"
