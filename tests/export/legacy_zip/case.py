"""0.1.7's ``geet zip.dataset`` cases (tests/data/original017/files/zip/tokyo, CASES.md): their inputs
rebuilt as 0.1.7's run saw them, what its zips held, and readers of ours. The conftest imports the
fixtures."""

from __future__ import annotations

import atexit
import functools
import gzip
import hashlib
import json
import pickle
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from geetiles.export.inputs import DatasetInfo, ExportInput
from geetiles.export.legacy_zip import write_legacy_zip

ORIGINAL = Path(__file__).resolve().parents[2] / "data" / "original017" / "files"
CASE = ORIGINAL / "zip" / "tokyo"
CHIPS = "tokyo_partitions_aschips_0425f1f89eea7"  # 246 chips of 1 km (0.1.7's grid)
RANDOM5K = "tokyo_partitions_5k_2b30fd879770a"  # 0.1.7's random pieces, with lp.compute's proportions
IMAGES, LABELS = "sentinel2-rgb-median-2020", "esa-world-cover"
FOLDER = f"tokyo_{IMAGES}_{LABELS}"
REF_PYTHON = Path("/work/ref017/venv/bin/python")  # 0.1.7's throw-away venv (numpy 1.26), where it exists


def gz_json(path: Path):
    return json.loads(gzip.decompress(path.read_bytes()))


@pytest.fixture(scope="package")
def original() -> dict:
    """What 0.1.7's zips held: members per case, and per case and chip a summary of its pickle."""
    return {"members": gz_json(CASE / "members.json.gz"), **gz_json(CASE / "pickles.json.gz")}


def build_case(folder: Path, case: str = "tokyo", complete: bool = False) -> Path:
    """The inputs 0.1.7's run saw: the tiles file after its lp.compute and split (and, for
    ``tokyo-foreign``, lp.from_foreign), the splits csv, the foreign file, the readme, and the chips
    as GeoTIFFs (6 chips without image; for ``tokyo-foreign`` 3 more without label). ``complete``
    writes every chip. Each kind is written once per process (GDAL, ~0.5 s) and copied after."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(_built(case, complete), folder, dirs_exist_ok=True)
    return folder / f"{CHIPS}.geojson"


@functools.cache
def _built(case: str, complete: bool) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="geetiles-zip-case-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    _write_case(folder, case, complete)
    return folder


def _write_case(folder: Path, case: str, complete: bool) -> None:
    import rasterio

    source = CASE / (f"input_foreign_{CHIPS}.geojson.gz" if case == "tokyo-foreign" else f"input_{CHIPS}.geojson.gz")
    (folder / f"{CHIPS}.geojson").write_bytes(gzip.decompress(source.read_bytes()))
    shutil.copy(CASE / f"input_{CHIPS}_splits.csv", folder / f"{CHIPS}_splits.csv")
    foreign = ORIGINAL / "proportions" / "tokyo" / f"lp_compute_{RANDOM5K}.geojson.gz"
    (folder / f"{RANDOM5K}.geojson").write_bytes(gzip.decompress(foreign.read_bytes()))
    shutil.copy(CASE / "README.txt", folder / "README.txt")
    chips = np.load(CASE / "chips.npz")
    absent = {
        IMAGES: set() if complete else set(chips["no_image"].tolist()),
        LABELS: set(chips["no_label"].tolist()) if case == "tokyo-foreign" and not complete else set(),
    }
    for name, arrays in ((IMAGES, chips["images"]), (LABELS, chips["labels"][:, None])):
        target = folder / CHIPS / name
        target.mkdir(parents=True, exist_ok=True)
        for identifier, values, transform in zip(chips["ids"].tolist(), arrays, chips["transforms"]):
            if identifier in absent[name]:
                continue
            with rasterio.open(
                target / f"{identifier}.tif",
                "w",
                driver="GTiff",
                width=values.shape[2],
                height=values.shape[1],
                count=values.shape[0],
                dtype=values.dtype,
                crs="EPSG:4326",
                transform=rasterio.Affine.from_gdal(*transform),
            ) as out:
                out.write(values)


def export_input(tiles: Path, labels: bool = True, classes: tuple = ()) -> ExportInput:
    """What the export stage hands the format: the chips whose image exists (0.1.7's folders have no
    download record, so no classes: the packaged esa-world-cover recipe gives them)."""
    from geetiles.tiles import load_tiles

    frame = load_tiles(tiles)
    base = tiles.with_suffix("")
    images = DatasetInfo(IMAGES, base / IMAGES, ("vis-red", "vis-green", "vis-blue"), "uint8", None, (), {})
    label_info = DatasetInfo(LABELS, base / LABELS, ("Map",), "uint8", None, classes, {}) if labels else None
    keep = np.array([images.path(i).exists() for i in frame["identifier"]])
    frame = frame[keep].reset_index(drop=True)
    identifiers = frame["identifier"].astype(str).to_numpy()
    return ExportInput(
        tiles, frame, identifiers, np.full(len(identifiers), "all", dtype=object), images, label_info, "tokyo", 0, {}
    )


def read_zip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}


def pickles(members: dict[str, bytes]) -> dict[str, dict]:
    return {Path(name).stem: pickle.loads(data) for name, data in members.items() if name.endswith(".pkl")}


def digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def type_name(value) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


@pytest.fixture(scope="package", params=["tokyo", "tokyo-foreign"])
def made(request, tmp_path_factory):
    """(case, tiles file, our zip) on 0.1.7's inputs of that case."""
    case = request.param
    tiles = build_case(tmp_path_factory.mktemp(case), case)
    foreign = tiles.with_name(f"{RANDOM5K}.geojson") if case == "tokyo-foreign" else None
    readme = tiles.with_name("README.txt") if case == "tokyo-foreign" else None
    return case, tiles, write_legacy_zip(export_input(tiles), foreign, readme)
