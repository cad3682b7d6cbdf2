"""Reading a tiles file's GeoParquet twin: ``geopandas.read_parquet`` against ``geetiles.geoarrow.read_geoparquet``
(the same table and conversion, the CRS parsed once per process), and what parsing the twin's PROJJSON CRS
costs on its own.

    python bench/twin_read.py              # a 200-chip twin, 30 reads each
    python bench/twin_read.py --chips 100000 -n 5

Process CPU time per read, median of ``-n``, after one untimed read of each (imports, the first parse).
The frames are compared before anything is timed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path


def cpu_ms(call, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        call()
        times.append((time.process_time() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chips", type=int, default=200)
    parser.add_argument("-n", type=int, default=30)
    args = parser.parse_args()

    import geopandas as gpd
    import pyarrow.parquet as pq
    from pyproj import CRS
    from shapely import box

    from geetiles.geoarrow import geoparquet_table, read_geoparquet

    side = max(1, int(args.chips**0.5))
    cells = [box(6 + 0.01 * (i % side), 49 + 0.01 * (i // side), 6.01 + 0.01 * (i % side), 49.01 + 0.01 * (i // side))
             for i in range(args.chips)]  # fmt: skip
    frame = gpd.GeoDataFrame({"identifier": [f"c{i}" for i in range(args.chips)]}, geometry=cells, crs="EPSG:4326")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.parquet"
        pq.write_table(geoparquet_table(frame), path)
        theirs, ours = gpd.read_parquet(path), read_geoparquet(path)
        assert theirs.equals(ours) and theirs.crs == ours.crs and theirs.attrs == ours.attrs
        projjson = json.loads(pq.read_schema(path).metadata[b"geo"])["columns"]["geometry"]["crs"]
        results = {
            "geopandas.read_parquet": cpu_ms(lambda: gpd.read_parquet(path), args.n),
            "geoarrow.read_geoparquet": cpu_ms(lambda: read_geoparquet(path), args.n),
            "CRS of the twin's PROJJSON": cpu_ms(lambda: CRS.from_user_input(projjson), args.n),
        }
    print(f"{args.chips} chips, median CPU ms per call over {args.n}")
    for name, value in results.items():
        print(f"  {name:<28} {value:8.2f}")
    ratio = results["geopandas.read_parquet"] / results["geoarrow.read_geoparquet"]
    print(f"  ratio read_parquet / read_geoparquet: {ratio:.1f}")


if __name__ == "__main__":
    main()
