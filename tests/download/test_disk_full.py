"""A disk that fills up during a download ends the run with one line (``disk full while writing X; free
space and rerun: finished chips are kept``), exit status 1, no traceback and no temporary file: the
chips that finished are kept and journaled, none is reported as a failed chip, and after freeing space a
rerun fetches only the rest and the export succeeds.

In-process, the full disk is an ENOSPC injected into the chip writes (``download.write_on=driver``, so
the writes happen in this process); ``test_a_real_full_disk_*`` fills a small tmpfs when the machine lets
this test mount one (root), and runs the command line as a user does."""

from __future__ import annotations

import asyncio
import errno
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from geetiles import manifest as manifest_module
from geetiles.cli.compose import compose
from geetiles.cli.errors import run_reporting
from geetiles.download.messages import ChipJob
from geetiles.download.worker import DownloadWorker
from geetiles.experiment import Experiment
from geetiles.fetching.grid import PixelGrid
from geetiles.manifest import FAILURES, JOURNAL, MANIFEST
from geetiles.runner import run_experiment
from geetiles.sources.demo import DemoSpec
from tests.conftest import DEMO_RUN, RAY_ENV, geetiles_cmd, run_cli
from tests.download.demo_run import (
    DATASETS,
    assert_checksums_recorded,
    chips,
    download,
    export,
    journaled,
    run,
    summary,
)

ONE_LINE = re.compile(r"geetiles: error: disk full while writing (\S+); free space and rerun: finished chips are kept")
LIMIT = 5  # chips written before the disk is full


class FullDisk:
    """ENOSPC for every chip written after the first ``limit`` (half the bytes land first, as on a
    real disk), and, with ``manifest``, for the manifest's CSV writes too."""

    def __init__(self, monkeypatch, limit: int, manifest: bool = False) -> None:
        self.written: list[str] = []
        real_write_bytes = Path.write_bytes

        def write_bytes(path: Path, data: bytes) -> int:
            if path.suffix == ".tif" and ".tmp" in path.name:
                if len(self.written) >= limit:
                    real_write_bytes(path, data[: len(data) // 2])
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                self.written.append(path.name.split(".")[1])  # .{identifier}.tmp{pid}.tif
            return real_write_bytes(path, data)

        monkeypatch.setattr(Path, "write_bytes", write_bytes)
        if manifest:

            def open_full(path, mode="r", *args, **kwargs):
                file = open(path, mode, *args, **kwargs)  # noqa: SIM115 (returned, closed by the writer)
                return _FullFile(file) if mode == "wb" and ".tmp" in Path(path).name else file

            monkeypatch.setattr(manifest_module, "open", open_full, raising=False)


class _FullFile:
    """A file on a full disk: its first write lands (a CSV header), the next ones raise ENOSPC."""

    def __init__(self, file) -> None:
        self.file, self.writes = file, 0

    def write(self, data) -> int:
        self.writes += 1
        if self.writes > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.file.write(data)

    def __getattr__(self, name):
        return getattr(self.file, name)


@pytest.fixture
def tiles(tmp_path, ray_session) -> Path:
    return run(None, tmp_path / "data", "aoi,tiling").tiles_file


def download_reporting(tiles: Path, capsys) -> str:
    """The download as an entry point runs it: what the user sees on stderr (it must exit 1)."""
    with pytest.raises(SystemExit) as exited:
        run_reporting(lambda: run(tiles, tiles.parent, "download", "download.write_on=driver"))
    assert exited.value.code == 1
    return capsys.readouterr().err


def temporaries(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if ".tmp" in p.name]


@pytest.mark.slow  # on the session's Ray
def test_a_full_disk_mid_download_is_one_line_keeps_finished_chips_and_a_rerun_completes(tiles, monkeypatch, capsys):
    full = FullDisk(monkeypatch, LIMIT)
    err = download_reporting(tiles, capsys)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    images = tiles.with_suffix("") / "demo-imagery"
    assert Path(ONE_LINE.fullmatch(err.strip()).group(1)).parent == images
    assert sorted(chips(tiles, "demo-imagery")) == sorted(full.written)  # finished chips kept
    assert temporaries(tiles.parent) == []  # nothing half-written
    rows = (images / MANIFEST).read_text().splitlines()
    assert len(rows) == 1 + LIMIT  # the manifest was finalized with the finished chips ...
    assert (images / FAILURES).read_text().splitlines()[1:] == []  # ... and no chip reported failed
    assert summary(tiles, "demo-imagery")["failed"] == 0
    assert not (tiles.with_suffix("") / "demo-landcover").exists()  # the run stopped there

    monkeypatch.undo()  # space freed
    got = download(tiles)
    assert (got["demo-imagery"]["skipped"], got["demo-imagery"]["requests"]) == (LIMIT, 16 - LIMIT)
    assert got["demo-landcover"]["done"] == 16
    assert_checksums_recorded(tiles)
    run(tiles, tiles.parent, "proportions,split")
    export(tiles)


@pytest.mark.slow  # on the session's Ray
def test_when_the_manifest_cannot_be_written_either_the_journal_survives_and_the_rerun_folds_it(
    tiles, monkeypatch, capsys
):
    FullDisk(monkeypatch, LIMIT, manifest=True)
    err = download_reporting(tiles, capsys)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    images = tiles.with_suffix("") / "demo-imagery"
    assert Path(ONE_LINE.fullmatch(err.strip()).group(1)) == images / MANIFEST
    assert not (images / MANIFEST).exists() and temporaries(tiles.parent) == []
    assert journaled(images) == set(chips(tiles, "demo-imagery")) and len(journaled(images)) == LIMIT

    monkeypatch.undo()
    got = download(tiles)
    assert (got["demo-imagery"]["skipped"], got["demo-imagery"]["requests"]) == (LIMIT, 16 - LIMIT)
    assert not (images / JOURNAL).exists()
    assert_checksums_recorded(tiles)
    run(tiles, tiles.parent, "proportions,split")
    export(tiles)


def test_a_worker_reports_a_full_disk_as_such_not_as_a_failed_chip(tmp_path, monkeypatch):
    """On Ray, chips are written by the workers: a full disk comes back as ``disk_full`` naming the file
    (the driver then stops dispatching), with no temporary file left."""
    FullDisk(monkeypatch, 1)
    worker = DownloadWorker()
    worker.configure(DemoSpec("demo-imagery"), 0, True, 0, "request")
    grid = PixelGrid("EPSG:4326", (0.001, 0.0, 6.0, 0.0, -0.001, 49.7), 8, 8)
    jobs = [ChipJob(name, grid, str(tmp_path / f"{name}.tif"), None) for name in ("a", "b")]
    results = asyncio.run(worker.run_batch(jobs, {}))
    assert sorted(r.status for r in results) == ["disk_full", "done"]
    [full] = [r for r in results if r.status == "disk_full"]
    assert full.error == str(tmp_path / f"{full.identifier}.tif") and full.data is None
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{r.identifier}.tif" for r in results if r.status == "done"]


@pytest.mark.slow  # on the session's Ray
def test_the_export_on_a_full_disk_is_one_line_and_leaves_no_partial_dataset(tiles, monkeypatch, capsys):
    """Any stage's writes go through geetiles.atomic: the same line, the dataset folder being built removed."""
    from geetiles.tiff import cog

    run(tiles, tiles.parent, "download,proportions,split")
    real = cog._write_file
    count = {"n": 0}

    def write_file(path, data):
        count["n"] += 1
        if count["n"] > LIMIT:
            real(path, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(path, data)

    real_link = os.link

    def link(*args, **kwargs):  # the export links the download's chips: a full directory refuses them too
        count["n"] += 1
        if count["n"] > LIMIT:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_link(*args, **kwargs)

    monkeypatch.setattr(cog, "_write_file", write_file)
    monkeypatch.setattr(os, "link", link)
    with pytest.raises(SystemExit) as exited:
        run_reporting(lambda: run(tiles, tiles.parent, "export"))
    err = capsys.readouterr().err
    assert exited.value.code == 1 and "Traceback" not in err and ONE_LINE.fullmatch(err.strip()), err
    assert [p.name for p in tiles.parent.iterdir() if "dataset" in p.name] == []
    monkeypatch.undo()
    export(tiles)


def _mount_tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        return False
    command = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]
    done = subprocess.run(command, check=False, capture_output=True)
    return done.returncode == 0


def _fill(folder: Path, leave: int) -> Path:
    stat = os.statvfs(folder)
    filler = folder / "filler"
    filler.write_bytes(b"\0" * max(0, stat.f_bavail * stat.f_frsize - leave))
    return filler


@pytest.mark.long
@pytest.mark.slow
def test_a_real_full_disk_ends_the_command_with_one_line_and_a_rerun_completes(tmp_path, ray_session):
    """The command line on a tmpfs filled but for 60 KB: chips fill it mid-download (in Ray's workers)."""
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "4m"):
        pytest.skip("cannot mount a tmpfs here (needs root): the in-process tests inject ENOSPC instead")
    try:
        data = disk / "data"
        common = [*DEMO_RUN, f"data_dir={data}"]
        tiles = run(None, data, "aoi,tiling").tiles_file  # the setup, in-process: only the download is on trial
        assert [tiles] == list(data.glob("t_partitions_aschips_*.geojson"))
        filler = _fill(disk, 60 << 10)
        result = run_cli(geetiles_cmd(*common, "stages=[download]", f"download.tiles_file={tiles}"), disk, env=RAY_ENV)
        assert result.returncode == 1, result.stderr[-2000:]
        assert "Traceback" not in result.stderr and ONE_LINE.fullmatch(result.stderr.strip()), result.stderr[-2000:]
        kept = chips(tiles, "demo-imagery")
        assert 0 < len(kept) < 16 and temporaries(data) == []
        filler.unlink()
        # the same whole pipeline again, in-process on the session's Ray (raises if it fails)
        run_experiment(Experiment.from_config(compose(list(common)), command="test"))
        assert summary(tiles, "demo-imagery")["skipped"] == len(kept)
        assert_checksums_recorded(tiles)
        for kind, name in zip(("images", "labels"), DATASETS):
            exported = tiles.with_name(f"{tiles.stem}_dataset") / kind
            assert len(chips(tiles, name)) == 16
            assert {p.stem for p in exported.rglob("*.tif")} == set(chips(tiles, name))
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False, capture_output=True)
