"""A local head that fails to start keeps the log its error message names, also after the run's own
ending stops the head again: the message would otherwise point at a file that is gone (the suite caught
it when the head took longer than ray.start_timeout_s to listen, on a loaded machine)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from geetiles.download.ray_cluster import LocalHead, _free_port
from geetiles.download.ray_head import KEEP_LOGS
from geetiles.errors import RunFailed


def stand_in_head(tmp_path, command: list[str]) -> LocalHead:
    """A LocalHead around ``command`` (a process of its own session, as the real head), with a folder
    laid out as ``LocalHead.spawn`` makes it, on a port nothing listens on."""
    folder = tmp_path / "geetiles-ray-standin"
    folder.mkdir()
    (folder / "head.log").write_text("Ray's start-up, cut short\n")
    process = subprocess.Popen(command, start_new_session=True)
    return LocalHead(process, _free_port(), folder)


@pytest.mark.slow  # starts a process
def test_a_head_that_does_not_listen_in_time_keeps_its_log_after_the_runs_ending(tmp_path):
    head = stand_in_head(tmp_path, [sys.executable, "-c", "import time; time.sleep(60)"])
    with pytest.raises(RunFailed, match="did not start within") as refused:
        head.wait_listening(time.monotonic() + 0.3, 0.3)
    assert str(head.log_path) in str(refused.value)
    head.stop()  # the run's ending (RayCluster.shutdown) stops it again, without keep_logs
    assert head.log_path.is_file() and (head.temp_dir / KEEP_LOGS).is_file()
    assert head.process.poll() is not None  # the head itself is ended all the same


@pytest.mark.slow  # starts a process
def test_a_head_that_exits_while_starting_keeps_the_log_its_message_names(tmp_path):
    head = stand_in_head(tmp_path, [sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(RunFailed, match=r"exited while starting \(exit 3\)") as refused:
        head.wait_listening(time.monotonic() + 30, 30)
    assert str(head.log_path) in str(refused.value)
    head.stop()
    assert head.log_path.is_file()


@pytest.mark.slow  # starts a process
def test_a_head_stopped_after_a_good_run_leaves_nothing(tmp_path):
    head = stand_in_head(tmp_path, [sys.executable, "-c", "import time; time.sleep(60)"])
    head.stop()
    assert not head.temp_dir.exists() and head.process.poll() is not None
