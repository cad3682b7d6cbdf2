"""A download on a two-node Ray cluster (``ray.cluster_utils``: a head and one worker node, one CPU
each) whose worker node is removed mid-run, as a preempted machine vanishes. Run by
tests/download/test_node_loss.py and bench/soak.py, in a process of its own (``ray.init`` can only
happen once per process, and the test session has its own Ray):

    python -m tests.download.cluster_node_loss TILES URL CREDENTIALS --remove-after N [override ...]
    python -m tests.download.cluster_node_loss TILES URL CREDENTIALS --remove-after 1000000 --kill-head-after N

The fake Earth Engine server runs in the caller's process (its counters are the caller's to check);
the download runs in this process, with ``ray.address`` set to the cluster. The worker node is
removed (its processes SIGKILLed: no graceful drain) once N chip files exist. The last stdout line
is a JSON summary: the exit status of the download, its error line if any, the removed node, the
driver's node, the download's log messages, and the driver's RSS (KiB) at 10 % of the chips and at
the end. Ray's address file goes to a private RAY_TMPDIR, so no other Ray on the machine ever
finds this cluster.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def chip_files(directory: Path) -> int:
    if not directory.is_dir():
        return 0
    return sum(1 for entry in os.scandir(directory) if entry.name.endswith(".tif") and not entry.name.startswith("."))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tiles")
    parser.add_argument("url")
    parser.add_argument("credentials")
    parser.add_argument("--remove-after", type=int, required=True, help="chip files on disk before the node goes")
    parser.add_argument(
        "--kill-head-after",
        type=int,
        default=None,
        help="instead of removing the worker node, SIGKILL the head's GCS once this many chip files exist",
    )
    parser.add_argument(
        "--head-only",
        action="store_true",
        help="no worker node: the head's loss needs none, and it takes seconds to add",
    )
    parser.add_argument(
        "--salvage-wait-s",
        type=float,
        default=None,
        help="after the head's loss, wait this long (not dispatch.SALVAGE_WAIT_S) for this machine's workers "
        "to end before recording their files: a head's GCS killed leaves its raylet and workers running",
    )
    parser.add_argument("--source", default="sentinel2")
    parser.add_argument("overrides", nargs="*", help="more download settings (download.max_in_flight=8 ...)")
    args = parser.parse_intermixed_args()
    given_tmp = os.environ.get("RAY_TMPDIR")  # the caller's own (it cleans up), else one made here
    ray_tmp = given_tmp or tempfile.mkdtemp(prefix="gtc-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    os.environ.update(
        RAY_TMPDIR=ray_tmp, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0", RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0"
    )
    import ray
    from ray.cluster_utils import Cluster

    from geetiles.cli.compose import compose, quote
    from geetiles.download import dispatch
    from geetiles.errors import RunFailed, UserInputError
    from geetiles.experiment import Experiment
    from geetiles.runner import run_experiment
    from geetiles.tiles import load_tiles

    if args.salvage_wait_s is not None:
        dispatch.SALVAGE_WAIT_S = args.salvage_wait_s
    messages: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logging.getLogger("geetiles.download").addHandler(Keep(logging.INFO))
    logging.getLogger("geetiles.download").setLevel(logging.INFO)
    tiles = Path(args.tiles)
    total = len(load_tiles(tiles))
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False, "object_store_memory": 150 * 2**20},
    )
    summary: dict = {
        "removed_node": None,
        "driver_node": None,
        "removed_at_files": None,
        "gone_at_files": None,
        "exit": None,
        "error": "",
        "rss_kib_at_10": None,
        "rss_kib_end": None,
        "messages": messages,
    }
    try:
        worker = None if args.head_only else cluster.add_node(num_cpus=1, object_store_memory=150 * 2**20)
        cluster.wait_for_nodes()
        summary["removed_node"] = worker and worker.node_id
        directory = tiles.with_suffix("") / ("sentinel2-rgb-median-2020" if args.source == "sentinel2" else args.source)

        def watch() -> None:
            removed = False
            while summary["exit"] is None:
                began = time.monotonic()
                files = chip_files(directory)
                if summary["rss_kib_at_10"] is None and files >= total / 10:
                    summary["rss_kib_at_10"] = rss_kib()
                if args.kill_head_after is not None and files >= args.kill_head_after and ray.is_initialized():
                    for info in cluster.head_node.all_processes.get("gcs_server", []):
                        info.process.kill()  # the head's GCS gone: this process must end in one line, exit 1
                    print(json.dumps({"head_killed_at": time.time(), "files": files}), flush=True)
                    return
                if worker and not removed and files >= args.remove_after and ray.is_initialized():
                    summary["driver_node"] = ray.get_runtime_context().get_node_id()
                    if summary["driver_node"] == worker.node_id:
                        summary["error"] = "the driver joined the worker node; cannot remove it"
                        return
                    summary["removed_at_files"] = files
                    summary["removed_at"] = time.time()
                    cluster.remove_node(worker, allow_graceful=False)
                    summary["gone_at_files"] = chip_files(directory)  # its processes are dead from here on
                    removed = True
                time.sleep(max(0.05, 5 * (time.monotonic() - began)))  # a folder of 200,000 files takes a while to list

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        config = compose(
            [
                "stages=[download]",
                f"download.tiles_file={quote(tiles)}",
                f"source={args.source}",
                "labels=none",
                f"ee.url={args.url}",
                f"ee.credentials={quote(args.credentials)}",
                f"ray.address={cluster.address}",
                *args.overrides,
            ]
        )
        try:
            run_experiment(Experiment.from_config(config, command="test"))
            summary["exit"] = 0
        except (RunFailed, UserInputError) as error:
            summary["exit"], summary["error"] = (1 if isinstance(error, RunFailed) else 2), str(error)
        summary["rss_kib_end"] = rss_kib()
        watcher.join(5)
    finally:
        summary["exit"] = 1 if summary["exit"] is None else summary["exit"]
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()
        if not given_tmp:
            shutil.rmtree(ray_tmp, ignore_errors=True)
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
