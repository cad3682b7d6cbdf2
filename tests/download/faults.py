"""Shared checks of the fault tests: every chip present, valid and journaled once; the caps held."""

from __future__ import annotations

import csv
import hashlib
import threading
import time
from pathlib import Path

from geetiles.manifest import Manifest
from geetiles.tiles import load_tiles
from tests.download.helpers import assert_chip_matches_server


def manifest_rows(directory: Path) -> list[dict]:
    with open(directory / "manifest.csv") as f:
        return list(csv.DictReader(f))


def assert_every_chip_once(tiles: Path, directory: Path, check_pixels: bool = True) -> list[dict]:
    """One manifest row per chip, all done, no identifier twice; each file's blake2b equals its
    row's checksum; no stray temporary file; and (``check_pixels``) the server's pixels in every file."""
    identifiers = list(load_tiles(tiles)["identifier"])
    rows = manifest_rows(directory)
    assert len(rows) == len(identifiers) == len({r["identifier"] for r in rows})
    assert {r["identifier"] for r in rows} == set(identifiers)
    assert {r["status"] for r in rows} == {"done"}, [r for r in rows if r["status"] != "done"][:3]
    for row in rows:
        data = (directory / f"{row['identifier']}.tif").read_bytes()
        assert hashlib.blake2b(data, digest_size=16).hexdigest() == row["checksum"], row["identifier"]
        assert int(row["file_size"]) == len(data)
        if check_pixels:
            assert_chip_matches_server(directory / f"{row['identifier']}.tif")
    assert sorted(p.stem for p in directory.glob("*.tif")) == sorted(identifiers)
    assert not list(directory.glob(".*tmp*"))
    return rows


def max_in_any_window(times: list[float], window_s: float = 1.0) -> int:
    """The most requests that arrived within any ``window_s`` seconds."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] > window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


def rate_bound(max_requests_per_s: float, window_s: float = 1.0) -> int:
    """What token buckets whose rates add up to ``max_requests_per_s`` (each holding at most one
    second's worth) can send in ``window_s``: the burst in hand plus the refill, and one more for
    the driver's probe of the dataset."""
    return int(max_requests_per_s * (1 + window_s)) + 1


class JournalSpy:
    """Every identifier journaled in this process (monkeypatched onto Manifest.record), to prove no
    chip was journaled twice (manifest.csv alone would not tell: folding keeps a chip's last row)."""

    def __init__(self, monkeypatch) -> None:
        self.identifiers: list[str] = []
        self._lock = threading.Lock()
        original = Manifest.record

        def record(manifest, rows):
            with self._lock:
                self.identifiers.extend(row["identifier"] for row in rows)
            return original(manifest, rows)

        monkeypatch.setattr(Manifest, "record", record)

    def duplicates(self) -> list[str]:
        from collections import Counter

        return sorted(identifier for identifier, n in Counter(self.identifiers).items() if n > 1)


def when_files(directory: Path, count: int, action, timeout_s: float = 60.0) -> threading.Thread:
    """Run ``action()`` in a thread once ``count`` chip files exist in ``directory``."""

    def wait_then_act() -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if directory.is_dir() and sum(1 for _ in directory.glob("*.tif")) >= count:
                action()
                return
            time.sleep(0.02)

    thread = threading.Thread(target=wait_then_act, daemon=True)
    thread.start()
    return thread
