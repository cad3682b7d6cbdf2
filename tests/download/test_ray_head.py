"""A local Ray head whose driver is gone (killed, dying while the head imports Ray, ending thread by
thread; the head blocked in C code or sent a second SIGTERM): its daemons end and it removes its own
folder, and only that. (What a running head exposes, its files and sockets: ``test_ray_exposure.py``.)"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from tests.download.ray_processes import alive

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fake_head_folder(tmp_path, name: str):
    """A head's folder as LocalHead makes it: ``geetiles-ray-*`` with head.log and Ray's temp dir."""
    folder = tmp_path / f"geetiles-ray-{name}"
    (folder / "ray").mkdir(parents=True)
    (folder / "head.log").write_text("log")
    return folder


def start_driver(driver: str, head: str, folder, *head_args: str) -> tuple[subprocess.Popen, list[int]]:
    """A stand-in driver running a stand-in head; the pids the driver prints (the head's first)."""
    process = subprocess.Popen(
        [sys.executable, "-c", driver, head, str(folder / "ray"), *head_args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    return process, list(map(int, process.stdout.readline().split()))


def assert_gone(folder, *pids: int) -> None:
    """Within 30 s, every process ended and the folder removed; any process left is killed after."""
    deadline = time.monotonic() + 30
    while (any(map(alive, pids)) or folder.exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        assert not any(map(alive, pids)) and not folder.exists()
    finally:
        for pid in filter(alive, pids):
            os.kill(pid, 9)


def test_an_orphaned_head_removes_only_its_own_folder(tmp_path):
    from geetiles.download.ray_head import KEEP_LOGS, remove_if_orphaned

    ours = fake_head_folder(tmp_path, "abc")
    remove_if_orphaned(os.getppid(), str(ours / "ray"))  # the driver is alive: it keeps or removes the folder
    assert (ours / "head.log").exists()
    not_ours = tmp_path / "elsewhere"
    (not_ours / "ray").mkdir(parents=True)
    remove_if_orphaned(-1, str(not_ours / "ray"))  # a folder geetiles did not make is never removed
    assert (not_ours / "ray").is_dir()
    remove_if_orphaned(-1, str(ours / ".." / "elsewhere" / "ray"))  # nor one reached through ..
    remove_if_orphaned(-1, str(not_ours / "geetiles-ray-x" / ".." / "ray"))
    assert (not_ours / "ray").is_dir() and (ours / "head.log").exists()
    (ours / KEEP_LOGS).touch()  # the driver kept the logs its error names, and may be gone before the head
    remove_if_orphaned(-1, str(ours / "ray"))
    assert (ours / "head.log").exists()
    (ours / KEEP_LOGS).unlink()
    remove_if_orphaned(-1, str(ours / "ray"))  # the driver is gone
    assert not ours.exists()


# An orphaned head leaving ray_head.main: Ray's handler already raised SystemExit, and a second SIGTERM
# lands while the folder is being removed (Ray's workers, outside the group, still write in it).
SECOND_SIGTERM = textwrap.dedent("""
    import os, signal, sys, time
    import geetiles.download.ray_head as ray_head
    temp_dir = sys.argv[1]
    signal.signal(signal.SIGTERM, ray_head._exit_on_sigterm)
    remove = ray_head.remove_head_folder

    def remove_while_signalled(folder):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)  # the handler runs here, unless SIGTERM is ignored by now
        remove(folder)

    ray_head.remove_head_folder = remove_while_signalled
    try:
        raise SystemExit(0)
    finally:
        ray_head.leave(-1, temp_dir)  # -1: not this process's parent, i.e. the driver is gone
""")


@pytest.mark.slow  # starts a process
def test_a_second_sigterm_does_not_cut_short_an_orphans_folder_removal(tmp_path):
    folder = fake_head_folder(tmp_path, "twice")
    ended = subprocess.run([sys.executable, "-c", SECOND_SIGTERM, str(folder / "ray")], cwd=ROOT, timeout=60)
    assert ended.returncode == 1 and not folder.exists()


# A stand-in for a head whose main thread is blocked in C code (Ray's start-up joining a GCS that is
# gone): its Python SIGTERM handler can never run. As ray_head.main, it handles SIGTERM in Python and
# ends an orphaned head's group in a finally; it starts one daemon in its process group, prints the
# daemon's pid, then blocks on a mutex it already holds: through ctypes.CDLL, which lets other threads
# run, or ctypes.PyDLL, which keeps the GIL, as Ray's GCS client was seen to (no Python thread runs).
BLOCKED_HEAD = textwrap.dedent("""
    import ctypes, os, signal, subprocess, sys
    import geetiles.download.ray_head as ray_head
    ray_head.ORPHAN_GRACE_S = 1.0
    parent, temp_dir, library = int(sys.argv[1]), sys.argv[2], getattr(ctypes, sys.argv[3])
    signal.signal(signal.SIGTERM, ray_head._exit_on_sigterm)
    ray_head.die_with_parent(parent, temp_dir)
    try:
        daemon = subprocess.Popen(["sleep", "600"])
        mutex = ctypes.create_string_buffer(64)
        libc = library(None)
        libc.pthread_mutex_init(mutex, None)
        libc.pthread_mutex_lock(mutex)
        print(daemon.pid, flush=True)
        libc.pthread_mutex_lock(mutex)  # blocks for good: no signal interrupts it
    finally:
        ray_head.leave(parent, temp_dir)
""")
DRIVER = textwrap.dedent("""
    import subprocess, sys, time
    head = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(__import__("os").getpid()), *sys.argv[2:]],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    print(head.pid, head.stdout.readline().strip(), flush=True)
    time.sleep(600)
""")


# ray_head.main itself, with Ray's import made to last: the driver dies while the head imports Ray (about a
# second in the real head), before Ray is even loaded. The fake Ray prints 0 where the blocked head
# prints its daemon's pid, for DRIVER.
SLOW_IMPORT_HEAD = textwrap.dedent("""
    import sys, time, types
    def slow_import(name):
        print(0, flush=True)
        time.sleep(600)
    fake = types.ModuleType("ray.scripts.scripts")
    fake.__getattr__ = slow_import
    for name in ("ray", "ray.scripts"):
        sys.modules[name] = types.ModuleType(name)
    sys.modules["ray.scripts.scripts"] = fake
    import geetiles.download.ray_head as ray_head
    sys.argv = ["ray_head", "--port", "1", "--parent", sys.argv[1], "--temp-dir", sys.argv[2]]
    ray_head.main()
""")


@pytest.mark.slow  # starts processes
def test_a_head_whose_driver_dies_while_it_imports_ray_removes_its_folder(tmp_path):
    folder = fake_head_folder(tmp_path, "importing")
    driver, (head, _) = start_driver(DRIVER, SLOW_IMPORT_HEAD, folder)
    driver.kill()
    driver.wait()
    assert_gone(folder, head)


# A driver killed with threads running ends thread by thread: its main thread, which spawned the head,
# ends first (the kernel's SIGTERM to the head comes then), the process a moment later.
DRIVER_ENDING_THREAD_BY_THREAD = textwrap.dedent("""
    import ctypes, os, subprocess, sys, threading, time
    head = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid()), sys.argv[2]],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    print(head.pid, head.stdout.readline().strip(), flush=True)
    threading.Thread(target=lambda: (time.sleep(1.0), os._exit(0))).start()
    ctypes.CDLL(None).pthread_exit(None)
""")


@pytest.mark.slow  # starts processes
def test_a_head_whose_driver_ends_thread_by_thread_removes_its_folder(tmp_path):
    folder = fake_head_folder(tmp_path, "threads")
    driver, (head, _) = start_driver(DRIVER_ENDING_THREAD_BY_THREAD, SLOW_IMPORT_HEAD, folder)
    driver.wait(30)
    assert_gone(folder, head)


@pytest.mark.slow  # starts processes
@pytest.mark.parametrize("library", ["CDLL", "PyDLL"])
def test_an_orphaned_head_blocked_in_c_code_ends_its_daemons_and_removes_its_folder(tmp_path, library):
    folder = fake_head_folder(tmp_path, "blocked")
    driver, (head, daemon) = start_driver(DRIVER, BLOCKED_HEAD, folder, library)
    assert alive(head) and alive(daemon)
    driver.kill()  # as kill -9: the head gets SIGTERM from the kernel and cannot act on it
    driver.wait()
    assert_gone(folder, head, daemon)


def test_the_outside_watcher_is_told_to_remove_only_a_folder_geetiles_made(tmp_path, monkeypatch):
    import geetiles.download.ray_head as ray_head

    started = []
    monkeypatch.setattr(ray_head.subprocess, "Popen", lambda command, **options: started.append(command))
    ours = fake_head_folder(tmp_path, "abc")
    not_ours = tmp_path / "elsewhere"
    for temp_dir in (ours / "ray", not_ours / "ray", ours / ".." / "elsewhere" / "ray"):
        ray_head.watch_from_outside(os.getppid(), str(temp_dir))
    folders = [command[-3] for command in started]  # $3 of OUTSIDE_WATCH
    assert folders == [str(ours), "", ""]
    assert all(command[:2] == ["/bin/sh", "-c"] and command[-1] == ray_head.KEEP_LOGS for command in started)
