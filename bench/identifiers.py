"""What the rule for identifiers (geetiles/names.py) costs at 1,000,000 identifiers.

    python bench/identifiers.py

1. The column check as each reader holds the column: Arrow (the twin, pandas' Arrow-backed strings:
   load_tiles from either file, the report, the download's streamed batches), Python objects (numpy
   object arrays), numpy unicode. Target: well under a second each.
2. The path check of the hot path (child_path: one regex match per chip), per chip.

13-hex identifiers as the tilings make them; the median of 5 runs, wall seconds.
"""

from __future__ import annotations

import statistics
import time
import timeit
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from geetiles.names import child_path, unsafe_identifiers

N = 1_000_000


def median_seconds(work, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    ids = [f"{i * 7919 % 10**15:013x}" for i in range(N)]
    columns = {
        "Arrow array (twin, streamed batches)": pa.array(ids),
        "pandas Arrow-backed strings (load_tiles)": pd.Series(ids),
        "pandas object column": pd.Series(ids, dtype=object),
        "numpy object array": np.array(ids, dtype=object),
        "numpy unicode array": np.array(ids),
    }
    print(f"column check of {N:,} identifiers (median of 5):")
    for label, column in columns.items():
        assert unsafe_identifiers(column) == (0, [])
        print(f"  {label:45s} {median_seconds(lambda c=column: unsafe_identifiers(c)):.3f} s")
    bad = np.array(ids, dtype=object)
    bad[N // 2] = "../../evil"
    seconds = median_seconds(lambda: unsafe_identifiers(bad))
    print(f"  {'a column with one unsafe identifier (object)':45s} {seconds:.3f} s")
    folder = Path("/data/chips")
    per_chip = (
        min(timeit.repeat(lambda: child_path(folder, "132e3b06023c3", ".tif"), number=100_000, repeat=5)) / 100_000
    )
    plain = min(timeit.repeat(lambda: folder / "132e3b06023c3.tif", number=100_000, repeat=5)) / 100_000
    print(f"child_path per chip: {per_chip * 1e9:.0f} ns (the unchecked path: {plain * 1e9:.0f} ns)")


if __name__ == "__main__":
    main()
