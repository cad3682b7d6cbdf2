"""The Earth Engine endpoint refusing connections for 60 s mid-run (issue 22), under the default
retry settings (download.max_attempts=10, backoff 1-60 s, download.stall_timeout_s=600).

    python bench/outage.py                        # about 2 min
    python bench/outage.py --outage 60 --chips-bbox 6.0,49.6,6.3,49.8

The fake server runs in this process (so it can be paused: its listening socket closed, its open
connections reset, then reopened on the same port), 200 ms latency; the download runs as a user
runs it (``python -m geetiles``, its own local Ray, progress in log lines). Once a quarter of the
chips are on disk the endpoint goes away for ``--outage`` seconds. Reported: exit status, chips
done / failed, every chip once (manifest rows, files, checksums), the progress lines that named the
outage, how long after the endpoint came back the first chip finished again, and the most requests
the server saw at once. Goal: exit 0 and no chip failed.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.worker_kill import ENV, download_command  # noqa: E402
from tests.fake_ee.server import FakeEarthEngine  # noqa: E402

DATASET = "sentinel2-rgb-median-2020"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outage", type=float, default=60.0, help="seconds the endpoint refuses connections")
    parser.add_argument("--bbox", default="6.0,49.6,6.3,49.8", help="area tiled at 1000 m (default: 462 chips)")
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeEarthEngine(latency_s=args.latency, token=None) as server:
        folder = Path(tmp)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "geetiles",
                "aoi=bbox",
                f"aoi.bbox=[{args.bbox}]",
                "aoi.name=out",
                f"data_dir={folder}",
                "stages=[aoi,tiling]",
                f"hydra.run.dir={folder}/run",
            ],
            cwd=folder,
            env=ENV,
            check=True,
            capture_output=True,
        )
        tiles = next(folder.glob("out_partitions_*.geojson"))
        directory = tiles.with_suffix("") / DATASET
        command = download_command(
            tiles, server.url, folder / "run2", "download.max_in_flight=8"
        )  # source.pixels_lonlat=[100,100], progress as log lines
        started = time.monotonic()
        process = subprocess.Popen(
            command, cwd=folder, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        lines: list[tuple[float, str]] = []
        reader = threading.Thread(
            target=lambda: lines.extend((time.monotonic(), line) for line in process.stdout), daemon=True
        )
        reader.start()
        total = None
        outage = {}
        while process.poll() is None:
            if total is None:
                found = [re.search(r": (\d+) chips from", line) for _, line in lines]
                total = next((int(m.group(1)) for m in found if m), None)
            files = sum(1 for _ in directory.glob("*.tif")) if directory.is_dir() else 0
            if total and "paused" not in outage and files >= total / 4:
                server.pause()
                outage["paused"], outage["files_at_pause"] = time.monotonic(), files
            if "paused" in outage and "resumed" not in outage and time.monotonic() - outage["paused"] >= args.outage:
                server.resume()
                outage["resumed"], outage["files_at_resume"] = time.monotonic(), files
            time.sleep(0.1)
        reader.join(10)
        wall = time.monotonic() - started
        files_after = {}
        for path in directory.glob("*.tif"):
            files_after[path.stem] = path.stat().st_mtime
        first_after = min(
            (t for t in files_after.values() if t > time.time() - (time.monotonic() - outage.get("resumed", 0))),
            default=None,
        )
        with open(directory / "manifest.csv") as f:
            rows = list(csv.DictReader(f))
        mismatches = sum(
            hashlib.blake2b((directory / f"{r['identifier']}.tif").read_bytes(), digest_size=16).hexdigest()
            != r["checksum"]
            for r in rows
        )
        said = [line.strip() for _, line in lines if "unreachable" in line or "reachable again" in line]
        resumed_wall = time.time() - (time.monotonic() - outage["resumed"]) if "resumed" in outage else None
        print(
            json.dumps(
                {
                    "exit": process.returncode,
                    "chips": total,
                    "rows": len(rows),
                    "files": len(files_after),
                    "done": sum(r["status"] == "done" for r in rows),
                    "failed": sum(r["status"] == "failed" for r in rows),
                    "duplicate_rows": len(rows) - len({r["identifier"] for r in rows}),
                    "checksum_mismatches": mismatches,
                    "outage_s": round(outage["resumed"] - outage["paused"], 1) if "resumed" in outage else None,
                    "files_at_pause": outage.get("files_at_pause"),
                    "first_chip_after_return_s": round(first_after - resumed_wall, 1)
                    if first_after and resumed_wall
                    else None,
                    "server_max_in_flight": server.max_in_flight,
                    "wall_s": round(wall, 1),
                    "progress_said": said[:6],
                },
                indent=1,
            ),
            flush=True,
        )
        if process.returncode != 0:
            print("".join(line for _, line in lines)[-3000:])


if __name__ == "__main__":
    main()
