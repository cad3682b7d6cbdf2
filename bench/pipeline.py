"""A million chips through every stage (issue 23): each stage's seconds and peak memory.

    python bench/pipeline.py                      # ~1,000,000 chips (the download takes a while)
    python bench/pipeline.py --chips 10000        # a quick check
    python bench/pipeline.py --out DIR            # the data folder in DIR, kept (DIR must not exist, or be ours)
    python bench/pipeline.py --out DIR --from proportions   # re-measure the stages from one on, same data
    python bench/pipeline.py --out DIR --only export --profile py-spy   # profile one stage (or memray)

The data: a UTM tiling (``tiling=utm``) of 100 m chips over a lon/lat square centred on 6.5 E, 49.5 N
whose side gives about --chips chips (1,000,000: a 100 km square over UTM zones 31 and 32, 1,010,655
chips, 11 of them twins on the zone seam that the download leaves out), coarser
UTM squares of 10 km as foreign units (``foreign=utm``), the offline demo sources (``experiment=demo``:
synthetic images, 3 bands, and land-cover labels) at 8 x 8 pixels a chip, so the bookkeeping and not
the pixels is what is measured, a blocks split (``split=blocks``, 10 km), the default export (GeoTIFF
folder; ``--webdataset`` adds the shards) and the report.

Each stage is its own ``python -m geetiles stages=[STAGE] ...`` process on the same data folder, the
later ones pointed at the tiles file, so every stage has its own figures:
- seconds: the whole process, Python and Hydra start-up included (about 1-2 s a process here);
- peak GiB: the stage process's own peak resident memory (VmHWM, polled, and the kernel's figure
  from wait4 at its end, whichever is larger);
- tree GiB: the peak of the summed proportional set size (Pss) of the process and all its
  descendants (process pools, Ray's raylet and workers), polled every 0.5 s, so a short spike can be
  missed; this is what the machine had to hold;
- cpu s: user + system CPU seconds of the process and its descendants (pool workers: the last figure
  polled of each), what the stage costs whatever else runs on a shared machine;
- load: the 1-minute load average, mean over the stage (the machine may be shared).
Goal (issue 23): the stages other than download <= 3 minutes together, peak <= 4 GiB.
``--profile py-spy`` wraps every stage but download in ``py-spy record --subprocesses`` (speedscope
files in logs/), ``--profile memray`` in ``memray run --aggregate`` (the stage process only: what is
live at its peak); the figures then include the profiler's overhead (py-spy: the stage's own "peak" is
py-spy's; read "tree").
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from geetiles.atomic import write_text

ENV = {
    **os.environ,
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}
STAGES = ["aoi", "tiling", "foreign", "intersect", "download", "proportions", "split", "export", "report"]
MARKER = "bench-pipeline.json"  # marks a folder this script made (and holds what later runs need)
CENTRE = (6.5, 49.5)
CHIP_M = 100
UNIT_M = 10_000
PIXELS = 8
GIB = 2**30


def bbox_for(chips: int) -> str:
    """A lon/lat square around CENTRE whose side is sqrt(chips) chips of CHIP_M metres."""
    side_km = math.sqrt(chips) * CHIP_M / 1000
    dlon, dlat = side_km / (111.32 * math.cos(math.radians(CENTRE[1]))), side_km / 110.6
    lon, lat = CENTRE
    return f"[{lon - dlon / 2:.5f},{lat - dlat / 2:.5f},{lon + dlon / 2:.5f},{lat + dlat / 2:.5f}]"


# --- measuring one process -------------------------------------------------------------------------------------


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def run_measured(command: list[str], cwd: Path, log: Path, env: dict[str, str] = ENV) -> dict:
    """Run ``command``; its exit code, seconds, own peak RSS, peak Pss of its process tree, mean load."""
    started = time.monotonic()
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        peaks = {"hwm": 0, "tree": 0}
        loads: list[float] = []
        cpu_ticks: dict[int, int] = {}  # descendants' user + system CPU, the last figure seen of each
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                peaks["hwm"] = max(peaks["hwm"], _status_kib(process.pid, "VmHWM:"))
                tree = _descendants(process.pid)
                peaks["tree"] = max(peaks["tree"], sum(_pss_kib(pid) for pid in tree))
                cpu_ticks.update((pid, ticks) for pid in tree[1:] if (ticks := _cpu_ticks(pid)))
                loads.append(os.getloadavg()[0])
                done.wait(0.5)

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        _, status, usage = os.wait4(process.pid, 0)  # ru_maxrss: the kernel's own peak, in KiB
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        watcher.join()
    return {
        "code": process.returncode,
        "s": seconds,
        "peak_gib": max(peaks["hwm"], usage.ru_maxrss) / GIB * 1024,
        "tree_gib": peaks["tree"] / GIB * 1024,
        "load": sum(loads) / max(len(loads), 1),
        "cpu_s": usage.ru_utime + usage.ru_stime + sum(cpu_ticks.values()) / os.sysconf("SC_CLK_TCK"),
    }


def _cpu_ticks(pid: int) -> int:
    """User + system CPU of one process so far, in clock ticks (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


# --- the stages -----------------------------------------------------------------------------------------------


def common_overrides(folder: Path, bbox: str, webdataset: bool) -> list[str]:
    return [
        "experiment=demo",
        "aoi=bbox",
        f"aoi.bbox={bbox}",
        "aoi.name=bench",
        "tiling=utm",
        f"tiling.chip_size_m={CHIP_M}",
        "foreign=utm",
        f"foreign.chip_size_m={UNIT_M}",
        f"source.pixels_lonlat=[{PIXELS},{PIXELS}]",
        f"labels.pixels_lonlat=[{PIXELS},{PIXELS}]",
        "split=blocks",
        "export=" + ("all" if webdataset else "geotiff"),
        *(["export.formats=[geotiff,webdataset]"] if webdataset else []),
        "download.progress=log",
        f"data_dir={folder / 'data'}",
        f"hydra.run.dir={folder / 'runs'}",
    ]


def stage_overrides(stage: str, state: dict) -> list[str]:
    tiles, units = state.get("tiles_file"), state.get("foreign_file")
    return {
        "aoi": [],
        "tiling": [],
        "foreign": [],
        "intersect": [f"intersect.tiles_file={tiles}", f"intersect.foreign_file={units}"],
        "download": [f"download.tiles_file={tiles}"],
        "proportions": [f"proportions.tiles_file={tiles}"],
        "split": [f"split.tiles_file={tiles}"],
        "export": [f"export.tiles_file={tiles}"],
        "report": [f"report.tiles_file={tiles}", f"report.foreign_file={units}"],
    }[stage]


def new_tiles_file(data: Path, before: set[Path], earlier: str | None) -> str:
    """The tiles file the stage wrote (or rewrote: the same chips give the same name)."""
    made = sorted(set(data.glob("*.geojson")) - before)
    if not made and earlier and Path(earlier).exists():
        return earlier
    if len(made) != 1:
        raise SystemExit(f"expected one new tiles file in {data}, found {[p.name for p in made]}")
    return str(made[0])


def _py_spy() -> str:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else "py-spy"


def _remove_earlier_output(stage: str, state: dict, trash: Path) -> None:
    """A rerun (--from, --only) of export or report would first delete the earlier folder (minutes at a
    million chips): move it into ``trash`` instead (one rename), deleted once every stage is measured."""
    suffix = {"export": "_dataset", "report": "_report"}.get(stage)
    if suffix and state.get("tiles_file"):
        earlier = Path(state["tiles_file"]).with_suffix("")
        earlier = earlier.with_name(earlier.name + suffix)
        if earlier.exists():
            print(f"  (moving the earlier {earlier.name} aside, deleted at the end, not timed)", flush=True)
            trash.mkdir(exist_ok=True)
            earlier.rename(trash / f"{earlier.name}-{time.time_ns()}")


def run_stages(folder: Path, state: dict, stages: list[str], webdataset: bool, profiler: str | None) -> list[dict]:
    data, logs = folder / "data", folder / "logs"
    logs.mkdir(exist_ok=True)
    rows = []
    for stage in stages:
        command = [
            sys.executable,
            "-m",
            "geetiles",
            f"stages=[{stage}]",
            *common_overrides(folder, state["bbox"], webdataset),
            *stage_overrides(stage, state),
        ]
        env = ENV
        if profiler == "py-spy" and stage != "download":
            command = [
                _py_spy(),
                "record",
                "--subprocesses",
                "--format",
                "speedscope",
                "--rate",
                "50",
                "-o",
                str(logs / f"{stage}.speedscope.json"),
                "--",
                *command,
            ]
        elif profiler == "memray" and stage != "download":
            output = logs / f"{stage}.memray.bin"
            output.unlink(missing_ok=True)
            # main(), not `python -m geetiles`: its fast exit (os._exit) would end memray before it writes
            command = [
                sys.executable,
                "-m",
                "memray",
                "run",
                "--aggregate",
                "-q",
                "-o",
                str(output),
                "-c",
                "from geetiles.cli.app import main; main()",
                *command[3:],
            ]
            env = {**ENV, "ARROW_DEFAULT_MEMORY_POOL": "system"}  # Arrow's own pool reserves what memray counts
        _remove_earlier_output(stage, state, folder / "trash")
        before = set(data.glob("*.geojson"))
        result = run_measured(command, folder, logs / f"{stage}.log", env)
        if result["code"] != 0:
            raise SystemExit(
                f"stage {stage} failed ({result['code']}); its output (all of it in "
                f"{logs / f'{stage}.log'}):\n{(logs / f'{stage}.log').read_text()[-3000:]}"
            )
        if stage in ("tiling", "foreign"):
            key = "tiles_file" if stage == "tiling" else "foreign_file"
            state[key] = new_tiles_file(data, before, state.get(key))
            write_text(folder / MARKER, json.dumps(state, indent=1))
        rows.append({"stage": stage, **result})
        print(
            f"  {stage:12s} {result['s']:8.1f} s  cpu {result['cpu_s']:7.1f} s  peak {result['peak_gib']:5.2f} GiB  "
            f"tree {result['tree_gib']:5.2f} GiB  load {result['load']:.1f}",
            flush=True,
        )
    return rows


def table(rows: list[dict], chips: int) -> str:
    lines = [
        f"{chips:,} chips ({PIXELS}x{PIXELS} px), {os.cpu_count()} cores",
        f"{'stage':12s} {'s':>8s} {'cpu s':>8s} {'peak GiB':>9s} {'tree GiB':>9s} {'load':>5s}",
    ]
    lines += [
        f"{r['stage']:12s} {r['s']:8.1f} {r.get('cpu_s', 0):8.1f} {r['peak_gib']:9.2f} {r['tree_gib']:9.2f} "
        f"{r['load']:5.1f}"
        for r in rows
    ]
    others = [r for r in rows if r["stage"] != "download"]
    if others:
        lines.append(
            f"{'not download':12s} {sum(r['s'] for r in others):8.1f} "
            f"{sum(r.get('cpu_s', 0) for r in others):8.1f} "
            f"{max(r['peak_gib'] for r in others):9.2f} {max(r['tree_gib'] for r in others):9.2f}"
            "   (sum of s, max of GiB; goal <= 180 s, <= 4 GiB)"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--chips", type=int, help="approximate chip count (default 1,000,000; with --from/--only: the folder's)"
    )
    parser.add_argument("--out", type=Path, help="the bench folder, kept (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary bench folder too")
    parser.add_argument(
        "--from",
        dest="start",
        choices=STAGES,
        default="aoi",
        help="start at this stage, on an earlier --out folder of this script (same chips)",
    )
    parser.add_argument(
        "--only",
        choices=STAGES,
        action="append",
        help="run only this stage (repeatable; in pipeline order; overrides --from)",
    )
    parser.add_argument("--webdataset", action="store_true", help="export WebDataset shards too")
    parser.add_argument(
        "--profile",
        choices=["py-spy", "memray"],
        help="profile every stage but download (py-spy: time; memray: what is live at the peak)",
    )
    args = parser.parse_args()
    if args.chips is not None and args.chips < 1:
        parser.error("--chips must be at least 1")
    if args.profile == "py-spy" and not shutil.which(_py_spy()):
        parser.error("--profile py-spy needs py-spy (pip install py-spy)")
    if args.profile == "memray" and importlib.util.find_spec("memray") is None:
        parser.error("--profile memray needs memray (pip install memray)")
    folder = args.out.resolve() if args.out else Path(tempfile.mkdtemp(prefix="geetiles-pipeline-"))
    marker = folder / MARKER
    if args.start != "aoi" or args.only:
        if not marker.exists():
            parser.error(f"--from/--only need an earlier --out folder of this script; {folder} has no {MARKER}")
        state = json.loads(marker.read_text())
        if args.chips not in (None, state["chips"]):
            parser.error(f"{folder} holds --chips {state['chips']}, not {args.chips}")
        args.chips = state["chips"]
    else:
        if args.out and folder.exists() and any(folder.iterdir()):
            ours = " (a folder of this script: rerun stages of it with --from or --only)" if marker.exists() else ""
            parser.error(f"{folder} exists and is not empty{ours}; give a new folder (nothing was changed)")
        folder.mkdir(parents=True, exist_ok=True)
        args.chips = args.chips or 1_000_000
        state = {"chips": args.chips, "bbox": bbox_for(args.chips)}
        write_text(marker, json.dumps(state, indent=1))
    stages = [s for s in STAGES if s in args.only] if args.only else STAGES[STAGES.index(args.start) :]
    print(
        f"{folder}: {args.chips:,} chips, bbox {state['bbox']}, stages {', '.join(stages)}; "
        f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )
    rows = run_stages(folder, state, stages, args.webdataset, args.profile)  # a failure keeps the folder (logs/)
    print(table(rows, args.chips), flush=True)
    write_text(folder / "logs" / f"table-{time.strftime('%Y%m%d-%H%M%S')}.json", json.dumps(rows, indent=1))
    if (folder / "trash").exists():
        print(f"deleting the earlier outputs moved to {folder / 'trash'} ...", flush=True)
        shutil.rmtree(folder / "trash", ignore_errors=True)
    if not (args.keep or args.out):
        print(f"removing {folder} ...", flush=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
