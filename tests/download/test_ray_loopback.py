"""A local run's Ray is reachable from this machine only, with token authentication on, whatever the
environment says; its token appears in no log or record."""

import os
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.download.helpers import make_tiles

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LISTEN = "0A"


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


@pytest.mark.long
@pytest.mark.slow  # starts a process
def test_a_local_run_listens_on_loopback_only_with_token_authentication(tmp_path):
    tiles = make_tiles(tmp_path, (6.0, 49.6, 6.2, 49.8))  # ~300 chips: Ray's servers are sampled for seconds
    home = tmp_path / "home"
    home.mkdir()
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
    )
    seen: dict[tuple[str, str, int], None] = {}
    auth_modes = set()
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        sockets = listening_sockets()
        for pid, name in process_tree(process.pid).items():
            for inode in socket_inodes(pid) & sockets.keys():
                seen[(name, *sockets[inode])] = None
            if name == "gcs_server":
                try:
                    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                except OSError:
                    continue
                auth_modes |= {item for item in environ if item.startswith(b"RAY_AUTH_MODE=")}
        time.sleep(0.2)
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 0, output[-3000:]
    names = {name for name, _, _ in seen}
    assert {"gcs_server", "raylet"} <= names, seen  # the check saw Ray's own servers listening
    exposed = [s for s in seen if not is_loopback(s[1])]
    assert not exposed, f"listening beyond loopback: {exposed}"
    assert auth_modes == {b"RAY_AUTH_MODE=token"}
    token = (home / ".ray" / "auth_token").read_text().strip()
    assert len(token) >= 32 and token not in output
    for path in tiles.parent.rglob("*"):
        if path.is_file() and path.suffix in (".yaml", ".csv", ".json", ".log", ".txt"):
            assert token not in path.read_text(errors="replace"), path
