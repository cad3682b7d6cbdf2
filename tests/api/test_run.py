"""``geetiles.run``'s refusals, in this process: one line as UserInputError, nothing written, no SystemExit.
(The demo run itself, its Result and a resumed second run: test_notebook.py, in a real kernel.)"""

from __future__ import annotations

import contextlib
import io

import pytest
import yaml

import geetiles
from geetiles.errors import UserInputError
from tests.conftest import DEMO_RUN
from tests.in_process import as_a_fresh_process


def run_quietly(*args, **kwargs):
    """``geetiles.run`` as in a fresh interpreter (no logging set up): (its Result, what it printed)."""
    err = io.StringIO()
    with as_a_fresh_process(["python"]), contextlib.redirect_stderr(err):
        result = geetiles.run(*args, **kwargs)
    return result, err.getvalue()


def test_failures_raise_one_line_and_never_exit(tmp_path):
    with pytest.raises(UserInputError, match="the download stage needs a tiles file"):
        run_quietly([*DEMO_RUN, f"data_dir={tmp_path}"], stages=["download"])
    with pytest.raises(UserInputError, match="unknown stage 'downlaod'"):
        geetiles.run(geetiles.compose(DEMO_RUN), stages=["downlaod"])
    with pytest.raises(UserInputError, match="give a list of overrides"):
        geetiles.run("experiment=demo")
    assert not list(tmp_path.iterdir())


def test_an_experiments_stages_can_be_chosen_and_the_record_says_so(tmp_path):
    experiment = geetiles.compose([*DEMO_RUN, f"data_dir={tmp_path}"])
    result, printed = run_quietly(experiment, stages=["aoi", "tiling"])
    assert list(result.summaries) == ["aoi", "tiling"] and result.summaries["tiling"].line.startswith("16 chips")
    assert len(result.tiles()) == 16 and result.dataset_folder is None and result.chip_folders == {}
    record = yaml.safe_load(result.tiles_file.with_suffix(".geetiles.yaml").read_text())
    assert record["config"]["stages"] == ["aoi", "tiling"] and record["command"] == experiment.command
    assert printed.count("16 chips (grid, 1000 m chips)") == 1
    with pytest.raises(UserInputError, match="this run wrote no dataset; run it with the export stage"):
        result.dataset("train")
