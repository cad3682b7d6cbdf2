"""Synthetic label chips with known class polygons, written as GDAL writes GeoTIFFs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import shapely
from rasterio.transform import from_bounds


def write_chip(
    path: Path,
    values: np.ndarray,
    bounds: tuple[float, float, float, float],
    crs: str = "EPSG:4326",
    nodata: float | None = 0,
    **options,
) -> Path:
    """``values`` (height, width) or (bands, height, width) over ``bounds``, north-up."""
    values = values if values.ndim == 3 else values[None]
    bands, height, width = values.shape
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = dict(
        driver="GTiff",
        width=width,
        height=height,
        count=bands,
        dtype=values.dtype,
        crs=crs,
        transform=from_bounds(*bounds, width, height),
        nodata=nodata,
        compress="deflate",
        tiled=True,
    )
    profile.update(options)
    with rasterio.open(path, "w", **profile) as out:
        out.write(values)
    return path


def record(folder: Path, classes: list[dict], nodata: float | None = 0) -> None:
    """A download record with the given classes (what the download stage writes beside the chips)."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.geetiles.yaml").write_text(
        yaml.safe_dump({"stage": "download", "classes": classes, "nodata": nodata})
    )


def tiles_file(path: Path, identifiers: list[str], geometries: list) -> Path:
    """A tiles file (GeoJSON and twin) of the given chips, as the tiling stage writes it."""
    import geopandas as gpd

    from geetiles.tiles import write_tiles

    frame = gpd.GeoDataFrame(
        {"area_km2": np.ones(len(identifiers)), "identifier": identifiers}, geometry=list(geometries), crs="EPSG:4326"
    )
    write_tiles(frame, path)
    return path


def halves(width: int = 100, height: int = 100, left: int = 1, right: int = 2) -> np.ndarray:
    """Class ``left`` in the west half, ``right`` in the east half."""
    values = np.full((height, width), left, dtype=np.uint8)
    values[:, width // 2 :] = right
    return values


def box(bounds) -> shapely.Polygon:
    return shapely.box(*bounds)
