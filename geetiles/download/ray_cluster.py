"""Reaching Ray: a local head of our own (loopback only, shut down at the end), an existing cluster
(``auto``, ``host:port``, ``ray://host:port``), or the Ray this process already joined (tests,
notebooks), left as it was. Every wait is bounded by ``ray.start_timeout_s``.

A local head is spawned by ``launch()`` before the driver starts any thread of its own, and joined
by ``connect()`` later; see ``ray_head.py`` for why it is a process of its own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from geetiles.download.ray_head import KEEP_LOGS, remove_head_folder
from geetiles.download.ray_token import warn_if_exposed
from geetiles.errors import RunFailed, UserInputError
from geetiles.run_ending import end_process, end_run, in_library_call

log = logging.getLogger("geetiles.download")

# No network but the configured endpoint: Ray's usage reporting and metrics stay off unless asked for.
QUIET_DEFAULTS = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_enable_metrics_collection": "0"}
# What a local head always gets, whatever the environment holds: every socket on loopback, a quick
# shutdown (no Serve drain wait) when the run ends.
LOCAL_HEAD_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",
    "RAY_NODE_IP_ADDRESS": "127.0.0.1",
}
_ADDRESS = re.compile(r"^(auto|(ray://)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9][A-Za-z0-9.\-]*):\d{1,5})$")


def check_address(address: str) -> None:
    """``ray.address`` must be empty, ``auto``, ``host:port`` or ``ray://host:port``."""
    if address and not _ADDRESS.match(address):
        raise UserInputError(
            f"ray.address={address!r} is not a Ray address; leave it empty for a local Ray, "
            "or give auto, host:port or ray://host:port"
        )
    if address and address != "auto" and not 0 < int(address.rsplit(":", 1)[1]) < 65536:
        raise UserInputError(f"ray.address={address!r} has no valid port (1-65535)")


JOINED_RAY_RESTING: list = []  # (node, actor): the download workers this process left on a Ray it had joined


class RayCluster:
    def __init__(self, address: str, num_cpus: int | None, start_timeout_s: float = 60.0) -> None:
        check_address(address)
        self.address = address
        self.num_cpus = num_cpus
        self.start_timeout_s = start_timeout_s
        self._owned = False
        self._head: LocalHead | None = None
        self.resting_workers: list = []  # (node, actor): download workers kept for the next download on this Ray
        self.joined = False  # this process had Ray before the run (a notebook's, the tests'): it outlives the run
        self._start_watch: _Watchdog | None = None  # once expired, the error names the head's log: it is kept
        # one stop of the head at a time: a watch thread ending the process waits for the driver's stop in
        # progress (else the head outlives the driver, and as an orphan removes the log the error names)
        self._stopping = threading.RLock()

    def will_start_local(self) -> bool:
        """True when connect() is going to start a new local Ray (seconds), not join one."""
        ray = sys.modules.get("ray")
        return not self.address and (ray is None or not ray.is_initialized())

    def launch(self) -> None:
        """Spawn the local head now (returns at once); call before starting any thread."""
        if self._head is None and self.will_start_local():
            _loopback_driver()
            self._head = LocalHead.spawn(self.num_cpus)

    def head_starting(self) -> bool:
        """A local head that ``launch()`` spawned is still starting: neither listening nor exited."""
        head = self._head
        return head is not None and not self._owned and head.process.poll() is None and not head.listening()

    def connect(self, salvage=None):
        """Start or join Ray (unless this process already has it); return the ``ray`` module.
        Raises RunFailed, with what to try, when Ray is not up within ``start_timeout_s``; if Ray's
        client does not even return then, ``salvage()`` saves the run's work before the process ends."""
        import ray

        if ray.is_initialized():
            self.joined = True
            self.resting_workers = JOINED_RAY_RESTING  # kept for this process's next run on that Ray
            return ray
        for key, value in QUIET_DEFAULTS.items():
            os.environ.setdefault(key, value)
        logging.getLogger("ray").setLevel(logging.ERROR)
        warn_if_exposed()
        deadline = time.monotonic() + self.start_timeout_s
        if not self.address:
            self.launch()
            address = self._head.wait_listening(deadline, self.start_timeout_s)
            what = "the local Ray"
            hint = (
                "the machine may be short of memory or /tmp space; see "
                + str(self._head.log_path)
                + ", or raise ray.start_timeout_s"
            )
            init = dict(address=address, _node_ip_address="127.0.0.1")
        else:
            _check_reachable(self.address, deadline)
            what = f"Ray at ray.address={self.address!r}"
            hint = (
                "check that the cluster is up and this machine may reach it, or leave ray.address empty for a local Ray"
            )
            init = dict(address=self.address)
        late = f"{what} did not start within ray.start_timeout_s={self.start_timeout_s:g} s; {hint}"
        self._start_watch = _Watchdog(
            deadline, late, on_expiry=lambda: self._kill_head(keep_logs=True), salvage=salvage
        )
        with self._start_watch as watchdog:
            try:
                ray.init(log_to_driver=False, configure_logging=False, **init)
            except (ConnectionError, RuntimeError, ValueError, TimeoutError) as error:
                self._kill_head(keep_logs=True)
                if watchdog.expired:
                    raise RunFailed(late) from None
                raise RunFailed(f"cannot start or reach {what}: {' '.join(str(error).split())[:200]}; {hint}") from None
        if watchdog.expired:  # came up, but only as its head was being stopped
            ray.shutdown()
            raise RunFailed(late)
        self._owned = True
        return ray

    def watch_head(self, salvage):
        """A started HeadWatch on the head this run connected to (ending the run with one line if it
        dies), or None for a Ray the caller had joined before (a notebook's: not ours to end)."""
        if not self._owned:
            return None
        from geetiles.download.head_watch import HeadWatch

        if self._head is not None:
            head = self._head

            def salvage_then_stop():  # the lost head's daemons and folder go too: no message names its logs
                try:
                    return salvage()
                finally:
                    self._kill_head()

            return HeadWatch("the local Ray head", ("127.0.0.1", head.port), head.process, salvage_then_stop).start()
        address = self.address.removeprefix("ray://")
        try:
            if address == "auto":
                import ray

                address = ray.get_runtime_context().gcs_address
            host, port = address.rsplit(":", 1)
            target = (host.strip("[]"), int(port))
        except Exception as error:  # no address to watch: Ray's own timeouts still end the run
            log.warning("cannot watch the Ray head (%s); a lost head is noticed by Ray itself, after 60 s", error)
            return None
        return HeadWatch(f"the Ray cluster's head at {address}", target, None, salvage).start()

    def cpus(self) -> int:
        import ray

        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def shutdown(self) -> None:
        """Leave the Ray this run connected to and stop the head it started. Also when an interrupt (a
        kernel's stop button) landed between ``ray.init`` returning and the run owning it: a Ray joined
        to the head this run launched is ours, and left connected it would be a dead Ray to the next run."""
        ray = sys.modules.get("ray")
        resting, self.resting_workers = ([], self.resting_workers) if self.joined else (self.resting_workers, [])
        for _, actor in resting if ray is not None and ray.is_initialized() else ():
            try:  # workers on a Ray that ends (ours) or is left (a cluster's) end too
                ray.kill(actor, no_restart=True)
            except Exception:  # already gone
                pass
        joined_ours = self._head is not None and ray is not None and ray.is_initialized()
        if self._owned or joined_ours:
            ray.shutdown()
            self._owned = False
        self._kill_head()

    def _kill_head(self, keep_logs: bool = False) -> None:
        with self._stopping:
            head, self._head = self._head, None
            if head is not None:
                late = self._start_watch is not None and self._start_watch.expired  # whoever stops it, once late
                head.stop(keep_logs or late)


class LocalHead:
    """``python -m geetiles.download.ray_head``: Ray's daemons, forked from a process of their own."""

    def __init__(self, process: subprocess.Popen, port: int, temp_dir: Path) -> None:
        self.process, self.port, self.temp_dir = process, port, temp_dir
        self.log_path = temp_dir / "head.log"

    @classmethod
    def spawn(cls, num_cpus: int | None) -> LocalHead:
        port = _free_port()
        # ours, 0700: Ray's own temp dir goes inside, because Ray chmods the folders it makes 0777
        temp_dir = Path(tempfile.mkdtemp(prefix="geetiles-ray-", dir="/tmp" if os.path.isdir("/tmp") else None))
        command = [
            sys.executable,
            "-m",
            "geetiles.download.ray_head",
            "--port",
            str(port),
            "--parent",
            str(os.getpid()),
            "--temp-dir",
            str(temp_dir / "ray"),
        ]
        if num_cpus:
            command += ["--num-cpus", str(num_cpus)]
        env = {**os.environ, **QUIET_DEFAULTS, **LOCAL_HEAD_ENV}
        env.pop("RAY_ADDRESS", None)
        # no preexec_fn: CPython spawns with vfork + exec, so no Python code or fork handler runs in between;
        # a session of its own, so stop() can end the head and every daemon it forked in one signal
        with open(os.open(temp_dir / "head.log", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as log_file:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                close_fds=True,
                start_new_session=True,
            )
        return cls(process, port, temp_dir)

    def wait_listening(self, deadline: float, timeout_s: float) -> str:
        """The head's GCS address once it accepts connections; RunFailed if it exits or time runs out."""
        address = f"127.0.0.1:{self.port}"
        while True:
            if self.process.poll() is not None:
                self.stop(keep_logs=True)  # the message names the log: kept, and any daemon left ended
                raise RunFailed(
                    f"the local Ray exited while starting (exit {self.process.returncode}): "
                    f"{self.last_error()}; full log: {self.log_path}"
                )
            if self.listening():
                return address
            if time.monotonic() >= deadline:
                self.stop(keep_logs=True)
                raise RunFailed(
                    f"the local Ray did not start within ray.start_timeout_s={timeout_s:g} s; the machine "
                    f"may be short of memory or /tmp space (log: {self.log_path}), or raise ray.start_timeout_s"
                )
            time.sleep(0.05)

    def listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def last_error(self) -> str:
        try:
            lines = [line.strip() for line in self.log_path.read_text(errors="replace").splitlines() if line.strip()]
        except OSError:
            return "no log"
        errors = [line for line in lines if "error" in line.lower()]
        return " ".join((errors or lines or ["no output"])[-1].split())[:200]

    def stop(self, keep_logs: bool = False, grace_s: float = 10.0) -> None:
        """End the head and Ray's daemons. After a run (the driver has left Ray) nothing in them is
        worth keeping, so the whole process group is killed at once: Ray's own graceful stop takes
        about 2-3 s. On a failure (``keep_logs``) the head gets SIGTERM first, so its daemons flush
        the logs an error message points at, and they stay when the run ends (``KEEP_LOGS``: a later
        stop, the run's own, removes nothing). Ray's workers are not in the group: they end when their
        raylet does."""
        if keep_logs:
            with contextlib.suppress(OSError):
                (self.temp_dir / KEEP_LOGS).touch()
        if self.process.poll() is None and keep_logs:
            self.process.terminate()
            try:
                self.process.wait(grace_s)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # the head's session: itself, gcs_server, raylet, agents
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass
        if not keep_logs and not (self.temp_dir / KEEP_LOGS).exists():
            remove_head_folder(self.temp_dir)


class _Watchdog:
    """Bounds a call that cannot be interrupted (``ray.init`` blocked in C++). Past the deadline, in a
    console command, it runs ``salvage`` (the engine stops its own fetching and writes the manifest),
    prints ``message``, runs ``on_expiry`` (stopping the local head) and ends the process with exit
    status 1. In a library call it runs ``on_expiry`` first, which may make the call fail and return,
    so the run ends as any failed run; if the call has not returned after a grace period, it salvages
    and raises ``message`` in the driver thread. Either way every finished chip is kept and recorded."""

    GRACE_S = 5.0

    def __init__(self, deadline: float, message: str, on_expiry=None, salvage=None) -> None:
        self.deadline, self.message, self.on_expiry, self.salvage = deadline, message, on_expiry, salvage
        self.expired = False
        self._done = threading.Event()

    def __enter__(self) -> _Watchdog:
        self._driver = threading.get_ident()
        self._thread = threading.Thread(target=self._watch, name="ray-start-watchdog", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()

    def _watch(self) -> None:
        if self._done.wait(max(0.0, self.deadline - time.monotonic())):
            return
        self.expired = True
        if not in_library_call():
            # a console command: Ray's C++ client ends the process at once (status 1, nothing saved, its
            # own line last) if the raylet goes while it registers, so save and say first, then stop the head
            self._save()
            end_process(self.message, then=self.on_expiry)
            return  # os._exit never returns, unless a test stands in for it
        if self.on_expiry is not None:
            self.on_expiry()
        if self._done.wait(self.GRACE_S):
            return
        self._save()
        end_run(self.message, self._driver)

    def _save(self) -> None:
        try:
            if self.salvage is not None:
                self.salvage()
        except Exception as error:  # the journal on disk still holds every finished chip
            log.warning("could not write the manifest before ending: %s", error)


def _loopback_driver() -> None:
    """Make this process's Ray client treat 127.0.0.1 as this node's address. Ray otherwise rewrites
    a loopback address to the machine's routable one before connecting (and binds the driver's own
    server there), which a head listening on loopback only never answers. Ray reads the setting at
    import, so an already imported Ray gets the constant set too."""
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None:
        constants.ENABLE_RAY_CLUSTER = False
    _token_authentication()


def _token_authentication() -> None:
    """Token authentication on for the local head and this driver alike, unless the user's own
    environment says ``RAY_AUTH_MODE=disabled`` (geetiles never switches it off). The head inherits
    this environment; a Ray already imported re-reads its config."""
    mode = os.environ.get("RAY_AUTH_MODE") or "token"
    os.environ["RAY_AUTH_MODE"] = mode
    if mode == "token" and "ray" in sys.modules:  # Ray caches its config at import: make it re-read the mode
        try:
            from ray._raylet import Config
        except ImportError:
            return
        Config.initialize("")  # what Ray 2.59+'s own _enable_token_auth does; Ray 2.52-2.58 lack that helper


def _check_reachable(address: str, deadline: float) -> None:
    """A host:port that refuses or does not answer fails now, with one line, not after Ray's retries."""
    if address == "auto":
        return
    host, port = address.removeprefix("ray://").rsplit(":", 1)
    host = host.strip("[]")
    try:
        with socket.create_connection((host, int(port)), timeout=max(0.1, min(10.0, deadline - time.monotonic()))):
            return
    except OSError as error:
        raise RunFailed(
            f"Ray at ray.address={address!r} does not answer ({error.strerror or error}); check that the "
            "cluster is up and reachable from here, or leave ray.address empty for a local Ray"
        ) from None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
