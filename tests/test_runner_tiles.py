"""A run writes its tiles file's GeoJSON at most twice: after tiling, and after the last stage adding columns."""

import os
from collections import Counter

import geopandas as gpd

from tests.conftest import geetiles_cmd
from tests.in_process import run_in_process


def test_tiling_intersect_and_split_write_the_geojson_twice(tmp_path, monkeypatch):
    writes = Counter()
    replace = os.replace

    def counting(src, dst, *args, **kwargs):
        if str(dst).endswith(".geojson"):
            writes[os.path.basename(str(dst))] += 1
        return replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", counting)
    result = run_in_process(
        geetiles_cmd(
            "aoi=bbox",
            "aoi.bbox=[6.0,49.5,6.3,49.7]",
            "aoi.name=t",
            "tiling=utm",
            "tiling.chip_size_m=2000",
            "foreign=random",
            "foreign.max_size_m=10000",
            "split=blocks",
            "split.block_size_m=5000",
            f"data_dir={tmp_path}",
            f"hydra.run.dir={tmp_path / 'run'}",
            "stages=[aoi,tiling,foreign,intersect,split]",
        ),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    tiles = next(tmp_path.glob("t_partitions_utmchips_*.geojson"))
    assert writes[tiles.name] == 2  # was 3: tiling, intersect, split
    assert {"foreignid_10k", "split"} <= set(gpd.read_file(tiles).columns)
    assert not list(tmp_path.glob("*.lock"))
