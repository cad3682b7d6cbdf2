"""A local Ray head in a process of its own: ``python -m geetiles.download.ray_head --port P ...``.

Why a separate process: starting Ray forks its daemons with a Python ``preexec_fn``, i.e. a real
``fork()`` whose at-fork handlers run in the forking process. Done inside the driver while its own
threads fetch or render chips, that deadlocked (OpenBLAS's fork handler against a matrix product in
flight) or left OpenBLAS spinning forever. Here the driver only spawns this process (vfork + exec,
no Python code and no at-fork handler between them) before it starts any thread, and Ray forks its
daemons from this fresh single-threaded process. The driver then joins it by address, which starts
no process at all.

It runs ``ray start --head --block`` bound to 127.0.0.1, and ends (taking Ray's daemons with it,
through Ray's own SIGTERM handler) when the driver ends, however the driver ends: Linux delivers
SIGTERM to it on the driver's death (PR_SET_PDEATHSIG), and it polls its parent as a fallback.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """SIGTERM to this process when ``parent`` dies; also polled, for kernels without prctl."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the driver died before the prctl took effect
        sys.exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def ensure_token() -> None:
    """With token authentication on (the driver sets RAY_AUTH_MODE=token unless the user disabled
    it), Ray expects a token to exist; make one on first use, as ``ray get-auth-token --generate``."""
    if os.environ.get("RAY_AUTH_MODE") != "token" or os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH"):
        return
    try:
        from ray._private.authentication.authentication_token_setup import _get_default_token_path, generate_and_save_token
    except ImportError:  # a Ray without token authentication
        return
    if not _get_default_token_path().exists():
        generate_and_save_token()


def ray_start_arguments(port: int, temp_dir: str, num_cpus: int | None, object_store_bytes: int) -> list[str]:
    """``--temp-dir`` of its own: Ray writes the address of the last head started into its temp
    dir, and a later plain ``ray.init()`` (a user's notebook) would join that dead head."""
    arguments = ["start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}", f"--temp-dir={temp_dir}",
                 "--include-dashboard=false", "--disable-usage-stats", f"--object-store-memory={object_store_bytes}"]
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
    die_with_parent(args.parent)
    ensure_token()
    from ray.scripts.scripts import main as ray_main

    sys.argv = ["ray", *ray_start_arguments(args.port, args.temp_dir, args.num_cpus, args.object_store_bytes)]
    ray_main()


if __name__ == "__main__":
    main()
