"""A download worker SIGKILLed mid-run (issue 22): how much of the throughput survives it.

    python bench/worker_kill.py                   # one pair of runs (about 1.5 min)
    python bench/worker_kill.py --pairs 3 --max-requests-per-s 1000

Luxembourg's 1000 m grid (2774 chips, /work/shared/data/luxembourg.wkt) downloaded from the fake Earth
Engine server (its own process, answering in 300 ms) at 40 requests in flight, as a user runs it
(``python -m geetiles``, a local Ray of its own); once undisturbed, once with one of the two
DownloadWorker processes SIGKILLed 12 s after the start. Reported per run: wall time, chips/s,
requeued chips; for the killed run, the replacement's start-up as the log says, and the time from the
kill until the one-second answer rate is back to 90 % of its median over the 5 s before the kill.
Goal: chips/s with the kill >= 80 % of chips/s without; the rate back within 10 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import fake_server  # noqa: E402
from bench.fake_server import server_stats  # noqa: E402
from tests.download.ray_processes import download_workers  # noqa: E402

ENV = {
    **os.environ,
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}
WKT = Path(
    os.environ.get("GEETILES_LUXEMBOURG_WKT")
    or next(
        (
            p / "shared" / "data" / "luxembourg.wkt"
            for p in ROOT.parents
            if (p / "shared" / "data" / "luxembourg.wkt").exists()
        ),
        ROOT.parent / "shared" / "data" / "luxembourg.wkt",
    )
)


def start_server(latency: float, error_rate: float = 0.0, seed: int = 0) -> tuple[subprocess.Popen, str]:
    return fake_server.start_server(latency, error_rate, seed, env=ENV)


def luxembourg_tiles(folder: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "geetiles.cli.geet",
            "grid",
            "--aoi_wkt_file",
            str(WKT),
            "--chip_size_meters",
            "1000",
            "--aoi_name",
            "lux",
            "--dest_dir",
            str(folder),
        ],
        check=True,
        env=ENV,
        capture_output=True,
    )
    return next(folder.glob("lux_partitions_*.geojson"))


def download_command(tiles: Path, url: str, run_dir: Path, *extra: str) -> list[str]:
    return fake_server.download_command(
        tiles, url, run_dir, "source.pixels_lonlat=[100,100]", "download.progress=log", *extra
    )


def one_run(tiles: Path, latency: float, kill_after_s: float | None, extra: list[str]) -> dict:
    server, url = start_server(latency)
    directory = tiles.with_suffix("") / "sentinel2-rgb-median-2020"
    try:
        with tempfile.TemporaryDirectory() as run_dir:
            started_wall, started = time.time(), time.monotonic()
            process = subprocess.Popen(
                download_command(tiles, url, Path(run_dir), *extra),
                cwd=ROOT,
                env=ENV,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            output: list[str] = []
            reader = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)
            reader.start()
            killed_wall = None
            if kill_after_s is not None:
                while process.poll() is None:  # 12 s in, or as soon as a worker is up on a slower start
                    workers = download_workers(process.pid) if time.monotonic() - started >= kill_after_s else []
                    if workers:
                        os.kill(workers[0], signal.SIGKILL)
                        killed_wall = time.time()
                        break
                    time.sleep(0.05)
            code = process.wait()
            wall = time.monotonic() - started
            reader.join(10)
        stats = server_stats(url)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait()
    text = "".join(output)
    if code != 0:
        raise SystemExit(f"download failed ({code}):\n{text[-3000:]}")
    with open(directory / "manifest.csv") as f:
        rows = list(csv.DictReader(f))
    record = (directory / "manifest.geetiles.yaml").read_text()
    requeued = int(re.search(r"requeued: (\d+)", record).group(1))
    result = {
        "chips": len(rows),
        "all_done_once": len({r["identifier"] for r in rows}) == len(rows) and {r["status"] for r in rows} == {"done"},
        "wall_s": round(wall, 1),
        "chips_per_s": round(len(rows) / wall, 1),
        "requeued": requeued,
        "max_in_flight": stats["max_in_flight"],
    }
    if kill_after_s is not None:
        result["killed_at_s"] = None
    if killed_wall is not None:
        result["killed_at_s"] = round(killed_wall - started_wall, 1)
        replaced = re.search(r"replaced on node \S+ in ([\d.]+) s", text)
        result["replacement_up_s"] = float(replaced.group(1)) if replaced else None
        result["rate_back_s"] = rate_back(stats["answer_times_wall"], killed_wall)
    for path in directory.glob("*"):
        path.unlink()
    return result


def rate_back(answers: list[float], killed: float, fraction: float = 0.9) -> float | None:
    """Seconds from the kill until a one-second window (sliding by 0.1 s) holds ``fraction`` of the
    median one-second answer count of the 5 s before the kill."""
    answers = sorted(answers)
    before = [sum(1 for t in answers if killed - 5 + i <= t < killed - 4 + i) for i in range(5)]
    target = fraction * statistics.median(before)
    step = 0.0
    while killed + step + 1 <= (answers[-1] if answers else killed):
        count = sum(1 for t in answers if killed + step <= t < killed + step + 1)
        if count >= target:
            return round(step + 1, 1)  # the end of the first window back at the rate
        step += 0.1
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--kill-after", type=float, default=12.0)
    parser.add_argument("--max-requests-per-s", type=float, default=None, help="default: geetiles' (100)")
    args = parser.parse_args()
    extra = ["download.max_in_flight=40"]
    if args.max_requests_per_s is not None:
        extra.append(f"download.max_requests_per_s={args.max_requests_per_s:g}")
    with tempfile.TemporaryDirectory() as folder:
        tiles = luxembourg_tiles(Path(folder))
        ratios = []
        for pair in range(args.pairs):
            calm = one_run(tiles, args.latency, None, extra)
            print(json.dumps({"pair": pair + 1, "run": "no kill", **calm}), flush=True)
            killed = one_run(tiles, args.latency, args.kill_after, extra)
            print(
                json.dumps({"pair": pair + 1, "run": f"worker SIGKILLed at {args.kill_after:g} s", **killed}),
                flush=True,
            )
            ratios.append(killed["chips_per_s"] / calm["chips_per_s"])
        print(f"chips/s with the kill / without: {', '.join(f'{r:.0%}' for r in ratios)} (goal >= 80 %)")


if __name__ == "__main__":
    main()
