"""The README's TorchGeo snippet (section "### TorchGeo"), run as written on an exported dataset, timed.

    python -m geetiles experiment=demo tiling=utm aoi=bbox aoi.bbox=[6.02,49.5,6.3,49.8] aoi.name=east \
        stages=[aoi,tiling,download,proportions,split,export]        # in a scratch folder; one UTM zone (32)
    python bench/torchgeo.py outputs/data/east_partitions_utmchips_<hash>_dataset [--batches 20]

(Luxembourg whole spans zones 31 and 32, which TorchGeo reprojects to one: see the README.) Prints the batch
shapes, samples/s over --batches batches of the snippet's DataLoader (RandomGeoSampler), then one pass of its
GridGeoSampler (every chip once: windows against the index's chips) and the load average. Without torchgeo
installed it says so and exits 0 (tests/dataset/test_torchgeo.py skips the same way).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
import time
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def snippet() -> str:
    """The python block of the README's TorchGeo section."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### TorchGeo\n") :]
    section = section[: section.index("\n### ", 1)]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def run_snippet(root: str | Path) -> dict:
    """Execute the snippet with ``root`` set to ``root``; return its namespace (dataset, sampler, loader, batch)."""
    code = re.sub(r"^root = .*$", f"root = {str(root)!r}", snippet(), count=1, flags=re.MULTILINE)
    namespace: dict = {"__name__": "torchgeo_snippet"}
    exec(compile(code, "README.md#TorchGeo", "exec"), namespace)  # noqa: S102 (our own README)
    return namespace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="an exported dataset folder (export=geotiff)")
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]  # this file is no torchgeo
    if importlib.util.find_spec("torchgeo") is None:
        print("skipped: torchgeo is not installed (pip install torchgeo); the snippet was not run")
        return
    started = time.perf_counter()
    namespace = run_snippet(args.dataset)
    print(
        f"snippet (index, sampler, first batch): {time.perf_counter() - started:.2f} s; "
        f"image {tuple(namespace['batch']['image'].shape)}, mask {tuple(namespace['batch']['mask'].shape)}"
    )
    loader, samples = namespace["loader"], 0
    started = time.perf_counter()
    for count, batch in enumerate(loader):
        samples += len(batch["image"])
        if count + 1 >= args.batches:
            break
    elapsed = time.perf_counter() - started
    print(f"TorchGeo RandomGeoSampler: {samples} samples in {elapsed:.2f} s, {samples / elapsed:.0f} samples/s")
    from torch.utils.data import DataLoader

    every_chip = DataLoader(
        namespace["dataset"], sampler=namespace["every_chip"], batch_size=8, collate_fn=namespace["stack_samples"]
    )
    samples, started = 0, time.perf_counter()
    for batch in every_chip:
        samples += len(batch["image"])
    elapsed = time.perf_counter() - started
    chips = pq_rows(Path(args.dataset) / "chips.parquet")
    print(
        f"TorchGeo GridGeoSampler: {samples} windows for {chips} chips in {elapsed:.2f} s, "
        f"{samples / elapsed:.0f} samples/s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )


def pq_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


if __name__ == "__main__":
    main()
