"""``geet cleanup``: exactly the unreadable chips go, the manifest stops calling them done, the
download fetches them again, and readable files are not touched."""

from __future__ import annotations

import csv
import zlib
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_bounds

from geetiles.manifest import FAILURES, JOURNAL, MANIFEST, Manifest, chip_row
from geetiles.tools.cleanup import REMOVED, check_chip, cleanup
from tests.conftest import geet_cmd
from tests.fake_ee.fixtures import fake_ee  # noqa: F401
from tests.in_process import run_in_process


def tool_cmd(*args: str) -> list[str]:
    """The tools as a user runs them: geet mosaic, mosaic.fromvals, cleanup."""
    return geet_cmd(*args)


def write_chip(path: Path, size: int = 100, block: int = 112, **options) -> None:
    x = 6.0 + (zlib.crc32(path.name.encode()) % 50) * 0.01
    profile = dict(
        driver="GTiff",
        width=size,
        height=size,
        count=3,
        dtype="uint8",
        crs="EPSG:4326",
        transform=from_bounds(x, 49.6, x + 0.01, 49.61, size, size),
        nodata=0,
        tiled=True,
        blockxsize=block,
        blockysize=block,
        compress="deflate",
    )
    profile.update(options)
    rng = np.random.default_rng(len(path.name))
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(rng.integers(1, 255, (3, size, size), dtype=np.uint8))


GOOD = ["good1", "good2", "good3", "striped", "withoverviews"]
BAD = ["truncated", "garbage", "empty", "lasttile"]


def make_folder(folder: Path, manifest: bool = True, finalize: bool = True) -> dict[str, tuple[bytes, int]]:
    """Good and corrupt chips (and, optionally, a manifest saying every chip is done); returns the
    bytes and mtime of every file that must survive."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("good1", "good2", "good3", "truncated", "garbage", "empty"):
        write_chip(folder / f"{name}.tif")
    write_chip(folder / "striped.tif", tiled=False, compress="lzw", blockxsize=None, blockysize=None)
    write_chip(folder / "withoverviews.tif", size=300, block=128)
    with rasterio.open(folder / "withoverviews.tif", "r+") as dataset:
        dataset.build_overviews([2, 4])
    write_chip(folder / "lasttile.tif", size=300, block=128)  # 9 tiles; only the last one will be cut
    if manifest:
        chips = Manifest(folder)
        chips.record(
            [
                chip_row(p.stem, "done", "req1", "grid1", nbytes=p.stat().st_size, stat=p.stat())
                for p in sorted(folder.glob("*.tif"))
            ]
        )
        if finalize:
            chips.finalize()
        else:
            chips._journal.close()  # a killed run: rows only in the journal
    data = (folder / "truncated.tif").read_bytes()
    (folder / "truncated.tif").write_bytes(data[: len(data) // 2])
    (folder / "garbage.tif").write_bytes(b"\x00garbage" * 100)
    (folder / "empty.tif").write_bytes(b"")
    data = (folder / "lasttile.tif").read_bytes()
    (folder / "lasttile.tif").write_bytes(data[:-64])
    (folder / "notes.txt").write_text("not a chip")
    (folder / ".good1.tmp123.tif").write_bytes(b"a running download's temporary")
    keep = [p for p in folder.iterdir() if p.stem not in BAD]
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in keep}


def manifest_rows(folder: Path) -> dict[str, dict]:
    with open(folder / MANIFEST, newline="") as file:
        return {row["identifier"]: row for row in csv.DictReader(file)}


def test_exactly_the_unreadable_chips_are_removed_and_the_manifest_updated(tmp_path):
    folder = tmp_path / "chips"
    kept = make_folder(folder)
    before = manifest_rows(folder)
    assert {row["status"] for row in before.values()} == {"done"}
    lines: list[str] = []
    summary = cleanup(folder, report=lines.append)
    assert sorted(p.stem for p, _ in summary.removed) == sorted(BAD)
    assert len(lines) == len(BAD) and all(line.startswith("removed ") for line in lines)
    assert summary.checked == len(GOOD) + len(BAD) and summary.manifest_rows == len(BAD)
    assert sorted(p.name for p in folder.glob("*.tif") if not p.name.startswith(".")) == sorted(
        f"{n}.tif" for n in GOOD
    )
    for name, (data, mtime) in kept.items():
        if name in (MANIFEST, FAILURES):
            continue
        path = folder / name
        assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime, name  # untouched
    rows = manifest_rows(folder)
    assert set(rows) == set(before)
    for name in BAD:
        assert rows[name]["status"] == REMOVED and "geet cleanup" in rows[name]["error"]
    for name in GOOD:
        assert rows[name] == before[name]
    with open(folder / FAILURES, newline="") as file:
        assert sorted(row["identifier"] for row in csv.DictReader(file)) == sorted(BAD)
    # what the download's resume decides: good chips are trusted as they are, removed ones are not
    again = Manifest(folder)
    identifiers = np.array(GOOD + BAD)
    known = again.lookup(identifiers)
    assert known["found"].all()
    for i, name in enumerate(identifiers):
        path = folder / f"{name}.tif"
        if name in GOOD:
            assert again.untouched(known, i, path.stat())
        else:
            assert not path.exists() and known["status"][i] == REMOVED
    # a second run finds nothing more
    assert cleanup(folder, report=lines.append).removed == []


def test_rows_of_a_killed_run_are_folded_in(tmp_path):
    folder = tmp_path / "chips"
    make_folder(folder, finalize=False)
    assert (folder / JOURNAL).exists() and not (folder / MANIFEST).exists()
    summary = cleanup(folder, report=lambda line: None)
    assert summary.manifest_rows == len(BAD)
    assert not (folder / JOURNAL).exists()
    rows = manifest_rows(folder)
    assert {rows[n]["status"] for n in BAD} == {REMOVED} and {rows[n]["status"] for n in GOOD} == {"done"}


def test_without_a_manifest_none_is_made(tmp_path):
    folder = tmp_path / "chips"
    make_folder(folder, manifest=False)
    summary = cleanup(folder, report=lambda line: None)
    assert len(summary.removed) == len(BAD) and not summary.manifest
    assert not (folder / MANIFEST).exists() and not (folder / FAILURES).exists()


def test_a_file_that_cannot_be_read_at_all_is_reported_not_removed(tmp_path, monkeypatch):
    import geetiles.tools.cleanup as module

    make_folder(tmp_path, manifest=False)
    real = module.check_chip

    def no_permission(path):
        if path.stem in ("good1", "garbage"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(module, "check_chip", no_permission)
    lines: list[str] = []
    summary = cleanup(tmp_path, report=lines.append)
    assert sorted(p.stem for p, _ in summary.skipped) == ["garbage", "good1"]
    assert (tmp_path / "good1.tif").exists() and (tmp_path / "garbage.tif").exists()
    assert sorted(p.stem for p, _ in summary.removed) == sorted(set(BAD) - {"garbage"})
    assert sum(line.startswith("skipped ") for line in lines) == 2 and "could not be checked" in summary.line()


def test_check_chip_reasons(tmp_path):
    make_folder(tmp_path, manifest=False)
    for name in GOOD:
        assert check_chip(tmp_path / f"{name}.tif") is None, name
    for name in BAD:
        reason = check_chip(tmp_path / f"{name}.tif")
        assert reason and "\n" not in reason and "previous exception" not in reason, (name, reason)


def test_command_line(tmp_path):
    folder = tmp_path / "chips"
    make_folder(folder)
    result = run_in_process(tool_cmd("cleanup", "--basedir", str(folder)), tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(BAD) + 1
    assert sorted(Path(line.split(":")[0].split(" ", 1)[1]).stem for line in lines[:-1]) == sorted(BAD)
    assert lines[-1].startswith(f"cleanup: removed {len(BAD)} unreadable of {len(GOOD) + len(BAD)}")
    assert "manifest.csv" in lines[-1]
    assert (folder / "cleanup.geetiles.yaml").exists()
    again = run_in_process(tool_cmd("cleanup", "--basedir", str(folder)), tmp_path)
    assert again.returncode == 0 and "nothing removed" in again.stdout
    missing = run_in_process(tool_cmd("cleanup", "--basedir", str(tmp_path / "nope")), tmp_path)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    assert "does not exist" in missing.stderr


@pytest.fixture
def download_setup(tmp_path, fake_ee, ray_session):  # noqa: F811 (the imported fixture)
    from tests.download.helpers import credentials_file

    return tmp_path, fake_ee, credentials_file(tmp_path, fake_ee)


def test_the_next_download_fetches_exactly_the_removed_chips(download_setup):
    from tests.download.helpers import assert_chip_matches_server, dataset_dir, download, make_tiles

    folder, server, credentials = download_setup
    tiles = make_tiles(folder)
    download(tiles, server, credentials)
    directory = dataset_dir(tiles)
    chips = sorted(directory.glob("*.tif"))
    victims = chips[:2]
    for path in victims:
        path.write_bytes(path.read_bytes()[:300])
    untouched = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in chips[2:]}
    summary = cleanup(directory, report=lambda line: None)
    assert sorted(p.name for p, _ in summary.removed) == sorted(p.name for p in victims)
    assert {manifest_rows(directory)[p.stem]["status"] for p in victims} == {REMOVED}
    server.reset_counters()
    download(tiles, server, credentials)
    assert server.compute_pixels_calls == 1 + len(victims)  # the probe, then only the removed chips
    for path in victims:
        assert_chip_matches_server(path)
        assert manifest_rows(directory)[path.stem]["status"] == "done"
    for name, (data, mtime) in untouched.items():
        assert (directory / name).read_bytes() == data and (directory / name).stat().st_mtime_ns == mtime


def test_nothing_outside_the_folder_is_touched(tmp_path):
    """A chip that is a link to an unreadable file outside: the link goes, the file it points to stays; a
    file whose name is no chip identifier is removed but never journaled as one."""
    folder, outside = tmp_path / "chips", tmp_path / "outside"
    make_folder(folder)
    outside.mkdir()
    victim = outside / "victim.tif"
    victim.write_bytes(b"the user's own file, not a GeoTIFF")
    stat = victim.stat()
    (folder / "link.tif").symlink_to(victim)
    (folder / "a b.tif").write_bytes(b"garbage")
    before = manifest_rows(folder)
    summary = cleanup(folder, report=lambda line: None)
    assert {p.name for p, _ in summary.removed} >= {"link.tif", "a b.tif"}
    assert victim.read_bytes() == b"the user's own file, not a GeoTIFF"
    assert victim.stat().st_mtime_ns == stat.st_mtime_ns
    assert sorted(p.name for p in outside.iterdir()) == ["victim.tif"]
    assert set(manifest_rows(folder)) == set(before)  # no row for 'a b' nor 'link'
