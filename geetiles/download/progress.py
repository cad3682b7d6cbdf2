"""Progress of a long download: a bar on a terminal, a log line every few seconds elsewhere."""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("geetiles.download")


class Progress:
    def __init__(self, total: int, mode: str, label: str, every_s: float = 10.0) -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.mode, self.total, self.label, self.every_s = mode, total, label, every_s
        self.done = self.failed = self.retries = 0
        self.started = self.last_log = time.monotonic()
        self.bar = None
        if mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="chip", desc=label, dynamic_ncols=True, smoothing=0.1)

    def update(self, done: int, failed: int, retries: int) -> None:
        self.done += done
        self.failed += failed
        self.retries += retries
        if self.bar is not None:
            self.bar.update(done + failed)
            self.bar.set_postfix(retries=self.retries, failed=self.failed, refresh=False)
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

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        finished = self.done + self.failed
        rate = finished / elapsed if elapsed > 0 else 0.0
        eta = (self.total - finished) / rate if rate > 0 else float("inf")
        return (f"{self.label}: {finished}/{self.total} ({100 * finished / max(1, self.total):.0f}%), "
                f"{rate:.1f} chips/s, ETA {eta:.0f} s, {self.retries} retries, {self.failed} failed")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
