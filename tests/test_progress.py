"""The progress names an endpoint outage, with the time it began, in log lines and in the bar."""

from __future__ import annotations

import logging
import time

from geetiles.progress import Progress


def test_an_outage_is_named_in_the_bar_and_cleared_when_it_ends():
    progress = Progress(10, "bar", "ds")
    since = time.time() - 5
    progress.outage(since)
    assert progress.bar.postfix == f"endpoint unreachable since {time.strftime('%H:%M:%S', time.localtime(since))}"
    progress.update(1, 0, 2)  # a chip finishing meanwhile keeps the note
    assert "endpoint unreachable since" in progress.bar.postfix
    progress.outage(0.0)
    assert "endpoint" not in progress.bar.postfix and "retries=2" in progress.bar.postfix
    progress.close()


def test_an_outage_is_logged_when_it_begins_and_ends_and_named_in_every_progress_line(caplog):
    caplog.set_level(logging.INFO, logger="geetiles.download")
    progress = Progress(10, "log", "ds", every_s=0)
    since = time.time() - 3
    progress.outage(since)
    stamp = time.strftime("%H:%M:%S", time.localtime(since))
    progress.update(1, 0, 0)
    progress.outage(0.0)
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == f"ds: endpoint unreachable since {stamp}; waiting for it to answer again"
    assert messages[1].endswith(f"0 failed, endpoint unreachable since {stamp}")
    assert messages[2].startswith("ds: endpoint reachable again after ")


def test_auto_is_a_bar_in_a_jupyter_kernel_and_log_lines_elsewhere(monkeypatch):
    import geetiles.progress as progress_module

    assert not progress_module.in_jupyter()  # pytest is no kernel
    assert Progress(3, "auto", "ds").mode == "log"  # captured stderr is no terminal
    monkeypatch.setattr(progress_module, "in_jupyter", lambda: True)
    progress = Progress(3, "auto", "ds")
    from tqdm.auto import tqdm

    assert progress.mode == "bar" and isinstance(progress.bar, tqdm)
    progress.close()
