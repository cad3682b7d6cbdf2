"""The README's TorchGeo snippet runs as written (bench/torchgeo.py extracts it) where torchgeo is installed."""

from __future__ import annotations

import importlib.util

import pytest

from bench.torchgeo import snippet

TORCHGEO = importlib.util.find_spec("torchgeo") is not None
REASON = "torchgeo is not installed (pip install torchgeo): the README's TorchGeo snippet was not run"


def test_the_readme_has_the_snippet_the_bench_runs():
    code = snippet()
    compile(code, "README.md#TorchGeo", "exec")  # at least valid Python where torchgeo is missing
    for needed in ('filename_glob = "*.tif"', "is_image = False", " & ", "Sampler(", "DataLoader(", "root = "):
        assert needed in code


@pytest.mark.slow
@pytest.mark.skipif(not TORCHGEO, reason=REASON)
def test_the_readme_torchgeo_snippet_runs(exported_demo):
    from bench.torchgeo import run_snippet

    namespace = run_snippet(exported_demo)
    batch = namespace["batch"]
    assert batch["image"].shape[0] == 8 and batch["image"].shape[-2:] == (64, 64)
    assert batch["mask"].shape[0] == 8
