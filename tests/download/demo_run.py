"""The offline demo experiment (tests/conftest.py DEMO_RUN: 16 chips of 24 x 24 pixels per dataset), run
in-process stage by stage, and what resume and export tests check in its chip folders."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import yaml

from geetiles.cli.compose import compose, quote
from geetiles.experiment import Experiment
from geetiles.manifest import JOURNAL, MANIFEST
from geetiles.runner import run_experiment
from geetiles.tiles import load_tiles
from tests.conftest import DEMO_RUN

DATASETS = ("demo-imagery", "demo-landcover")


def run(tiles: Path | None, folder: Path, stages: str, *extra: str):
    files = (
        [f"{stage}.tiles_file={quote(tiles)}" for stage in ("download", "proportions", "split", "export")]
        if tiles is not None
        else []
    )
    cfg = compose([*DEMO_RUN, f"data_dir={quote(folder)}", f"stages=[{stages}]", *files, *extra])
    return run_experiment(Experiment.from_config(cfg, command="test"))


def download(tiles: Path) -> dict[str, dict]:
    """Download both datasets again; each one's summary (done, skipped, requests...)."""
    run(tiles, tiles.parent, "download")
    return {name: summary(tiles, name) for name in DATASETS}


def summary(tiles: Path, name: str) -> dict:
    return yaml.safe_load((tiles.with_suffix("") / name / "manifest.geetiles.yaml").read_text())["summary"]


def export(tiles: Path) -> Path:
    """Export; check every chip of the tiles file is in it (images and labels) and return its folder."""
    run(tiles, tiles.parent, "export")
    dest = tiles.with_name(f"{tiles.stem}_dataset")
    identifiers = set(load_tiles(tiles)["identifier"])
    for kind in ("images", "labels"):
        assert {p.stem for p in (dest / kind).rglob("*.tif")} == identifiers, kind
    return dest


def chips(tiles: Path, name: str) -> dict[str, Path]:
    """The chip files of a dataset (no temporary file of a killed run)."""
    return {p.stem: p for p in (tiles.with_suffix("") / name).glob("*.tif") if not p.name.startswith(".")}


def manifest_rows(tiles: Path, name: str) -> dict[str, dict]:
    with open(tiles.with_suffix("") / name / MANIFEST, newline="") as f:
        return {row["identifier"]: row for row in csv.DictReader(f)}


def assert_checksums_recorded(tiles: Path) -> None:
    """Every chip is in its manifest as done, with the blake2b of its file's bytes (what the worker records)."""
    for name in DATASETS:
        rows = manifest_rows(tiles, name)
        for identifier, path in chips(tiles, name).items():
            assert rows[identifier]["status"] == "done"
            assert rows[identifier]["checksum"] == hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()


def journaled(folder: Path) -> set[str]:
    """The chips a running (or killed) download has journaled so far."""
    try:
        lines = (folder / JOURNAL).read_text().splitlines()
    except FileNotFoundError:
        return set()
    return {json.loads(line)["identifier"] for line in lines if line.endswith("}")}
