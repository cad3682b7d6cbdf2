"""Where the export writes: only over a folder or zip geetiles made (export.dest, export.zip, the legacy
zip), refusing anything else with one line before anything is written; and after a kill -9, no
worker left running and a next export that cleans up and succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from geetiles.errors import UserInputError
from geetiles.runner import RunContext
from tests.conftest import DEMO_RUN, files_under, geet_cmd, geetiles_cmd
from tests.in_process import run_in_process
from tests.test_process_pool import descendants, running, wait_until


def experiment(tiles: Path, *overrides: str):
    """The Experiment of ``python -m geetiles stages=[export] export.tiles_file=... <overrides>``."""
    from geetiles.cli.compose import compose
    from geetiles.experiment import Experiment

    overrides = (
        "stages=[export]",
        f"export.tiles_file={tiles}",
        "source=demo",
        "labels=demo",
        "download.progress=none",
        f"data_dir={tiles.parent}",
        *overrides,
    )
    return Experiment.from_config(compose(list(overrides)), command="test")


def export(tiles: Path, *overrides: str) -> None:
    from geetiles.export import stage

    exp = experiment(tiles, *overrides)
    stage.check(exp)
    stage.run(exp, RunContext())


def users_folder(path: Path) -> Path:
    (path / "photos").mkdir(parents=True)
    (path / "thesis.tex").write_text("years of work")
    (path / "photos" / "cat.jpg").write_bytes(b"\xff\xd8 a cat")
    return path


def snapshot(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in files_under(root)}


def foreign_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("holiday/cat.jpg", b"a cat")
    return path


def dest_of(tiles: Path) -> Path:
    return tiles.with_name(f"{tiles.stem}_dataset")


def test_a_users_folder_as_export_dest_is_refused_in_check_and_kept_whole(dataset, tmp_path):
    mine = users_folder(tmp_path / "mine")
    before = snapshot(tmp_path)
    from geetiles.export import stage

    with pytest.raises(UserInputError, match="did not make it.*choose another export.dest") as caught:
        stage.check(experiment(dataset, f"export.dest={mine}"))
    assert str(mine) in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(UserInputError, match="did not make it"):  # run checks again, before writing
        stage.run(experiment(dataset, f"export.dest={mine}"), RunContext())
    assert snapshot(tmp_path) == before


def test_an_empty_folder_is_used_and_a_geetiles_one_replaced(dataset, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    export(dataset, f"export.dest={empty}")
    assert (empty / "chips.parquet").is_file() and (empty / ".geetiles-made").is_file()
    (empty / "images" / "stale.tif").write_bytes(b"old")
    export(dataset, f"export.dest={empty}", "export.zip=true")
    assert not (empty / "images" / "stale.tif").exists()
    with zipfile.ZipFile(tmp_path / "empty.zip") as archive:
        assert archive.comment == b"made by geetiles: dataset"
    export(dataset, f"export.dest={empty}", "export.zip=true")  # its own zip is replaced too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "empty", "empty.zip"]


def test_datasets_and_zips_made_before_markers_are_replaced(dataset):
    export(dataset, "export.zip=true", "export=all")
    dest = dest_of(dataset)
    legacy = dataset.parent / "t_demo-imagery_demo-landcover"
    # as geetiles wrote them before markers: no marker file, no zip comment
    for folder in (dest, legacy):
        (folder / ".geetiles-made").unlink()
    for archive in (dest.with_name(f"{dest.name}.zip"), legacy.with_name(f"{legacy.name}.zip")):
        with zipfile.ZipFile(archive, "a") as opened:
            opened.comment = b""
    (dest / "images" / "stale.tif").unlink(missing_ok=True)
    export(dataset, "export.zip=true", "export=all")
    assert (dest / ".geetiles-made").is_file() and (legacy / ".geetiles-made").is_file()


def test_a_users_file_added_to_an_old_dataset_makes_it_the_users(dataset):
    export(dataset)
    dest = dest_of(dataset)
    (dest / ".geetiles-made").unlink()  # as before markers
    (dest / "my_notes.txt").write_text("mine")
    with pytest.raises(UserInputError, match="did not make it"):
        export(dataset)
    assert (dest / "my_notes.txt").read_text() == "mine"


@pytest.mark.parametrize("where", ["export.zip", "legacy zip", "legacy folder"])
def test_a_foreign_zip_or_folder_is_refused_before_anything_is_written(dataset, where):
    overrides = ["export=all"] + (["export.zip=true"] if where == "export.zip" else [])
    if where == "export.zip":
        foreign_zip(dataset.with_name(f"{dataset.stem}_dataset.zip"))
    elif where == "legacy zip":
        foreign_zip(dataset.with_name("t_demo-imagery_demo-landcover.zip"))
    else:
        users_folder(dataset.with_name("t_demo-imagery_demo-landcover"))
    before = snapshot(dataset.parent)
    with pytest.raises(UserInputError, match="did not make it"):
        export(dataset, *overrides)
    assert snapshot(dataset.parent) == before  # not even the dataset folder, which came first


@pytest.mark.slow
@pytest.mark.parametrize("how", ["export.dest", "export.zip", "geet zip.dataset", "before the first stage"])
def test_the_cli_refuses_with_one_line_and_exit_2(dataset, tmp_path, how):
    mine = users_folder(tmp_path / "mine")
    if how == "export.dest":
        command = geetiles_cmd(
            "stages=[export]", f"export.tiles_file={dataset}", "source=demo", "labels=demo", f"export.dest={mine}"
        )
    elif how == "export.zip":
        foreign_zip(dataset.with_name(f"{dataset.stem}_dataset.zip"))
        command = geetiles_cmd(
            "stages=[export]", f"export.tiles_file={dataset}", "source=demo", "labels=demo", "export.zip=true"
        )
    elif how == "geet zip.dataset":
        foreign_zip(dataset.with_name("t_demo-imagery_demo-landcover.zip"))
        command = geet_cmd(
            "zip.dataset",
            "--tiles_file",
            str(dataset),
            "--images_dataset_def",
            "demo-imagery",
            "--labels_dataset_def",
            "demo-landcover",
        )
    else:  # the tiles file comes from this run's tiling: export.dest is still checked before it runs
        command = geetiles_cmd(*DEMO_RUN, f"data_dir={tmp_path / 'new'}", f"export.dest={mine}")
    before = snapshot(tmp_path)
    result = run_in_process(command, tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "geetiles will not replace it" in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "new").exists()


# --- kill -9 during an export ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def larger_run(tmp_path_factory, ray_session) -> Path:
    """A demo run of 488 chips (48 x 48 pixels), up to the split: long enough an export to kill it
    while its workers write."""
    folder = tmp_path_factory.mktemp("larger_run")
    run = [a for a in DEMO_RUN if not a.startswith(("aoi.bbox", "source.pixels", "labels.pixels"))]
    result = run_in_process(
        geetiles_cmd(
            *run,
            "aoi.bbox=[6.0,49.6,6.3,49.8]",
            "source.pixels_lonlat=[48,48]",
            "labels.pixels_lonlat=[48,48]",
            "stages=[aoi,tiling,download,proportions,split]",
        ),
        folder,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [tiles] = (folder / "outputs" / "data").glob("t_partitions_aschips_*.geojson")
    return tiles


@pytest.mark.long
@pytest.mark.slow
def test_kill_9_during_an_export_leaves_no_worker_and_the_next_export_cleans_up(larger_run):
    tiles = larger_run
    dest = dest_of(tiles)
    command = geetiles_cmd(
        "stages=[export]",
        f"export.tiles_file={tiles}",
        "source=demo",
        "labels=demo",
        "export=all",
        "export.workers=2",
        "download.progress=none",
        f"hydra.run.dir={tiles.parent.parent / 'runs'}",
    )
    env = {**os.environ}
    env.pop("HYDRA_FULL_ERROR", None)
    process = subprocess.Popen(command, cwd=tiles.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    below: list[int] = []
    try:

        def working() -> bool:  # its building folder exists and pool workers (below the forkserver) run
            nonlocal below
            below = descendants(process.pid)
            building = list(tiles.parent.glob(f".{dest.name}.building-{process.pid}*"))
            return bool(building) and any(descendants(pid) for pid in below)

        assert wait_until(working, 120), "the export never reached its worker pool"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    try:
        assert below, "no child process seen before the kill"
        assert wait_until(lambda: not running(below), 10), f"alive 10 s after kill -9: {running(below)}"
    finally:
        for pid in running(below):  # the killed export's own processes only
            os.kill(pid, signal.SIGKILL)
    left = list(tiles.parent.glob(f".{dest.name}.*")) + list(tiles.parent.glob(".t_demo-imagery_demo-landcover.*"))
    assert left, "killed mid-way: its building folder is still there"
    started = time.monotonic()
    result = run_in_process(command, tiles.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (dest / "chips.parquet").is_file() and time.monotonic() - started < 300
    assert not [p for p in tiles.parent.iterdir() if p.name.startswith(".")], "stale building folders left"
