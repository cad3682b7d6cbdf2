"""Count hung downloads: run the shape of command that used to hang, many times, each under a hard limit.

    python bench/hangs.py --runs 200                  # demo labels, 500x500-pixel chips (issue 8's shape)
    python bench/hangs.py --runs 200 --source ee      # the same on the fake Earth Engine server

Each run downloads a 10 km grid over a small bbox into a fresh folder, in a child process with its own
process group. A run that has not exited after ``--limit`` seconds is a hang: the script dumps the Python
stacks of the run's processes (py-spy, when installed) into ``--out``, kills the group and counts it.
A run that exits non-zero is counted apart (a failure is not a hang, but is not a success either).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {
    **os.environ,
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}


def make_tiles(folder: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "geetiles",
            "aoi=bbox",
            "aoi.bbox=[6.0,49.6,6.4,49.9]",
            "aoi.name=hang",
            "tiling.chip_size_m=10000",
            f"data_dir={folder}",
            "stages=[aoi,tiling]",
            f"hydra.run.dir={folder}/run",
        ],
        check=True,
        cwd=folder,
        env=ENV,
        capture_output=True,
    )
    return next(folder.glob("hang_partitions_*.geojson"))


def command(tiles: Path, run_dir: Path, server_url: str | None) -> list[str]:
    base = [
        sys.executable,
        "-m",
        "geetiles",
        "stages=[download]",
        f"download.tiles_file={tiles}",
        f"hydra.run.dir={run_dir}",
        "download.progress=log",
    ]
    if server_url is None:
        return [*base, "source=none", "labels=demo", "labels.pixels_lonlat=null", "labels.meters_per_pixel=20"]
    return [
        *base,
        "source=sentinel2",
        "labels=none",
        "source.pixels_lonlat=null",
        "source.meters_per_pixel=20",
        f"ee.url={server_url}",
        "ee.credentials=none",
        "ee.project=bench",
    ]


def dump_stacks(pgid: int, out: Path) -> None:
    """py-spy stacks of every process in the group (the driver and Ray's processes it started)."""
    if shutil.which("py-spy") is None:
        out.write_text("py-spy not installed\n")
        return
    pids = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True).stdout.split()
    with open(out, "w") as f:
        for pid in pids:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(bytes(1), b" ")[:200]
            f.write(f"==== pid {pid}: {cmdline!r}\n")
            f.flush()
            subprocess.run(["py-spy", "dump", "--pid", pid], stdout=f, stderr=subprocess.STDOUT, timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--limit", type=float, default=90.0, help="seconds before a run counts as hung")
    parser.add_argument("--source", choices=["demo", "ee"], default="demo")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "geetiles-hangs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    server = None
    url = None
    if args.source == "ee":
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_ee.server", "--token", "none"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        url = server.stdout.readline().strip()
    hung = failed = 0
    durations = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tiles = make_tiles(Path(tmp))
            for run in range(args.runs):
                shutil.rmtree(tiles.with_suffix(""), ignore_errors=True)
                run_dir = Path(tmp) / f"run{run}"
                log = open(args.out / f"run{run}.log", "w")
                started = time.monotonic()
                process = subprocess.Popen(
                    command(tiles, run_dir, url),
                    cwd=tmp,
                    env=ENV,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                try:
                    code = process.wait(timeout=args.limit)
                except subprocess.TimeoutExpired:
                    hung += 1
                    dump_stacks(process.pid, args.out / f"run{run}.stacks")
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    code = None
                finally:
                    log.close()
                elapsed = time.monotonic() - started
                if code is not None:
                    durations.append(elapsed)
                    if code != 0:
                        failed += 1
                if code == 0:
                    (args.out / f"run{run}.log").unlink()
                print(
                    f"run {run + 1}/{args.runs}: {'HUNG' if code is None else f'exit {code}'} in {elapsed:.1f} s "
                    f"(hung {hung}, failed {failed})",
                    flush=True,
                )
    finally:
        if server is not None:
            server.terminate()
    durations.sort()
    median = durations[len(durations) // 2] if durations else float("nan")
    print(
        f"{args.runs} runs ({args.source}): {hung} hung, {failed} failed, median {median:.1f} s; logs of "
        f"non-zero and hung runs in {args.out}"
    )


if __name__ == "__main__":
    main()
