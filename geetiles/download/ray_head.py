"""A local Ray head in a process of its own: ``python -m geetiles.download.ray_head --port P ...``.

Why a separate process: starting Ray forks its daemons with a Python ``preexec_fn``, i.e. a real
``fork()`` whose at-fork handlers run in the forking process. Done inside the driver while its own
threads fetch or render chips, that deadlocked (OpenBLAS's fork handler against a matrix product in
flight) or left OpenBLAS spinning forever. Here the driver only spawns this process (vfork + exec,
no Python code and no at-fork handler between them) before it starts any thread, and Ray forks its
daemons from this fresh single-threaded process. The driver then joins it by address, which starts
no process at all.

Everything Ray's daemons write is private (umask 077, see ``private_files``); the token is made
readable by its owner only (``ray_token``).

It runs ``ray start --head --block`` bound to 127.0.0.1, and ends (taking Ray's daemons with it,
through Ray's own SIGTERM handler) when the driver ends, however the driver ends: Linux delivers
SIGTERM to it on the driver's death (PR_SET_PDEATHSIG), it polls its parent as a fallback, and a
``/bin/sh`` watcher ends it when its Python can no longer run (``watch_from_outside``).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

from geetiles.download.ray_token import ensure_token

PR_SET_PDEATHSIG = 1
REMOVE_ATTEMPTS, REMOVE_PAUSE_S = 10, 0.5  # an orphaned head's folder: removed within about 5 s
# written by a driver that stops its head to keep its logs: the error it prints names them, and the
# driver may not outlive the stop (Ray's C++ client can end it at once), so the head must not remove them
KEEP_LOGS = "keep-logs"
DYING_BOUND_S = 5.0  # a killed driver's threads end within milliseconds
ORPHAN_GRACE_S = 10.0  # for Ray's own SIGTERM handler to stop its daemons, before the watch does
USER_UMASK_ENV = "GEETILES_USER_UMASK"
_ENDING = threading.Lock()


def die_with_parent(parent: int, temp_dir: str) -> None:
    """SIGTERM to this process when ``parent`` dies (the kernel's, or the watch's where prctl failed).
    Ray's SIGTERM handler is Python code: while Ray's start-up blocks in C++ (joining a GCS that the
    driver's death took down), it never runs, so past ``ORPHAN_GRACE_S`` the watch ends the head's
    process group and removes its folder itself."""
    try:
        signalled_by_kernel = ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0
    except (OSError, AttributeError):
        signalled_by_kernel = False
    if os.getppid() != parent:  # the driver died before the prctl took effect (main's leave() cleans up)
        sys.exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        if not signalled_by_kernel:  # a second SIGTERM could cut short the orphan's own ending
            os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(ORPHAN_GRACE_S)  # still running: Ray's handler could not run
        end_orphan(parent, temp_dir)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    watch_from_outside(parent, temp_dir)


# /bin/sh, no Python: $1 driver, $2 head, $3 folder ('' when not ours to remove), $4 grace (s), $5 KEEP_LOGS
OUTSIDE_WATCH = r"""
while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
kill -0 "$2" 2>/dev/null || exit 0
sleep "$4"
kill -0 "$2" 2>/dev/null || exit 0
kill -KILL -"$2" 2>/dev/null || kill -KILL "$2" 2>/dev/null  # dash: no --
[ -n "$3" ] || exit 0
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    [ -e "$3/$5" ] && exit 0
    rm -rf -- "$3"
    [ -e "$3" ] || exit 0
    sleep 1
done
"""


def watch_from_outside(parent: int, temp_dir: str) -> None:
    """A watcher in a process (and session) of its own, in /bin/sh: when the driver is gone and this head
    still runs ``ORPHAN_GRACE_S`` later, it kills the head's group and removes its folder. The watch
    thread cannot do that while the main thread is blocked in C code that keeps the GIL (Ray's start-up
    joining a GCS that died with the driver: CI caught a head stuck so, its folder left in /tmp). It ends
    by itself once the head has ended; a head whose driver lives never hears from it."""
    folder = os.path.dirname(os.path.abspath(temp_dir))
    ours = os.path.basename(folder).startswith("geetiles-ray-")
    arguments = [str(parent), str(os.getpid()), folder if ours else "", f"{ORPHAN_GRACE_S:g}", KEEP_LOGS]
    subprocess.Popen(
        ["/bin/sh", "-c", OUTSIDE_WATCH, "geetiles-head-watch", *arguments],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
        start_new_session=True,
    )


def end_orphan(parent: int, temp_dir: str) -> None:
    """SIGKILL to every other process of this head's group (Ray's daemons), its folder removed, exit 1.
    Only a head that leads its group (as ``LocalHead`` starts it, a session of its own) signals it.
    One caller at a time (main's ``finally`` and the watch may both come): the other waits for the exit."""
    _ENDING.acquire()
    group = os.getpgid(0)
    for pid in filter(str.isdigit, os.listdir("/proc")) if group == os.getpid() else ():
        try:
            if int(pid) != os.getpid() and os.getpgid(int(pid)) == group:
                os.kill(int(pid), signal.SIGKILL)
        except OSError:  # gone meanwhile, or not ours to signal
            continue
    try:
        remove_if_orphaned(parent, temp_dir)
    finally:
        os._exit(1)


def private_files() -> None:
    """Ray's daemons inherit this process's umask: files, sockets and folders they make are their
    owner's only (Ray still opens some folders it makes to everyone with an explicit chmod 0777,
    which is why its temp dir lies inside a folder of ours that nobody else may enter). Download
    workers get the user's own umask back (``USER_UMASK_ENV``), so the chips they write have the
    modes the user's files always have."""
    user_umask = os.umask(0o077)
    os.environ[USER_UMASK_ENV] = f"{user_umask:o}"


def restore_user_umask() -> None:
    """In a Ray worker of the local head: the umask of the user who ran geetiles (see private_files)."""
    value = os.environ.get(USER_UMASK_ENV)
    if value:
        os.umask(int(value, 8))


def ray_start_arguments(port: int, temp_dir: str, num_cpus: int | None, object_store_bytes: int) -> list[str]:
    """``--temp-dir`` of its own: Ray writes the address of the last head started into its temp
    dir, and a later plain ``ray.init()`` (a user's notebook) would join that dead head. No log
    monitor (the driver joins with ``log_to_driver=False``: nobody reads what it would forward) and no
    autoscaler monitor (one local node never scales): a head's start-up took 5.1 s and 6.2 CPU-s with
    them, 4.0 s and 5.4 CPU-s without (start, two actors, stop; 3 runs each on a 2-core machine)."""
    arguments = [
        "start",
        "--head",
        "--block",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        f"--temp-dir={temp_dir}",
        "--include-dashboard=false",
        "--disable-usage-stats",
        "--include-log-monitor=false",
        "--no-monitor",
        f"--object-store-memory={object_store_bytes}",
    ]
    if num_cpus:
        arguments.append(f"--num-cpus={num_cpus}")
    return arguments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--temp-dir", required=True)
    parser.add_argument("--num-cpus", type=int, default=None)
    parser.add_argument("--object-store-bytes", type=int, default=256 * 2**20)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # until Ray installs its own, once its node starts
    try:  # however the head ends from here on (Ray's import alone takes a second), it leaves through leave()
        die_with_parent(args.parent, args.temp_dir)
        private_files()
        ensure_token()
        from ray.scripts.scripts import main as ray_main

        sys.argv = ["ray", *ray_start_arguments(args.port, args.temp_dir, args.num_cpus, args.object_store_bytes)]
        ray_main()  # returns by SystemExit once Ray's SIGTERM handler has stopped its daemons
    finally:
        leave(args.parent, args.temp_dir)


def leave(parent: int, temp_dir: str) -> None:
    """The head's last step: an orphan (the driver is gone) ends whatever Ray started and removes its
    folder. Deaf to SIGTERM from here on: a second one (Ray's handler raises SystemExit too) would cut
    the removal short and leave the folder in /tmp."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    wait_while_dying(parent)
    if os.getppid() != parent:
        end_orphan(parent, temp_dir)


def wait_while_dying(parent: int, bound_s: float = DYING_BOUND_S) -> None:
    """A driver killed while it ran several threads ends thread by thread. The kernel's SIGTERM comes
    when the thread that spawned the head (the main one) ends, and the head's parent is still the
    driver, a zombie leader, until its last thread is gone: wait for that (the suite caught a killed
    run's head leaving its folder so, 2 runs in 6)."""
    deadline = time.monotonic() + bound_s
    while os.getppid() == parent and _zombie(parent) and time.monotonic() < deadline:
        time.sleep(0.05)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


def _exit_on_sigterm(signum, frame) -> None:
    """SIGTERM before Ray's node is up: leave through ``main``'s ``finally`` (the default action would
    end the process on the spot, leaving Ray's first daemons and the head's folder behind)."""
    raise SystemExit(1)


def remove_if_orphaned(parent: int, temp_dir: str) -> None:
    """The head's folder (``geetiles-ray-*``: head.log and Ray's temp dir), when the driver that made it
    is gone (killed: it can neither remove the folder nor name its log in an error). A driver that is
    alive removes it itself, or keeps it for the log its error message names (``KEEP_LOGS`` in it)."""
    folder = os.path.dirname(os.path.abspath(temp_dir))
    if os.path.exists(os.path.join(folder, KEEP_LOGS)):  # the driver's last error names the log
        return
    if os.getppid() != parent and os.path.basename(folder).startswith("geetiles-ray-"):
        remove_head_folder(folder)


def remove_head_folder(folder: str | os.PathLike[str]) -> None:
    """Remove a stopped head's folder, again while something still writes in it: Ray's workers are not
    in the head's process group and end a moment after their raylet (bounded: about 5 s)."""
    for _ in range(REMOVE_ATTEMPTS):
        shutil.rmtree(folder, ignore_errors=True)
        if not os.path.exists(folder):
            return
        time.sleep(REMOVE_PAUSE_S)


if __name__ == "__main__":
    main()
