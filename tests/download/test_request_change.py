"""A rerun skips only chips made by the same request: change a setting that keeps the dataset name
and every chip is fetched again (download.on_change=refetch) or the run stops with nothing changed
(download.on_change=refuse); an unchanged rerun sends no request."""

import os
import shutil
from pathlib import Path

import pytest
import rasterio
import yaml

from geetiles.cli.compose import quote
from geetiles.download import geotiff
from geetiles.errors import UserInputError
from geetiles.experiment import Experiment
from geetiles.runner import run_experiment
from geetiles.tiles import load_tiles
from tests.composing import compose_with
from tests.conftest import geetiles_cmd
from tests.download.helpers import FAST_RETRIES, credentials_file, dataset_dir, download, make_tiles
from tests.fake_ee.fixtures import fake_ee  # noqa: F401
from tests.in_process import run_in_process

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def first_download(tmp_path_factory, ray_session) -> tuple[Path, int]:
    """The tiling and the first demo download every test here starts from, made once per module (each test
    gets its own copy): every chip fetched, and an unchanged rerun fetches none. (tiles file, chips)."""
    tiles = make_tiles(tmp_path_factory.mktemp("first"), (6.0, 49.6, 6.04, 49.63))
    first = demo(tiles)
    total = first["total"]
    assert first["done"] == total > 0
    assert demo(tiles)["skipped"] == total  # unchanged: nothing fetched
    return tiles, total


@pytest.fixture
def tiles(first_download, tmp_path) -> Path:
    """A copy of the first download's data folder: the tiles file, its chips and their manifest."""
    source = first_download[0]
    shutil.copytree(source.parent, tmp_path / "data")
    return tmp_path / "data" / source.name


def demo(tiles, *extra):
    cfg = compose_with(
        ["stages=[download]", "source=none", "labels=demo", "labels.pixels_lonlat=[32,32]", *FAST_RETRIES, *extra],
        {"download.tiles_file": str(tiles)},
    )
    run_experiment(Experiment.from_config(cfg, command="test"))
    return summary(dataset_dir(tiles, "demo-landcover"))


def summary(directory):
    return yaml.safe_load((directory / "manifest.geetiles.yaml").read_text())["summary"]


def requests_of(directory) -> set[str]:
    return {geotiff.file_request(path) for path in directory.glob("*.tif")}


def snapshot(directory) -> dict:
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(directory.iterdir())}


@pytest.mark.parametrize(
    "change",
    [
        ["labels.pixels_lonlat=[16,16]"],
        ["labels.pixels_lonlat=null", "labels.meters_per_pixel=100"],
        ["labels.nodata=255"],
    ],
    ids=["pixels_lonlat", "meters_per_pixel", "nodata"],
)
def test_a_changed_setting_refetches_every_chip_or_is_refused(first_download, tiles, change, caplog):
    total = first_download[1]  # every chip fetched once, an unchanged rerun fetched none
    directory = dataset_dir(tiles, "demo-landcover")
    before = snapshot(directory)

    with pytest.raises(
        UserInputError, match=rf"{total} chips in .* were made with other settings .*download.on_change=refuse"
    ):
        demo(tiles, *change, "download.on_change=refuse")
    assert snapshot(directory) == before  # refused: nothing changed

    caplog.set_level("WARNING", logger="geetiles.download")
    again = demo(tiles, *change)
    assert again["done"] == total and again["skipped"] == 0
    assert any(f"{total} chips on disk were made with other settings" in r.getMessage() for r in caplog.records)
    assert len(requests_of(directory)) == 1  # one request in the folder: the new one
    key = change[0].split("=")[0].split(".")[1]
    assert any(key in r.getMessage() for r in caplog.records)  # the line names the setting that changed
    assert demo(tiles, *change)["skipped"] == total  # and the new request is now the one kept


def test_the_change_line_says_what_changed(tiles, caplog):
    caplog.set_level("WARNING", logger="geetiles.download")
    demo(tiles, "labels.pixels_lonlat=[16,16]")
    assert any("pixels_lonlat [32, 32] → [16, 16]" in r.getMessage() for r in caplog.records)


def test_chips_of_a_killed_run_with_other_settings_are_never_kept(tiles):
    """A run with the old settings was killed after writing chips it never journaled; the rerun
    with new settings must not adopt them (their files carry the old request's fingerprint)."""
    directory = dataset_dir(tiles, "demo-landcover")
    old = requests_of(directory)
    for name in ("manifest.csv", "failures.csv", "manifest.geetiles.yaml"):
        (directory / name).unlink()  # as if killed before the journal was written
    again = demo(tiles, "labels.nodata=255")
    assert again["done"] == again["total"]
    assert requests_of(directory).isdisjoint(old)


def test_files_of_geetiles_0_1_7_are_checked_and_adopted(tiles):
    directory = dataset_dir(tiles, "demo-landcover")
    for path in directory.glob("*.tif"):  # strip the fingerprint tag: a file as another tool wrote it
        with rasterio.open(path, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as chip:  # the chips are COGs
            chip.update_tags(geetiles_request="")
    for name in ("manifest.csv", "failures.csv", "manifest.geetiles.yaml"):
        (directory / name).unlink()
    again = demo(tiles)
    assert again["skipped"] == again["total"] and again["done"] == 0
    assert demo(tiles)["skipped"] == again["total"]  # adopted into the journal: trusted from now on


def test_earth_engine_recipe_and_definition_file_changes_refetch(tmp_path, fake_ee, ray_session):  # noqa: F811
    tiles = make_tiles(tmp_path, (6.0, 49.6, 6.03, 49.62))
    credentials = credentials_file(tmp_path, fake_ee)
    total = len(load_tiles(tiles))
    download(tiles, fake_ee, credentials, "source.pixels_lonlat=[8,8]")
    fake_ee.reset_counters()
    download(tiles, fake_ee, credentials, "source.pixels_lonlat=[8,8]")
    assert fake_ee.compute_pixels_calls == 1  # unchanged: the probe only
    fake_ee.reset_counters()
    download(tiles, fake_ee, credentials, "source.pixels_lonlat=[8,8]", "source.recipe.cloud_score_threshold=0.5")
    assert fake_ee.compute_pixels_calls == 1 + total  # a recipe field changed: every chip again

    definition = tmp_path / "mydata.py"
    definition.write_text(
        "import ee\n\ndef get_ee_image():\n    return ee.Image('ESA/WorldCover/v100').select('Map')\n"
    )
    extra = [f"source.dataset={quote(definition)}", "source.pixels_lonlat=[8,8]"]
    download(tiles, fake_ee, credentials, *extra)
    fake_ee.reset_counters()
    download(tiles, fake_ee, credentials, *extra)
    assert fake_ee.compute_pixels_calls == 1
    fake_ee.reset_counters()
    definition.write_text(definition.read_text() + "# edited in place\n")
    download(tiles, fake_ee, credentials, *extra)
    assert fake_ee.compute_pixels_calls == 1 + total


def _cli(tmp_path, *args):
    """``python -m geetiles ARGS`` in this process (what is refused here is refused before any process
    or Ray starts: the suite fails a test outside the slow set that starts one)."""
    return run_in_process(geetiles_cmd(*args, f"hydra.run.dir={tmp_path}/run"), tmp_path)


@pytest.mark.parametrize(
    "setting",
    [
        "download.max_in_flight=0",
        "download.max_requests_per_s=0",
        "download.batch_size=0",
        "download.max_attempts=-1",
        "source.pixels_lonlat=[0,10]",
        "source.pixels_lonlat=[100000,100]",
        "ray.start_timeout_s=0",
    ],
)
def test_settings_that_cannot_work_are_refused_before_the_tiling(tmp_path, setting):
    result = _cli(
        tmp_path,
        "aoi=bbox",
        "aoi.bbox=[6,49.6,6.1,49.7]",
        "aoi.name=t",
        f"data_dir={tmp_path}",
        "source=demo",
        "labels=none",
        setting,
    )
    assert result.returncode == 2, result.stderr[-1000:]
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("geetiles: error: ") and setting.split("=")[0] in line
    assert "tiling" not in result.stdout + result.stderr.replace(line, "")
    assert not list(tmp_path.glob("t_partitions_*"))


def test_an_empty_or_unreadable_tiles_file_is_refused_before_ray(tmp_path):
    empty = tmp_path / "t_partitions_aschips_0000000000000.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    garbage = tmp_path / "u_partitions_aschips_0000000000000.geojson"
    garbage.write_text("not json at all")
    for path, words in ((empty, "holds no chips"), (garbage, "cannot read")):
        result = _cli(tmp_path, "stages=[download]", f"download.tiles_file={path}", "source=demo", "labels=none")
        assert result.returncode == 2 and words in result.stderr, result.stderr[-1000:]
        assert "Ray" not in result.stdout + result.stderr
