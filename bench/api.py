"""The Python API's figures (issue 25), on this machine, one run each:

    python bench/api.py

1. ``geetiles.run`` on the demo experiment (``experiment=demo``: Luxembourg, 1000 m chips, synthetic images
   and labels, every stage) against ``python -m geetiles experiment=demo``: each in a fresh interpreter
   and a fresh data folder, twice (order A B B A), wall time of the whole process (and of the
   ``geetiles.run`` call alone);
2. in a real Jupyter kernel (ipykernel), a download from the fake Earth Engine interrupted by SIGINT
   (``KernelManager.interrupt_kernel``, Jupyter's stop button) once the workers are fetching: seconds from
   the interrupt to the kernel being idle again, three times in the same kernel (each rerun resumes), then
   a rerun that completes.

Prints the load average at the start and the end: the machine is shared.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import RAY_ENV  # noqa: E402

ENV = {**os.environ, **RAY_ENV}
DEMO = ["experiment=demo", "download.progress=none"]
API = """
import sys, time
started = time.monotonic()
import geetiles
result = geetiles.run(sys.argv[1:])
print(f"RUN {time.monotonic() - started:.2f}", {k: round(s.seconds, 2) for k, s in result.summaries.items()})
"""


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(command, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=1800)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"{command[:4]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def demo_runs() -> None:
    """Each way twice, in the order API, CLI, CLI, API: neither gets all the warm caches or a quieter minute."""
    seconds: dict[str, list[float]] = {"api": [], "cli": []}
    calls, chips = [], 0
    for way in ("api", "cli", "cli", "api"):
        with tempfile.TemporaryDirectory() as folder:
            if way == "api":
                took, said = timed([sys.executable, "-c", API, *DEMO, f"data_dir={folder}/data"], Path(folder))
                calls.append(said.split("RUN ", 1)[1].strip())
            else:
                command = [sys.executable, "-m", "geetiles", *DEMO, f"data_dir={folder}/data"]
                took, _ = timed([*command, f"hydra.run.dir={folder}/run"], Path(folder))
            chips = len(list(Path(folder, "data").glob("*/demo-imagery/*.tif")))
            seconds[way].append(took)
    print(f"demo experiment ({chips} chips x 2 datasets, every stage), whole process, runs in order A B B A:")
    print(f"  geetiles.run:        {', '.join(f'{s:.1f} s' for s in seconds['api'])}")
    for call in calls:
        print(f"    the call itself, with its stages: {call}")
    print(f"  python -m geetiles:  {', '.join(f'{s:.1f} s' for s in seconds['cli'])}")


def interrupts(times: int = 3) -> None:
    from jupyter_client import KernelManager

    from tests.api.kernel import execute, interrupted_download, kernel_env, wait_idle
    from tests.download.demo_run import journaled
    from tests.download.helpers import credentials_file, dataset_dir, make_tiles
    from tests.fake_ee.server import FakeEarthEngine

    with tempfile.TemporaryDirectory() as folder, FakeEarthEngine(latency_s=0.3) as server:
        work = Path(folder)
        tiles = make_tiles(work, (6.0, 49.6, 6.3, 49.8))
        overrides = interrupted_download(tiles, server.url, credentials_file(work, server), "download.progress=none")
        run = f"import geetiles\nresult = geetiles.run({overrides!r})"
        manager = KernelManager(kernel_name="python3")
        manager.start_kernel(env=kernel_env(), cwd=folder)
        client = manager.client()
        client.start_channels()
        seconds = []
        try:
            client.wait_for_ready(timeout=60)
            for _ in range(times):
                directory = dataset_dir(tiles)
                before = len(journaled(directory))
                msg_id = client.execute(run)
                printed: list[str] = []
                while not (
                    "download workers on" in "".join(printed) and len(journaled(dataset_dir(tiles))) > before + 5
                ):
                    try:
                        message = client.get_iopub_msg(timeout=0.1)
                    except Exception:
                        continue
                    if message["msg_type"] == "stream" and message["parent_header"].get("msg_id") == msg_id:
                        printed.append(message["content"]["text"])
                interrupted = time.monotonic()
                manager.interrupt_kernel()
                reply, said = wait_idle(client, msg_id, timeout=120, seen=printed)
                seconds.append(time.monotonic() - interrupted)
                assert reply.get("ename") == "KeyboardInterrupt", said[-2000:]
            server.latency_s = 0.0
            reply, said = execute(client, run, timeout=300)
            assert reply["status"] == "ok", said[-2000:]
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    print(f"kernel interrupt mid-download → kernel idle again: {', '.join(f'{s:.2f} s' for s in seconds)}")


def main() -> None:
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    demo_runs()
    interrupts()
    print(f"load average at end:   {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
