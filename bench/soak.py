"""Faults for a long time (issue 22): 200,000 small chips from the fake Earth Engine server with 5 %
injected 429/503, through worker kills or the loss of a node; every chip must arrive exactly once.

    python bench/soak.py --mode kill              # a DownloadWorker process SIGKILLed every 60 s
    python bench/soak.py --mode node              # 2-node cluster_utils cluster, the worker node removed once
    python bench/soak.py --mode kill --chips 5000 # a short rehearsal

Chips: a UTM tiling of 100 m chips over a square around (6.5 E, 49.5 N) sized for ``--chips``, each
downloaded at 8 x 8 pixels (``source.pixels_lonlat=[8,8]``), so the engine's bookkeeping, not pixels,
is what runs for long. The server runs in its own process (0 ms latency, 5 % of answers 429 or 503).
``kill`` runs ``python -m geetiles`` (a local Ray of its own) and SIGKILLs one of its DownloadWorker
processes every ``--kill-every`` seconds; ``node`` runs the download in tests/download/cluster_node_loss.py
on a head and a worker node (one CPU each) and removes the worker node (SIGKILL of its processes)
once a third of the chips are on disk.

Checked at the end: chip files == chips; manifest rows == chips, all done, no identifier twice;
every file's blake2b equals its manifest checksum; the server never had more than
download.max_in_flight requests open. Reported: chips delivered / expected, duplicate manifest rows,
checksum mismatches, chips the server answered twice (requests in flight on a dead worker, whose
answer was lost with it), requeued chips, worker kills, the driver's RSS at 10 % of the chips and at
the end (goal: within 10 %), chips/s.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import fake_server  # noqa: E402
from bench.worker_kill import ENV, server_stats, start_server  # noqa: E402
from tests.download.ray_processes import download_workers  # noqa: E402

DATASET = "sentinel2-rgb-median-2020"
PROGRESS = re.compile(r": (\d+)/(\d+) \(\d+%\)")


def make_tiles(folder: Path, chips: int) -> Path:
    side_km = math.sqrt(chips) * 0.1
    dlon, dlat = side_km / (111.32 * math.cos(math.radians(49.5))), side_km / 110.6
    bbox = f"[{6.5 - dlon / 2:.5f},{49.5 - dlat / 2:.5f},{6.5 + dlon / 2:.5f},{49.5 + dlat / 2:.5f}]"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "geetiles",
            "aoi=bbox",
            f"aoi.bbox={bbox}",
            "aoi.name=soak",
            "tiling=utm",
            "tiling.chip_size_m=100",
            f"data_dir={folder}",
            f"hydra.run.dir={folder}/run",
            "stages=[aoi,tiling]",
        ],
        cwd=folder,
        env=ENV,
        check=True,
        capture_output=True,
    )
    return next(folder.glob("soak_partitions_*.geojson"))


def settings(max_in_flight: int, rate: float) -> list[str]:
    return [
        "source.pixels_lonlat=[8,8]",
        f"download.max_in_flight={max_in_flight}",
        f"download.max_requests_per_s={rate:g}",
        "download.batch_size=256",
        "download.progress=log",
        "ee.project=bench",
    ]


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_kill_mode(tiles: Path, url: str, every_s: float, extra: list[str], log_path: Path) -> dict:
    """``python -m geetiles`` with a worker SIGKILLed every ``every_s``; RSS sampled from /proc."""
    command = fake_server.download_command(tiles, url, tiles.parent / "run", *extra)
    started = time.monotonic()
    measures = {"rss_kib_at_10": None, "rss_kib_at_100": None, "rss_kib_end": 0, "kills": 0}
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command, cwd=tiles.parent, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

        def read_log() -> None:
            for line in process.stdout:
                log.write(line)
                match = PROGRESS.search(line)
                if match:
                    done, total = int(match.group(1)), int(match.group(2))
                    measures.setdefault("rss_mib_by_pct", {})[round(100 * done / total)] = round(
                        rss_kib(process.pid) / 1024
                    )
                    if measures["rss_kib_at_10"] is None and done >= total / 10:
                        measures["rss_kib_at_10"] = rss_kib(process.pid)
                if measures["rss_kib_at_100"] is None and " done, " in line and " tiles/s " in line:
                    measures["rss_kib_at_100"] = rss_kib(process.pid)  # the summary line: every chip accounted for

        reader = threading.Thread(target=read_log, daemon=True)
        reader.start()
        next_kill = started + every_s
        while process.poll() is None:
            rss = rss_kib(process.pid)
            measures["rss_kib_end"] = rss or measures["rss_kib_end"]
            measures["rss_kib_peak"] = rss_kib(process.pid, "VmHWM") or measures.get("rss_kib_peak", 0)
            if time.monotonic() >= next_kill:
                workers = download_workers(process.pid)
                if workers:
                    os.kill(workers[0], signal.SIGKILL)
                    measures["kills"] += 1
                    next_kill += every_s
            time.sleep(0.5)
        reader.join(30)
    measures.update(exit=process.returncode, wall_s=time.monotonic() - started)
    return measures


def run_node_mode(tiles: Path, url: str, remove_after: int, extra: list[str], log_path: Path) -> dict:
    """The download in tests/download/cluster_node_loss.py (its own process: it holds the cluster)."""
    command = [
        sys.executable,
        "-m",
        "tests.download.cluster_node_loss",
        str(tiles),
        url,
        "none",
        "--remove-after",
        str(remove_after),
        *extra,
    ]
    started = time.monotonic()
    with open(log_path, "w") as log:
        result = subprocess.run(command, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=log, text=True)
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    if summary.get("error"):
        print(f"download error: {summary['error']}", flush=True)
    return {
        "exit": summary["exit"],
        "wall_s": time.monotonic() - started,
        "rss_kib_at_10": summary["rss_kib_at_10"],
        "rss_kib_end": summary["rss_kib_end"],
        "removed_at_files": summary["removed_at_files"],
        "node_messages": [m for m in summary["messages"] if "died" in m or "replaced" in m],
    }


def verify(tiles: Path) -> dict:
    """Files, manifest rows and checksums against each other."""
    directory = tiles.with_suffix("") / DATASET
    with open(directory / "manifest.csv") as f:
        rows = list(csv.DictReader(f))
    identifiers = [row["identifier"] for row in rows]
    files = {
        entry.name[:-4]
        for entry in os.scandir(directory)
        if entry.name.endswith(".tif") and not entry.name.startswith(".")
    }
    mismatches = 0
    for row in rows:
        try:
            data = (directory / f"{row['identifier']}.tif").read_bytes()
        except OSError:
            mismatches += 1
            continue
        mismatches += hashlib.blake2b(data, digest_size=16).hexdigest() != row["checksum"]
    record = (directory / "manifest.geetiles.yaml").read_text()
    return {
        "files": len(files),
        "rows": len(rows),
        "duplicate_rows": len(identifiers) - len(set(identifiers)),
        "not_done": sum(row["status"] != "done" for row in rows),
        "checksum_mismatches": mismatches,
        "files_without_row": len(files - set(identifiers)),
        "requeued": int(re.search(r"requeued: (\d+)", record).group(1)),
        "requeued_in_rows": sum(int(row["requeued"] or 0) for row in rows),
    }


def _mib(kib: int | None) -> int | None:
    return round(kib / 1024) if kib else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["kill", "node"], required=True)
    parser.add_argument("--chips", type=int, default=200_000, help="approximate chip count")
    parser.add_argument("--kill-every", type=float, default=60.0)
    parser.add_argument("--error-rate", type=float, default=0.05)
    parser.add_argument("--max-in-flight", type=int, default=40)
    parser.add_argument("--max-requests-per-s", type=float, default=1000.0)
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="geetiles-soak-"))
    server, url = start_server(0.0, args.error_rate)
    try:
        tiles = make_tiles(folder, args.chips)
        import pyarrow.parquet as pq

        expected = pq.ParquetFile(tiles.with_suffix(".parquet")).metadata.num_rows
        extra = settings(args.max_in_flight, args.max_requests_per_s)
        if args.mode == "kill":
            run = run_kill_mode(tiles, url, args.kill_every, extra, folder / "download.log")
        else:
            run = run_node_mode(tiles, url, expected // 3, extra, folder / "download.log")
        stats = server_stats(url)
        checks = verify(tiles) if run["exit"] == 0 else {}
        if run["exit"] != 0:
            print((folder / "download.log").read_text()[-3000:])
        at_10, end = run.get("rss_kib_at_10") or 0, run.get("rss_kib_end") or 0
        result = {
            "mode": args.mode,
            "exit": run["exit"],
            "chips_delivered": checks.get("files"),
            "chips_expected": expected,
            **checks,
            "server_answered_twice": stats["grids_answered_again"],
            "server_errors_injected": stats["errors_injected"],
            "server_max_in_flight": stats["max_in_flight"],
            "kills": run.get("kills"),
            "removed_node_at_files": run.get("removed_at_files"),
            "driver_rss_mib_at_10pct": round(at_10 / 1024),
            "driver_rss_mib_end": round(end / 1024),
            "driver_rss_mib_at_summary": _mib(run.get("rss_kib_at_100")),
            "driver_peak_mib": _mib(run.get("rss_kib_peak")),
            "rss_end_vs_10pct": f"{(end / at_10 - 1):+.1%}" if at_10 else None,
            "rss_mib_by_pct": run.get("rss_mib_by_pct"),
            "wall_s": round(run["wall_s"]),
            "chips_per_s": round(expected / run["wall_s"], 1),
            "node_messages": run.get("node_messages"),
        }
        print(json.dumps({k: v for k, v in result.items() if v is not None}), flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"kept {folder}")


if __name__ == "__main__":
    main()
