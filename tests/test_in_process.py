"""The in-process runner leaves the test process as it found it: the root logger's handlers and level,
named loggers, os.environ, Hydra's globals, sys.argv and the working directory."""

from __future__ import annotations

import logging
import os
import sys

from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig

from tests.conftest import geet_cmd, geetiles_cmd
from tests.in_process import run_in_process


def process_state() -> dict:
    root = logging.getLogger()
    return {
        "root": (root.handlers[:], root.level),
        "pyogrio": logging.getLogger("pyogrio").level,
        "rasterio": logging.getLogger("rasterio").level,
        "environ": dict(os.environ),
        "argv": sys.argv[:],
        "cwd": os.getcwd(),
        "hydra": (GlobalHydra.instance().is_initialized(), HydraConfig.instance().cfg),
    }


def test_a_geet_run_and_a_refused_python_m_geetiles_run_leave_the_process_as_it_was(tmp_path, monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")  # python -m geetiles sets it to 1: it must come back as 0
    wkt = tmp_path / "small.wkt"
    wkt.write_text("POLYGON ((6.0 49.6, 6.05 49.6, 6.05 49.65, 6.0 49.65, 6.0 49.6))")
    before = process_state()
    ran = run_in_process(
        geet_cmd(
            "grid", "--aoi_wkt_file", str(wkt), "--chip_size_meters", "2000", "--aoi_name", "small", "--dest_dir", "out"
        ),
        tmp_path,
        env={"GEETILES_TEST_MARKER": "1"},
    )
    assert ran.returncode == 0, ran.stderr
    assert list((tmp_path / "out").glob("small_partitions_aschips_*.geojson"))  # relative to the run's cwd
    assert "tiling" in ran.stderr  # geet logs to its own stderr, as a fresh process does
    assert process_state() == before
    refused = run_in_process(geetiles_cmd("tiling.chip_size_m=-5", "hydra.run.dir=run"), tmp_path)
    assert refused.returncode == 2 and refused.stderr.startswith("geetiles: error: ")
    assert "Traceback" not in refused.stderr
    assert process_state() == before  # HYDRA_FULL_ERROR, Hydra's file handler and its log levels are gone
    assert "GEETILES_TEST_MARKER" not in os.environ
