"""What a local run's Ray exposes, watched from outside while one ``python -m geetiles`` download runs as a
user's shell starts it (no ``RAY_*`` in the environment, umask 022): its servers listen on loopback only,
with token authentication on; its token appears in no log or record, and is 0600 in a 0700 folder; the
folder geetiles makes for the head is 0700 with Ray's temp dir inside, and every file and socket the
head, its daemons and its workers write there is their owner's only; the download workers still write
chips with the user's own modes. One run serves both checks: it is the costliest part of each."""

from __future__ import annotations

import os
import re
import socket
import stat
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.download.helpers import dataset_dir, make_tiles
from tests.download.ray_processes import download_workers, head_folder, local_head

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LISTEN = "0A"
DATASET = "demo-imagery"


def listening_sockets() -> dict[int, tuple[str, int]]:
    """inode → (address, port) of every listening TCP socket, from /proc/net/tcp and tcp6."""
    found = {}
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] != LISTEN:
                continue
            address, port = fields[1].split(":")
            raw = bytes.fromhex(address)
            words = b"".join(struct.pack("<I", struct.unpack(">I", raw[i : i + 4])[0]) for i in range(0, len(raw), 4))
            found[int(fields[9])] = (socket.inet_ntop(family, words), int(port, 16))
    return found


def process_tree(root: int) -> dict[int, str]:
    """pid → command name of ``root`` and all its descendants."""
    parents, names = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                names[int(entry.name)] = (entry / "comm").read_text().strip()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, grown = {root}, True
    while grown:
        children = {pid for pid, parent in parents.items() if parent in tree} - tree
        grown = bool(children)
        tree |= children
    return {pid: names.get(pid, "?") for pid in tree}


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    except OSError:
        pass
    return inodes


def is_loopback(address: str) -> bool:
    return address.startswith("127.") or address == "::1" or address.startswith("::ffff:127.")


@dataclass
class Watched:
    """What the run showed while it ran, and after."""

    returncode: int
    output: str
    tiles: Path
    home: Path
    driver: int
    listening: dict = field(default_factory=dict)  # (process name, address, port)
    gcs_auth_modes: set = field(default_factory=set)
    folder: Path | None = None
    entries: dict = field(default_factory=dict)  # path in the head's folder -> (mode, uid), once chips came
    daemons: list = field(default_factory=list)  # command lines of the head's session
    worker_umasks: dict = field(default_factory=dict)  # download worker pid -> its umask when last seen


def walk(folder: Path) -> dict[str, tuple[int, int]]:
    entries = {}
    for root, dirs, files in os.walk(folder):
        for path in [root] + [os.path.join(root, name) for name in dirs + files]:
            try:
                info = os.lstat(path)
            except OSError:
                continue
            entries[os.path.relpath(path, folder)] = (info.st_mode, info.st_uid)
    return entries


def session_of(leader: int) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.getsid(int(pid)) == leader:
                found.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


def umask_of(pid: int) -> int | None:
    """A process's umask, from /proc (Linux 4.7 and later), or None once it has ended."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return next((int(line.split()[1], 8) for line in status.splitlines() if line.startswith("Umask:")), None)


def watch_a_local_run(tmp_path: Path) -> Watched:
    tiles = make_tiles(tmp_path, (6.0, 49.6, 6.2, 49.8))  # ~300 chips: Ray's servers are sampled for seconds
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}  # as a user's shell, not the suite's
    env.update(HOME=str(home))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "geetiles",
            "stages=[download]",
            f"download.tiles_file={tiles}",
            "source=demo",
            "source.pixels_lonlat=[128,128]",
            "labels=none",
            "download.progress=none",
            f"hydra.run.dir={tmp_path}/run",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        umask=0o022,  # a usual user's umask: nothing may rely on a stricter one
    )
    seen = Watched(0, "", tiles, home, process.pid)
    head = None
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        sockets = listening_sockets()
        for pid, name in process_tree(process.pid).items():
            for inode in socket_inodes(pid) & sockets.keys():
                seen.listening[(name, *sockets[inode])] = None
            if name == "gcs_server":
                try:
                    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                except OSError:
                    continue
                seen.gcs_auth_modes |= {item for item in environ if item.startswith(b"RAY_AUTH_MODE=")}
        workers = download_workers(process.pid)
        for pid in workers:
            if (umask := umask_of(pid)) is not None:
                seen.worker_umasks[pid] = umask
        head = head or local_head(process.pid)
        if head and not seen.entries and workers:  # Ray is up, its workers started
            seen.folder = head_folder(head)
            seen.entries = walk(seen.folder)
            seen.daemons = session_of(head)
        time.sleep(0.2)
    seen.output = process.communicate(timeout=60)[0]
    seen.returncode = process.returncode
    return seen


@pytest.mark.long
@pytest.mark.slow  # starts a process
def test_a_local_run_listens_on_loopback_only_and_keeps_its_files_and_token_private(tmp_path):
    """One test, not two on a shared run: pytest-xdist would start the run again on each worker."""
    watched = watch_a_local_run(tmp_path)
    assert_loopback_only_with_token_authentication(watched)
    assert_files_and_token_private(watched)


def assert_loopback_only_with_token_authentication(watched: Watched) -> None:
    assert watched.returncode == 0, watched.output[-3000:]
    names = {name for name, _, _ in watched.listening}
    assert {"gcs_server", "raylet"} <= names, watched.listening  # the check saw Ray's own servers listening
    exposed = [s for s in watched.listening if not is_loopback(s[1])]
    assert not exposed, f"listening beyond loopback: {exposed}"
    assert watched.gcs_auth_modes == {b"RAY_AUTH_MODE=token"}
    token = (watched.home / ".ray" / "auth_token").read_text().strip()
    assert len(token) >= 32 and token not in watched.output
    for path in watched.tiles.parent.rglob("*"):
        if path.is_file() and path.suffix in (".yaml", ".csv", ".json", ".log", ".txt"):
            assert token not in path.read_text(errors="replace"), path


def assert_files_and_token_private(watched: Watched) -> None:
    entries = watched.entries
    assert entries, "the head's folder was not seen while chips were written"
    folder_mode, folder_uid = entries["."]
    assert stat.S_IMODE(folder_mode) == 0o700 and folder_uid == os.getuid()  # nobody else enters
    assert stat.S_IMODE(entries["head.log"][0]) == 0o600
    assert "ray" in entries and all(path == "." or path.split("/")[0] in ("ray", "head.log") for path in entries)
    sockets = [path for path, (mode, _) in entries.items() if stat.S_ISSOCK(mode)]
    assert sockets  # Ray's plasma store and raylet sockets were seen
    # every file and socket, except the driver's own logs (written by the driver process with the
    # user's umask, inside the private folder), is its owner's only
    driver_file = re.compile(rf"_{watched.driver}\.log$")
    exposed = {
        path: oct(stat.S_IMODE(mode))
        for path, (mode, _) in entries.items()
        if not stat.S_ISDIR(mode)
        and not stat.S_ISLNK(mode)
        and stat.S_IMODE(mode) & 0o077
        and not driver_file.search(path)
    }
    assert not exposed
    assert all(uid == os.getuid() for _, uid in entries.values())
    # download workers start private (the head's umask 077) and take the user's umask for the chips they write
    assert watched.worker_umasks and set(watched.worker_umasks.values()) == {0o022}, watched.worker_umasks
    chips = list(dataset_dir(watched.tiles, DATASET).glob("*.tif"))
    assert chips and {stat.S_IMODE(chip.stat().st_mode) for chip in chips} == {0o644}
    assert not watched.folder.exists()  # removed after a clean shutdown
    daemons = " ".join(watched.daemons)
    assert "gcs_server" in daemons and "raylet" in daemons  # the head's session was seen
    # nothing reads Ray's logs (log_to_driver=False) and one local node never scales: neither daemon runs
    assert "log_monitor.py" not in daemons and "autoscaler/_private/monitor.py" not in daemons

    token = watched.home / ".ray" / "auth_token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600 and stat.S_IMODE(token.parent.stat().st_mode) == 0o700
    assert len(token.read_text()) == 64
