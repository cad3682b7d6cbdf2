"""A tiles file with one hostile identifier and the chip folders beside it, as a careless or hostile user
hands them over, and the checks that a stage refused it with one line and wrote nothing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

PLAIN = ("0a1b2c3d4e5f6", "1a1b2c3d4e5f6", "2a1b2c3d4e5f6")
TILES = "t_partitions_aschips_0123456789abc.geojson"
OUTSIDE = "{outside}"  # replaced by a folder beside the data folder: an absolute identifier pointing there

# each would put a chip (or a pickle, a tar member) outside its folder, or is no plain file name
TRAVERSAL = ["../../evil", f"{OUTSIDE}/victim", "a/b", "x" * 300, ".", "..", "", "a b", "a\x00b"]


def identifier_for(template: str, root: Path) -> str:
    return template.replace(OUTSIDE, str(root / "outside"))


def hostile_tiles(root: Path, identifier: str, twin: bool = True, datasets=("img",), split=None) -> Path:
    """``root/data/{TILES}``: the three PLAIN chips and one whose identifier is ``identifier``, with
    GeoTIFF chips in ``root/data/{tiles base}/{dataset}/`` (0.1.7's layout: no manifest, so chips are
    checked for presence). The fourth chip's file is planted where its identifier points, also outside the
    chip folder (``../../evil`` → ``root/data/evil.tif``), so code that followed the identifier would read
    it and write over it. ``root/outside/`` holds a file of the user's own."""
    import geopandas as gpd
    import shapely

    from geetiles.tiles import twin_path, write_tiles

    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    (root / "outside").mkdir(exist_ok=True)
    (root / "outside" / "keep.txt").write_text("a file of the user's own\n")
    ids = [*PLAIN, identifier]
    boxes = [shapely.box(6.0 + 0.01 * i, 49.6, 6.01 + 0.01 * i, 49.61) for i in range(len(ids))]
    frame = gpd.GeoDataFrame({"identifier": ids, "area_km2": np.full(len(ids), 0.8)}, geometry=boxes, crs="EPSG:4326")
    if split is not None:
        frame["split"] = split
    tiles = data / TILES
    write_tiles(frame, tiles)
    if not twin:
        twin_path(tiles).unlink()
    for dataset in datasets:
        folder = tiles.with_suffix("") / dataset
        folder.mkdir(parents=True, exist_ok=True)
        for i, chip in enumerate(PLAIN):
            write_chip(folder / f"{chip}.tif", boxes[i].bounds, i)
        target = Path(os.path.normpath(os.path.join(folder, f"{identifier}.tif")))
        plantable = "\x00" not in identifier and len(identifier) < 200 and identifier not in ("", ".", "..")
        if plantable:  # where the unchecked code would read it (and then write over it)
            target.parent.mkdir(parents=True, exist_ok=True)
            write_chip(target, boxes[-1].bounds, 9)
    return tiles


def write_chip(path: Path, bounds, seed: int) -> None:
    """A 16 x 16 three-band uint8 GeoTIFF over ``bounds`` (lon/lat)."""
    import rasterio
    from affine import Affine

    west, south, east, north = bounds
    pixels = np.random.default_rng(seed).integers(1, 255, (3, 16, 16), dtype=np.uint8)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=16,
        height=16,
        count=3,
        dtype="uint8",
        crs="EPSG:4326",
        transform=Affine((east - west) / 16, 0, west, 0, -(north - south) / 16, north),
    ) as out:
        out.write(pixels)


def snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Every file and folder under ``root`` (``skip``: top-level names left out) → its content's digest."""
    out = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] in skip:
            continue
        out[relative.as_posix()] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def assert_one_line_refusal(message: str, identifier: str) -> None:
    """The refusal names the identifier (its repr, cut) and the rule, on one line."""
    from geetiles.names import RULE, shown

    assert "\n" not in message.strip() and "Traceback" not in message, message
    assert shown(identifier) in message, message
    assert RULE in message, message
