"""Driver memory and resume time of a large download (issue 8): 10 k, 100 k and 1 M chips.

    python bench/million.py                       # 10k, 100k and 1M chips (about 30 min on 2 cores)
    python bench/million.py --chips 100000        # one size

For each size: a UTM tiling of 100 m chips over a square around (6.5 E, 49.5 N), then a download of
the offline demo source at 4 x 4 pixels a chip (so the driver's bookkeeping, not pixels, is what is
measured), then the same command again (every chip valid: the resume decision alone). The driver's
peak resident memory is read from /proc/<pid>/status (VmHWM) while it runs; Ray's processes are
not counted (they are other processes, bounded by batch size, not by chip count). The resume
decision time is the engine's own "resume: ..." log line. Figures to reach: driver peak <= 1.5 GiB
at 1 M chips, growing sub-linearly; resume decision <= 60 s at 1 M (<= 10 s at 100 k).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ENV = {
    **os.environ,
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}


def peak_rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_measured(command: list[str], cwd: Path) -> tuple[int, float, float, str]:
    """(exit code, seconds, driver peak RSS in MiB, stderr+stdout)."""
    log = cwd / "log.txt"
    started = time.monotonic()
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=cwd, env=ENV, stdout=out, stderr=subprocess.STDOUT)
        peak = 0.0

        def poll() -> None:
            nonlocal peak
            while process.poll() is None:
                peak = max(peak, peak_rss_mib(process.pid))
                time.sleep(0.2)

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        code = process.wait()
        watcher.join()
    return code, time.monotonic() - started, peak, log.read_text()


def one_size(chips: int, folder: Path) -> dict:
    side_km = math.sqrt(chips) * 0.1
    dlon, dlat = side_km / (111.32 * math.cos(math.radians(49.5))), side_km / 110.6
    bbox = f"[{6.5 - dlon / 2:.5f},{49.5 - dlat / 2:.5f},{6.5 + dlon / 2:.5f},{49.5 + dlat / 2:.5f}]"
    base = [
        sys.executable,
        "-m",
        "geetiles",
        "aoi=bbox",
        f"aoi.bbox={bbox}",
        "aoi.name=big",
        "tiling=utm",
        "tiling.chip_size_m=100",
        f"data_dir={folder}",
        f"hydra.run.dir={folder}/run",
    ]
    started = time.monotonic()
    subprocess.run([*base, "stages=[aoi,tiling]"], cwd=folder, env=ENV, check=True, capture_output=True)
    tiling_s = time.monotonic() - started
    tiles = next(folder.glob("big_partitions_*.geojson"))
    download = [
        sys.executable,
        "-m",
        "geetiles",
        "stages=[download]",
        f"download.tiles_file={tiles}",
        "source=demo",
        "source.pixels_lonlat=[4,4]",
        "labels=none",
        "download.progress=log",
        "download.batch_size=256",
        f"hydra.run.dir={folder}/run",
    ]
    code, seconds, peak, output = run_measured(download, folder)
    if code != 0:
        raise SystemExit(f"download failed ({code}):\n{output[-3000:]}")
    total = int(re.search(r": (\d+) chips from", output).group(1))
    code2, seconds2, peak2, output2 = run_measured(download, folder)
    if code2 != 0:
        raise SystemExit(f"resume failed ({code2}):\n{output2[-3000:]}")
    decision = float(re.search(r"resume: \d+ of \d+ chips already valid .* in ([\d.]+) s", output2).group(1))
    return {
        "chips": total,
        "tiling_s": round(tiling_s, 1),
        "download_s": round(seconds, 1),
        "chips_per_s": round(total / seconds),
        "driver_peak_mib": round(peak),
        "resume_run_s": round(seconds2, 1),
        "resume_decision_s": decision,
        "resume_driver_peak_mib": round(peak2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chips", type=int, action="append", help="approximate chip count (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    args = parser.parse_args()
    for chips in args.chips or [10_000, 100_000, 1_000_000]:
        folder = Path(tempfile.mkdtemp(prefix=f"geetiles-bench-{chips}-"))
        try:
            result = one_size(chips, folder)
            print(" ".join(f"{k}={v}" for k, v in result.items()), flush=True)  # before the slow removal of 1 M files
        finally:
            if not args.keep:
                shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
