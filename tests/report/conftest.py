"""Synthetic inputs for the report: a small tiles file (with or without split, labels, downloads,
failures, foreign units), GeoTIFF chips written with rasterio, download records and manifests, a
split report and the AOI file, as a run leaves them."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import yaml

LAT0, LON0, STEP = 49.6, 6.0, 0.01
CLASSES = [
    {"code": 10, "name": "Tree cover", "color": "#006400"},
    {"code": 40, "name": "Cropland", "color": "#f096ff"},
    {"code": 50, "name": "Built-up", "color": "#fa0000"},
]
IMAGES, LABELS = "img", "lc"
SPLITS = ("train", "train", "val", "gap", "test")


def build(
    folder: Path,
    side: int = 5,
    split: bool = True,
    labels: bool = True,
    images: bool = True,
    failures: int = 0,
    foreign: bool = False,
    wide: bool = False,
    empty: bool = False,
) -> Path:
    """A tiles file ``folder/s_partitions_aschips_0123456789abc.geojson`` of side x side chips and what a
    run leaves beside it; returns its path."""
    import geopandas as gpd
    import shapely

    from geetiles.tiles import write_tiles

    folder.mkdir(parents=True, exist_ok=True)
    tiles = folder / "s_partitions_aschips_0123456789abc.geojson"
    n = 0 if empty else side * side
    col, row = np.arange(n) % side, np.arange(n) // side
    x0, y0 = LON0 + col * STEP, LAT0 + row * STEP
    ids = [f"c{i:04d}" for i in range(n)]
    frame = gpd.GeoDataFrame(
        {"identifier": ids, "area_km2": np.full(n, 0.8)},
        geometry=shapely.box(x0, y0, x0 + STEP, y0 + STEP),
        crs="EPSG:4326",
    )
    rng = np.random.default_rng(1)
    shares = rng.dirichlet([1, 1, 1], n) if n else np.zeros((0, 3))
    if labels:
        frame[f"{LABELS}_proportions"] = [
            {str(c["code"]): float(v) for c, v in zip(CLASSES, row_) if v > 0.01} for row_ in shares
        ]
        frame[f"{LABELS}_valid_frac"] = 1.0
        if wide:
            for c, column in zip(CLASSES, shares.T):
                frame[f"{LABELS}_class_{c['code']}"] = column
    if split:
        frame["split"] = [SPLITS[c % len(SPLITS)] for c in col]
    if foreign:
        frame["foreignid_blocks"] = [f"b{r // 2}{c // 2}" for r, c in zip(row, col)]
    twin_only = [c for c in frame.columns if "_class_" in c]
    write_tiles(frame, tiles, twin_only=twin_only)
    (folder / "s.wkt").write_text(shapely.box(LON0, LAT0, LON0 + side * STEP, LAT0 + side * STEP).wkt + "\n")
    if images:
        _dataset(tiles, IMAGES, frame, None, failures)
    if labels:
        _dataset(tiles, LABELS, frame, shares, 0)
    if split:
        _split_report(tiles, frame)
    if foreign:
        units = gpd.GeoDataFrame(
            {"identifier": [f"b{r}{c}" for r in range(3) for c in range(3)]},
            geometry=[
                shapely.box(
                    LON0 + c * 2 * STEP, LAT0 + r * 2 * STEP, LON0 + (c + 1) * 2 * STEP, LAT0 + (r + 1) * 2 * STEP
                )
                for r in range(3)
                for c in range(3)
            ],
            crs="EPSG:4326",
        )
        foreign_path = folder / "s_partitions_blocks_0123456789abd.geojson"
        write_tiles(units, foreign_path)
        record = {
            "stage": "intersect",
            "tiles_file": str(tiles),
            "foreign_file": str(foreign_path),
            "column": "foreignid_blocks",
        }
        (folder / f"{tiles.stem}.foreignid_blocks.geetiles.yaml").write_text(yaml.safe_dump(record))
    return tiles


def _dataset(tiles: Path, name: str, frame, shares, failures: int) -> None:
    """Chips of a dataset (GeoTIFFs), its download record, manifest.csv and failures.csv."""
    import rasterio

    folder = tiles.with_suffix("") / name
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    failed = set(frame["identifier"].tolist()[:failures])
    for i, (identifier, geometry) in enumerate(zip(frame["identifier"], frame.geometry)):
        if identifier in failed:
            rows.append(
                [identifier, "failed", 3, 0, "", "HTTP 429 Too Many Requests" if i % 2 else "timeout after 300 s"]
            )
            continue
        if shares is None:
            pixels = (np.random.default_rng(i).normal(1000, 300, (3, 16, 16)).clip(1, 4000)).astype(np.uint16)
            profile = {"count": 3, "dtype": "uint16", "nodata": 0}
        else:
            codes = np.array([c["code"] for c in CLASSES], dtype=np.uint8)
            pixels = codes[np.random.default_rng(i).choice(3, (1, 16, 16), p=shares[i] / shares[i].sum())]
            profile = {"count": 1, "dtype": "uint8", "nodata": 0}
        with rasterio.open(
            folder / f"{identifier}.tif",
            "w",
            driver="GTiff",
            width=16,
            height=16,
            crs="EPSG:4326",
            transform=_transform(geometry.bounds),
            **profile,
        ) as out:
            out.write(pixels)
        rows.append([identifier, "done", 1, 100, "abc", ""])
    lines = ["identifier,status,attempts,bytes,checksum,error"] + [
        ",".join(f'"{v}"' if isinstance(v, str) else str(v) for v in r) for r in rows
    ]
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n")
    (folder / "failures.csv").write_text(
        "identifier,attempts,error\n" + "".join(f'"{r[0]}",{r[2]},"{r[5]}"\n' for r in rows if r[1] == "failed")
    )
    record = {
        "stage": "download",
        "tiles_file": str(tiles),
        "bands": ["B4", "B3", "B2"] if shares is None else ["Map"],
        "dtype": "uint16" if shares is None else "uint8",
        "nodata": 0,
        "summary": {
            "total": len(rows),
            "done": len(rows) - len(failed),
            "skipped": 0,
            "failed": len(failed),
            "retries": 2,
            "requests": len(rows) + 2,
            "elapsed_s": 1.5,
        },
    }
    if shares is not None:
        record["classes"] = CLASSES
    (folder / "manifest.geetiles.yaml").write_text(yaml.safe_dump(record, sort_keys=False))


def _transform(bounds) -> object:
    from affine import Affine

    west, south, east, north = bounds
    return Affine((east - west) / 16, 0, west, 0, -(north - south) / 16, north)


def _split_report(tiles: Path, frame) -> None:
    counts = frame["split"].value_counts().to_dict()
    report = {
        "strategy": "blocks",
        "chips": len(frame),
        "requested_fractions": {"train": 0.7, "val": 0.15, "test": 0.15},
        "by": "count",
        "counts": counts,
        "fractions_by_count": {k: v / len(frame) for k, v in counts.items()},
        "fractions_by_area": {k: v / len(frame) for k, v in counts.items()},
        "buffer_m": 500.0,
        "leakage": {
            "buffer_m": 500.0,
            "train": 10,
            "val_test": 10,
            "measured": 10,
            "min_m": 0.0,
            "p5_m": 0.0,
            "median_m": 700.0,
            "share_touching": 0.5,
            "share_within_buffer": 0.5,
        },
        "class_shares": {},
        "warnings": ["a <warning> to escape"],
    }
    tiles.with_name(f"{tiles.stem}_splits_report.json").write_text(json.dumps(report))


def experiment(tiles: Path, *overrides: str):
    """The Experiment of ``python -m geetiles stages=[report] report.tiles_file=... <overrides>``."""
    from geetiles.experiment import Experiment
    from tests.composing import compose_with

    return Experiment.from_config(
        compose_with(
            ["stages=[report]", "source=none", "labels=none", *overrides],
            {"report.tiles_file": str(tiles), "data_dir": str(tiles.parent)},
        ),
        command="test",
    )


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.scripts: list[dict] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "srcset", "data", "poster", "action", "xlink:href") and value is not None:
                self.refs.append((tag, name, value))
        if tag == "script":
            self.scripts.append(dict(attrs))


def assert_self_contained(index: Path) -> list[str]:
    """The page names nothing outside its folder (no URL, no script file, no @import) and every image it
    names exists beside it; returns the image files."""
    text = index.read_text(encoding="utf-8")
    parser = _Refs()
    parser.feed(text)
    assert not parser.scripts, "the page has a <script>"
    assert not re.search(r"<script[^>]*\bsrc", text, re.IGNORECASE)
    assert "@import" not in text
    assert not re.search(r"url\(\s*['\"]?\s*(https?:|//)", text, re.IGNORECASE)
    images = []
    for tag, attribute, value in parser.refs:
        assert not re.match(r"\s*(https?:|//|ftp:|file:)", value, re.IGNORECASE), (
            f"external reference {tag} {attribute}={value}"
        )
        if value.startswith("#") or value.startswith("data:"):
            continue
        assert not value.startswith("/") and ".." not in value, f"reference out of the folder: {value}"
        assert (index.parent / value).is_file(), f"{value} named by the page does not exist"
        if tag == "img":
            images.append(value)
    return images


@pytest.fixture
def synthetic(tmp_path) -> Path:
    return build(tmp_path / "data", failures=3, foreign=True)
