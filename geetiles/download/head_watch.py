"""Noticing that Ray itself is gone, faster than Ray does, and ending the run cleanly.

When Ray's head dies mid-run (our local head's processes killed, a cluster's head machine lost),
Ray's client does not raise: its calls block or return nothing, and after
``gcs_rpc_server_reconnect_timeout_s`` (60 s) it ends the process from C++, with no chance to save
anything. So a watch thread decides first: our local head's process has exited, or the head's GCS
port has refused connections for ``REFUSED_S`` (or not answered at all for ``SILENT_S``). It then
runs the engine's salvage (the manifest written, every finished chip recorded), prints one line
saying what died and how to resume, and ends the process with exit status 1.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time

from geetiles.run_ending import end_run

log = logging.getLogger("geetiles.download")

POLL_S = 0.5
REFUSED_S = 3.0  # a head whose port refuses connections this long is dead (a restart would take longer)
SILENT_S = 20.0  # a head whose port does not answer at all this long is gone (a lost machine, a cut network)
CONNECT_TIMEOUT_S = 1.0


class HeadWatch:
    def __init__(
        self, what: str, address: tuple[str, int] | None, process=None, salvage=None, driver: int | None = None
    ) -> None:
        """``what`` names the head in the final line; ``address`` is its GCS (host, port);
        ``process`` the local head's Popen (its exit is the earliest sign); ``salvage()`` saves the
        run's work and returns what was kept, in words; ``driver`` is the thread running the stages
        (a library call ends the run there: ``geetiles.run_ending``)."""
        self.what, self.address, self.process, self.salvage = what, address, process, salvage
        self.driver = driver if driver is not None else threading.get_ident()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._fired = False  # the head was found dead: the process is being ended
        self._thread = threading.Thread(target=self._watch, name="ray-head-watch", daemon=True)

    def start(self) -> HeadWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        """The run ended (or is ending) on its own: stop watching before the head is shut down. If
        the head was already found dead, the watch is ending the process: wait for that instead."""
        with self._lock:
            if not self._fired:
                self._stop.set()
                return
        self._thread.join()

    def _watch(self) -> None:
        failing_since: float | None = None
        refused_since: float | None = None
        while not self._stop.wait(POLL_S):
            if self.process is not None and self.process.poll() is not None:
                self._dead(f"{self.what} ended ({_exit_text(self.process.returncode)})")
                return
            state = _probe(self.address) if self.address is not None else "ok"
            now = time.monotonic()
            if state == "ok":
                failing_since = refused_since = None
                continue
            failing_since = failing_since if failing_since is not None else now
            refused_since = (refused_since if refused_since is not None else now) if state == "refused" else None
            if refused_since is not None and now - refused_since >= REFUSED_S:
                self._dead(f"{self.what} stopped: its port {self.address[1]} refuses connections")
                return
            if now - failing_since >= SILENT_S:
                self._dead(f"{self.what} stopped answering for {SILENT_S:g} s")
                return

    def _dead(self, why: str) -> None:
        with self._lock:
            if self._stop.is_set():  # the run ended normally meanwhile (its own shutdown stops the head)
                return
            self._fired = True
        kept = ""
        try:
            if self.salvage is not None:
                kept = self.salvage() or ""
        except Exception as error:  # the journal on disk still holds every chip it had recorded
            log.warning("could not write the manifest before ending: %s", error)
        finally:
            kept = kept or "the chips finished so far are kept"
            end_run(f"{why} mid-run; {kept}; rerun the same command to resume", self.driver)


def _probe(address: tuple[str, int]) -> str:
    """``ok`` (accepts a connection), ``refused`` or ``silent`` (timeout, unreachable)."""
    try:
        with socket.create_connection(address, timeout=CONNECT_TIMEOUT_S):
            return "ok"
    except ConnectionRefusedError:
        return "refused"
    except OSError:
        return "silent"


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"
