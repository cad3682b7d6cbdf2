"""The download refuses a tiles file whose identifiers would put chips outside their folder: one line,
exit 2, nothing written (tests/hostile.py). The check runs before Ray starts when the tiles file has its
GeoParquet twin, and again as the chip table reads the file (a GeoJSON alone, as 0.1.7 wrote them)."""

from __future__ import annotations

import numpy as np
import pytest

from geetiles.config import DownloadConfig
from geetiles.download.chip_table import ChipTable, ChipWindow
from geetiles.errors import UserInputError
from geetiles.experiment import Experiment
from geetiles.names import UnsafePathError
from geetiles.runner import run_experiment
from tests.composing import compose_with
from tests.conftest import geetiles_cmd, run_cli
from tests.hostile import (
    PLAIN,
    TRAVERSAL,
    assert_one_line_refusal,
    hostile_tiles,
    identifier_for,
    snapshot,
)


def _download(tiles, *extra):
    cfg = compose_with(
        [
            "experiment=demo",
            "stages=[download]",
            "labels=none",
            "source.pixels_lonlat=[16,16]",
            "download.progress=none",
            *extra,
        ],
        {"download.tiles_file": str(tiles), "data_dir": str(tiles.parent)},
    )
    return run_experiment(Experiment.from_config(cfg, command="test"))


@pytest.mark.parametrize("template", TRAVERSAL)
def test_a_tiles_file_with_an_unsafe_identifier_is_refused_before_anything_runs(tmp_path, template):
    identifier = identifier_for(template, tmp_path)
    tiles = hostile_tiles(tmp_path, identifier)
    before = snapshot(tmp_path)
    with pytest.raises(UserInputError) as refused:
        _download(tiles)
    assert_one_line_refusal(str(refused.value), identifier)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("template", [t for t in TRAVERSAL if "\x00" not in t])  # GDAL ends strings at a NUL
def test_the_chip_table_refuses_a_geojson_without_twin(tmp_path, template):
    identifier = identifier_for(template, tmp_path)
    tiles = hostile_tiles(tmp_path, identifier, twin=False)
    with pytest.raises(UserInputError) as refused:
        ChipTable(tiles, DownloadConfig(), [16, 16], None)
    assert_one_line_refusal(str(refused.value), identifier)


def test_the_chip_table_checks_the_twin_it_streams(tmp_path):
    tiles = hostile_tiles(tmp_path, "../../evil")
    with pytest.raises(UserInputError, match=r"'\.\./\.\./evil'"):
        ChipTable(tiles, DownloadConfig(), [16, 16], None)


def test_plain_identifiers_pass_and_their_jobs_stay_in_the_folder(tmp_path):
    tiles = hostile_tiles(tmp_path, "3a1b2c3d4e5f6")
    table = ChipTable(tiles, DownloadConfig(), [16, 16], None)
    window = table.first()
    folder = tmp_path / "chips"
    jobs = [window.job(row, folder) for row in range(len(window))]
    assert [job.path for job in jobs] == [str(folder / f"{i}.tif") for i in (*PLAIN, "3a1b2c3d4e5f6")]


@pytest.mark.parametrize("identifier", ["../../evil", "/abs/path/victim", "a/b", "", ".."])
def test_a_job_is_never_built_outside_the_folder(tmp_path, identifier):
    """In depth: a window holding an unsafe identifier (the entry check bypassed) builds no job."""
    window = ChipWindow(0, np.array([identifier], dtype=object), [None], {})
    with pytest.raises(UnsafePathError):
        window.job(0, tmp_path)


def test_the_dataset_folder_name_follows_the_rule(tmp_path):
    tiles = hostile_tiles(tmp_path, "3a1b2c3d4e5f6")
    before = snapshot(tmp_path)
    with pytest.raises(UserInputError, match=r"source\.name='\.\./x'.*letters, digits"):
        _download(tiles, "source.name=../x")
    assert snapshot(tmp_path) == before


@pytest.mark.slow
def test_the_command_refuses_0_1_7s_geojson_in_one_line(tmp_path):
    """``python -m geetiles`` on a GeoJSON without twin: the chip table refuses it (Ray has started), exit 2,
    one line, and neither the victim nor the data folder changes."""
    identifier = identifier_for(TRAVERSAL[1], tmp_path)  # {outside}/victim, an absolute path
    tiles = hostile_tiles(tmp_path, identifier, twin=False)
    (tmp_path / "outside" / "victim.tif").write_bytes(b"the victim's own bytes")
    before = snapshot(tmp_path)
    (tmp_path / "cwd").mkdir()
    result = run_cli(
        geetiles_cmd(
            "experiment=demo",
            "stages=[download]",
            f"download.tiles_file={tiles}",
            "labels=none",
            "source.pixels_lonlat=[16,16]",
            f"data_dir={tiles.parent}",
            "download.progress=none",
        ),
        tmp_path / "cwd",
        timeout=300,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("geetiles: error:")]
    assert len(errors) == 1
    assert_one_line_refusal(errors[0], identifier)
    assert snapshot(tmp_path, skip=("cwd",)) == before


@pytest.mark.parametrize("name", ["../x", "/tmp/x", "a/b", "", "..", "a b"])
def test_a_dataset_name_known_only_when_the_source_opens_is_checked(tmp_path, name):
    """A user's dataset file may name its dataset (get_dataset_name()): the chip folder is built only
    from a name that follows the rule."""
    from geetiles.download.planning import dataset_directory

    tiles = tmp_path / "t_partitions_aschips_0123456789abc.geojson"
    with pytest.raises(UserInputError, match="the dataset name .*letters, digits"):
        dataset_directory(tiles, name)
    assert dataset_directory(tiles, "my-data.v2") == tmp_path / "t_partitions_aschips_0123456789abc" / "my-data.v2"
