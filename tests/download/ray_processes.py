"""Finding the processes of a run's Ray (download workers, the local head) from outside, through
/proc, so tests and benchmarks can kill them as a preempted machine or an OOM killer would.

Only descendants of a given process are ever returned: other runs' Ray processes on the same
machine (other test sessions, other users) are never touched."""

from __future__ import annotations

import os
from pathlib import Path


def _processes() -> dict[int, tuple[int, str]]:
    """pid → (parent pid, command line) of every process we may read."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat.rsplit(b")", 1)[-1].split()
        if fields and fields[0] != b"Z":
            table[int(entry.name)] = (int(fields[1]), cmdline)
    return table


def descendants(root: int, marker: str) -> list[int]:
    """Live processes under ``root`` (at any depth) whose command line contains ``marker``."""
    table = _processes()
    found = []
    for pid, (_, cmdline) in table.items():
        if marker not in cmdline:
            continue
        parent = pid
        for _ in range(64):
            parent = table.get(parent, (0, ""))[0]
            if parent == root:
                found.append(pid)
                break
            if parent <= 1:
                break
    return sorted(found)


def download_workers(root: int | None = None) -> list[int]:
    """The DownloadWorker actor processes under ``root`` (default: this process)."""
    return descendants(os.getpid() if root is None else root, "ray::DownloadWorker")


def local_head(root: int) -> int | None:
    """The pid (and process group) of the local Ray head a geetiles driver ``root`` spawned."""
    heads = descendants(root, "geetiles.download.ray_head")
    return heads[0] if heads else None


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet waited for, does not)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[-1].split()
    except OSError:
        return False
    return bool(fields) and fields[0] != b"Z"


def head_folder(head: int) -> Path:
    """The ``geetiles-ray-*`` folder (head.log, Ray's temp dir) of the local head ``head``, from its command line."""
    arguments = Path(f"/proc/{head}/cmdline").read_bytes().decode().split("\0")
    folder = Path(arguments[arguments.index("--temp-dir") + 1]).parent
    assert folder.name.startswith("geetiles-ray-") and folder.is_dir(), folder
    return folder
