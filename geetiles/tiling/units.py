"""Administrative units (communes, districts) as tiles: the units of a vector file that overlap the AOI.

Unlike geetiles 0.1.7's ``select`` this reads any CRS (reprojected), keeps every attribute column,
measures overlaps and areas in square metres on the ellipsoid (not square degrees) and reads only the features near the
AOI (a bounding-box filtered read), so a continent-wide file costs what the AOI's units cost.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import shapely

from geetiles.areas import area_m2
from geetiles.errors import UserInputError
from geetiles.repair import repair_polygons
from geetiles.tiling.chips import Chips
from geetiles.tiling.ids import chip_ids

log = logging.getLogger(__name__)

RESERVED = ("identifier", "area_km2")  # columns every tiles file has: a source's own are kept as src_{name}


def select_units(aoi: shapely.Geometry, tiling) -> Chips:
    """The units of ``tiling.file`` that overlap ``aoi`` by at least ``tiling.min_overlap_km2``,
    clipped to it when ``tiling.clip``; ids from their envelopes, as the original made them."""
    units = read_units_near(Path(str(tiling.file)), aoi, tiling.layer)
    geometry = units.geometry.values
    near = shapely.intersects(geometry, aoi)
    overlap_km2 = np.zeros(len(units))
    if near.any():
        overlap_km2[near] = area_m2(shapely.intersection(geometry[near], aoi)) / 1e6
    keep = near & (overlap_km2 >= tiling.min_overlap_km2)
    if not keep.any():
        raise UserInputError(
            f"no unit of {tiling.file} overlaps the AOI by {tiling.min_overlap_km2:g} km2 or more "
            f"({int(near.sum())} touch it); check that the file covers the AOI, or lower "
            "tiling.min_overlap_km2"
        )
    units = units[keep].reset_index(drop=True)
    geometry = units.geometry.values
    if tiling.clip:
        geometry = _polygonal(shapely.intersection(geometry, aoi))
        kept = ~shapely.is_empty(geometry)  # only units that merely touched the AOI (min_overlap_km2=0)
        units, geometry = units[kept].reset_index(drop=True), geometry[kept]
    log.info(
        "%d of %d units read near the AOI overlap it (%d dropped below %g km2)",
        int(keep.sum()),
        len(keep),
        int(near.sum() - keep.sum()),
        tiling.min_overlap_km2,
    )
    attributes = units.drop(columns=units.geometry.name)
    extra = {
        (f"src_{name}" if name in RESERVED else str(name)): attributes[name].to_numpy() for name in attributes.columns
    }
    bounds = shapely.bounds(geometry)
    return Chips(np.asarray(geometry), chip_ids(bounds), area_m2(geometry) / 1e6, extra)


def read_units_near(path: Path, aoi: shapely.Geometry, layer: str | None):
    """The features of a vector file whose bounding box meets the AOI's, in EPSG:4326; invalid
    polygons repaired (with a warning)."""
    import geopandas as gpd

    if not path.exists():
        raise UserInputError(
            f"units file {str(path)!r} does not exist; give a vector file GDAL reads "
            "(GeoPackage, GeoJSON, Shapefile, zipped Shapefile, FlatGeobuf, GeoParquet)"
        )
    if path.suffix.lower() == ".parquet":
        units = _read_geoparquet(path, aoi)
    else:
        units = _read_ogr(path, aoi, layer)
    if units.crs is None:
        raise UserInputError(f"units file {str(path)!r} has no CRS; set one (e.g. ogr2ogr -a_srs EPSG:4326)")
    if not units.crs.equals("EPSG:4326"):
        units = units.to_crs("EPSG:4326")
    units = units[~units.geometry.isna() & ~units.geometry.is_empty]
    polygonal = units.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    if not polygonal.all():
        raise UserInputError(
            f"units file {str(path)!r} has {int((~polygonal).sum())} features that are not polygons; "
            "units must be polygons (communes, districts)"
        )
    units = units.reset_index(drop=True)
    geometry = units.geometry.values
    repaired = repair_polygons(geometry, f"units file {str(path)!r}", _unit_labels(units), ("unit", "units"))
    if any(new is not old for new, old in zip(repaired, geometry)):
        units[units.geometry.name] = gpd.GeoSeries(repaired, index=units.index, crs=units.crs)
    return units


def _unit_labels(units) -> list[str]:
    """How the repair warning names units: by their first attribute (e.g. name='Esch'), else by row."""
    columns = [c for c in units.columns if c != units.geometry.name]
    if not columns:
        return [f"unit {i}" for i in range(len(units))]
    return [f"{columns[0]}={value!r}" for value in units[columns[0]].tolist()]


def _read_ogr(path: Path, aoi: shapely.Geometry, layer: str | None):
    import pyogrio
    from pyproj import CRS

    try:
        info = pyogrio.read_info(path, layer=layer)
        crs = CRS.from_user_input(info["crs"]) if info.get("crs") else CRS.from_epsg(4326)
        bbox = _bounds_in(aoi, crs)
        return pyogrio.read_dataframe(path, layer=layer, bbox=bbox)
    except UserInputError:
        raise
    except Exception as error:  # pyogrio raises several types for unreadable files and unknown layers
        detail = " ".join(str(error).split())[:200]
        raise UserInputError(
            f"cannot read units file {str(path)!r} ({detail}); give a vector file GDAL reads, "
            "and tiling.layer for a multi-layer file"
        ) from None


def _read_geoparquet(path: Path, aoi: shapely.Geometry):
    """GeoParquet through geopandas (this GDAL has no Parquet driver): filtered by row-group bbox
    statistics when the file has a bbox covering column, else read whole and filtered here."""
    import json

    import geopandas as gpd
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_schema(path).metadata or {}
        geo = json.loads(metadata[b"geo"]) if b"geo" in metadata else None
        column = geo["columns"][geo["primary_column"]] if geo else {}
        bbox = _bounds_in(aoi, _geoparquet_crs(column)) if geo else None
        indexed = bool(column.get("covering")) or column.get("encoding") == "point"
        frame = gpd.read_parquet(path, bbox=bbox if indexed else None)
    except Exception as error:
        detail = " ".join(str(error).split())[:200]
        raise UserInputError(f"cannot read units file {str(path)!r} as GeoParquet ({detail})") from None
    if bbox is not None and not indexed:
        frame = frame[shapely.intersects(frame.geometry.values, shapely.box(*bbox))]
    return frame


def _geoparquet_crs(column: dict):
    from pyproj import CRS

    return CRS.from_user_input(column["crs"]) if column.get("crs") else CRS.from_epsg(4326)


def _bounds_in(aoi: shapely.Geometry, crs) -> tuple[float, float, float, float]:
    """The AOI's bounds in ``crs``, densified so that curved edges are inside the box."""
    from pyproj import Transformer

    if crs.equals("EPSG:4326") or crs.is_geographic and crs.to_epsg() == 4326:
        return tuple(aoi.bounds)
    transformer = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    return tuple(transformer.transform_bounds(*aoi.bounds, densify_pts=21))


def _polygonal(geometry: np.ndarray) -> np.ndarray:
    """Clipping can leave lines or points beside the polygons: keep the polygonal part of each."""
    out = []
    for item in geometry:
        if item.geom_type in ("Polygon", "MultiPolygon"):
            out.append(item)
            continue
        parts = [p for p in shapely.get_parts(item) if p.geom_type in ("Polygon", "MultiPolygon")]
        out.append(shapely.union_all(parts) if parts else shapely.Polygon())
    return np.asarray(out, dtype=object)
