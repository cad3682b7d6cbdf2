"""``geetiles.run`` in this process, on the session's Ray: the demo experiment's outputs, records, stage
summaries, tiles, dataset and inline report; a rerun resumes and logs each line once; failures raise."""

from __future__ import annotations

import contextlib
import io

import pytest
import yaml

import geetiles
from geetiles.errors import UserInputError
from tests.conftest import DEMO_RUN
from tests.in_process import as_a_fresh_process

pytestmark = pytest.mark.slow  # Ray


def demo(folder) -> list[str]:
    return [*DEMO_RUN, f"data_dir={folder}"]


def run_quietly(*args, **kwargs):
    """``geetiles.run`` as in a fresh interpreter (no logging set up): (its Result, what it printed)."""
    err = io.StringIO()
    with as_a_fresh_process(["python"]), contextlib.redirect_stderr(err):
        result = geetiles.run(*args, **kwargs)
    return result, err.getvalue()


def test_the_demo_through_the_api(tmp_path, ray_session):
    experiment = geetiles.compose(demo(tmp_path / "data"))
    result, printed = run_quietly(experiment)
    assert list(result.summaries) == [stage.value for stage in experiment.config.stages]
    assert result.summaries["report"].line.startswith("report: 16 chips")
    assert {name: s["done"] for name, s in result.summaries["download"].details.items()} == {
        "demo-imagery": 16,
        "demo-landcover": 16,
    }
    assert set(result.chip_folders) == {"demo-imagery", "demo-landcover"}
    assert all(len(list(folder.glob("*.tif"))) == 16 for folder in result.chip_folders.values())
    tiles = result.tiles()
    assert len(tiles) == 16 and {"identifier", "split", "geometry"} <= set(tiles.columns)
    assert any(column.startswith("demo-landcover_class_") for column in tiles.columns)
    train = result.dataset("train")
    assert len(train) == (tiles["split"] == "train").sum() > 0 and train[0]["image"].shape[-2:] == (24, 24)
    assert result.report.is_file() and result.dataset_folder.name.endswith("_dataset")
    record = yaml.safe_load((result.chip_folders["demo-imagery"] / "manifest.geetiles.yaml").read_text())
    assert record["command"] == experiment.command and record["config"]["data_dir"] == str(tmp_path / "data")
    page = result._repr_html_()
    assert page.count('src="data:image/png;base64,') == 2 and "http" not in page
    assert "report: 16 chips" in page
    assert printed.count("demo-imagery: 16 done") == 1 and "Traceback" not in printed

    resume = [*demo(tmp_path / "data"), f"download.tiles_file={result.tiles_file}"]
    again, printed = run_quietly(resume, stages=["download"])  # overrides and one stage; resumed
    assert list(again.summaries) == ["download"]
    assert {s["skipped"] for s in again.summaries["download"].details.values()} == {16}
    assert printed.count("demo-imagery: 0 done, 16 skipped") == 1  # one handler: each line once


def test_failures_raise_one_line_and_never_exit(tmp_path, ray_session):
    with pytest.raises(UserInputError, match="the download stage needs a tiles file"):
        run_quietly([*DEMO_RUN, f"data_dir={tmp_path}"], stages=["download"])
    with pytest.raises(UserInputError, match="unknown stage 'downlaod'"):
        geetiles.run(geetiles.compose(DEMO_RUN), stages=["downlaod"])
    assert not list(tmp_path.iterdir())
