"""Progress of a long stage (download, proportions, export): a bar on a terminal or in a Jupyter notebook
(``tqdm.auto``: a notebook widget there), a log line every few seconds elsewhere."""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("geetiles.download")


class Progress:
    def __init__(self, total: int, mode: str, label: str, every_s: float = 10.0) -> None:
        if mode == "auto":
            mode = "bar" if _isatty(sys.stderr) or in_jupyter() else "log"
        self.mode, self.total, self.label, self.every_s = mode, total, label, every_s
        self.done = self.failed = self.retries = self.requests = 0
        self.unreachable_since = 0.0  # time.time() since when the endpoint refuses connections (0: it answers)
        self.started = self.last_log = time.monotonic()
        self.bar = None
        if mode == "bar":
            tqdm = _auto_tqdm()
            self.bar = tqdm(total=total, unit="chip", desc=label, dynamic_ncols=True, smoothing=0.1)

    def update(self, done: int, failed: int, retries: int, requests: int = 0) -> None:
        """``requests``: requests those chips cost (a coalesced download fetches several chips per request)."""
        self.requests += requests
        self.done += done
        self.failed += failed
        self.retries += retries
        if self.bar is not None:
            self.bar.update(done + failed)
            if not self.unreachable_since:
                counts = {"requests": self.requests} if self.requests else {}
                self.bar.set_postfix(**counts, retries=self.retries, failed=self.failed, refresh=False)
        elif self.mode == "log" and time.monotonic() - self.last_log >= self.every_s:
            self.last_log = time.monotonic()
            log.info("%s", self.line())

    @property
    def finished(self) -> int:
        return self.done + self.failed

    def waiting(self, what: str) -> None:
        """No chip finished for a while: say what the run waits for, so it never looks hung."""
        if self.bar is not None:
            self.bar.set_postfix_str(f"waiting: {what}"[:100])
        elif self.mode != "none":
            log.info("%s: waiting: %s", self.label, what)

    def outage(self, since: float) -> None:
        """The endpoint refuses connections since ``since`` (time.time()), or answers again (0)."""
        began, self.unreachable_since = self.unreachable_since, since
        if since:
            note = f"endpoint unreachable since {time.strftime('%H:%M:%S', time.localtime(since))}"
            if self.bar is not None:
                self.bar.set_postfix_str(note)
            elif self.mode != "none":
                log.warning("%s: %s; waiting for it to answer again", self.label, note)
        elif began:
            if self.bar is not None:
                self.bar.set_postfix(retries=self.retries, failed=self.failed)
            elif self.mode != "none":
                log.info("%s: endpoint reachable again after %.0f s", self.label, time.time() - began)

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        finished = self.done + self.failed
        rate = finished / elapsed if elapsed > 0 else 0.0
        eta = (self.total - finished) / rate if rate > 0 else float("inf")
        outage = (
            f", endpoint unreachable since {time.strftime('%H:%M:%S', time.localtime(self.unreachable_since))}"
            if self.unreachable_since
            else ""
        )
        requests = f" in {self.requests} requests" if self.requests else ""
        return (
            f"{self.label}: {finished}/{self.total} ({100 * finished / max(1, self.total):.0f}%), "
            f"{rate:.1f} chips/s{requests}, ETA {eta:.0f} s, {self.retries} retries, {self.failed} failed{outage}"
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed (a notebook's stream, a test's capture)
        return False


def in_jupyter() -> bool:
    """Whether this process is a Jupyter kernel (IPython's kernel app is running), where a notebook bar
    renders and terminal control characters do not."""
    ipython = sys.modules.get("IPython")
    if ipython is None or "ipykernel" not in sys.modules:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _auto_tqdm():
    """``tqdm.auto``'s class: a notebook widget in Jupyter (given ipywidgets), today's line on a terminal.
    Without ipywidgets it falls back to the text bar; its warning about that is not the run's business."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm
    return tqdm
