"""Build the AOI from whichever of ``aoi.wkt_file``, ``aoi.file``, ``aoi.bbox``, ``aoi.country`` is set."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import shapely

from geetiles.errors import UserInputError
from geetiles.regions.span import warn_if_wide
from geetiles.regions.validate import polygonal_lonlat
from geetiles.tiles import check_name

SOURCES = ("wkt_file", "file", "bbox", "country")


@dataclass(frozen=True)
class Aoi:
    """A named lon/lat area; ``origin`` says where it came from (for logs and records)."""

    name: str
    geometry: shapely.Geometry
    origin: str


def load_aoi(config) -> Aoi:
    """Read, validate and name the AOI described by an ``AoiConfig``."""
    source = chosen_source(config)
    value = getattr(config, source)
    origin = f"aoi.{source}={value!r}" if source != "bbox" else f"aoi.bbox={list(value)}"
    if source == "wkt_file":
        geometry, default_name = _read_wkt(Path(value), origin), Path(value).stem
    elif source == "file":
        geometry, default_name = _read_vector(Path(value), config.layer, origin), Path(value).stem
    elif source == "bbox":
        geometry, default_name = bbox_geometry(value, origin), "bbox"
    else:
        from geetiles.regions.countries import find_region

        default_name, geometry = find_region(value)
    name = config.name if config.name is not None else slug(default_name)
    check_name("aoi.name", name)
    geometry = polygonal_lonlat(geometry, origin)
    warn_if_wide(geometry, origin)
    return Aoi(name=name, geometry=geometry, origin=origin)


def chosen_source(config) -> str:
    """The one AOI source that is set; zero or several is an error that says how to choose."""
    chosen = [s for s in SOURCES if getattr(config, s) not in (None, "")]
    if len(chosen) == 1:
        return chosen[0]
    if not chosen:
        raise UserInputError("no AOI given; set one of aoi.wkt_file, aoi.file, aoi.bbox or aoi.country")
    given = ", ".join(f"aoi.{s}" for s in chosen)
    raise UserInputError(
        f"several AOI sources are set ({given}); keep one, e.g. pick the group that clears the others: "
        f"aoi=wkt aoi.wkt_file=..., aoi=file, aoi=bbox or aoi=country"
    )


def slug(text: str) -> str:
    """A default file-name part: lower case, letters, digits and '-' only."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", text.lower().replace("partitions", "")).strip("-")
    return cleaned or "aoi"


def bbox_geometry(values, origin: str) -> shapely.Geometry:
    """``[minlon, minlat, maxlon, maxlat]``; minlon > maxlon means the box crosses the antimeridian."""
    try:
        minlon, minlat, maxlon, maxlat = (float(v) for v in values)
    except (TypeError, ValueError):
        raise UserInputError(f"{origin}: a bbox is four numbers [minlon, minlat, maxlon, maxlat]") from None
    if minlat >= maxlat:
        raise UserInputError(f"{origin}: minlat must be below maxlat; write [minlon, minlat, maxlon, maxlat]")
    if minlon > maxlon:  # crosses the antimeridian: two boxes that meet at ±180
        return shapely.MultiPolygon(
            [shapely.box(minlon, minlat, 180, maxlat), shapely.box(-180, minlat, maxlon, maxlat)]
        )
    return shapely.box(minlon, minlat, maxlon, maxlat)


def _require_file(path: Path, origin: str) -> None:
    if not path.is_file():
        raise UserInputError(
            f"{origin}: no such file ({path.resolve()}); "
            "check the path (relative paths start where you run the command)"
        )


def _read_wkt(path: Path, origin: str) -> shapely.Geometry:
    _require_file(path, origin)
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    try:
        return shapely.from_wkt(text)
    except shapely.errors.ShapelyError as error:
        detail = str(error).splitlines()[0][:120] if str(error) else "unparsable"
        raise UserInputError(
            f"{origin}: not valid WKT ({detail}); the file must hold one lon/lat WKT geometry such as POLYGON ((...))"
        ) from None


def _read_vector(path: Path, layer: str | None, origin: str) -> shapely.Geometry:
    """Any file pyogrio reads; every feature is united; other CRSs are reprojected to EPSG:4326."""
    import geopandas as gpd

    _require_file(path, origin)
    try:
        frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as error:  # pyogrio/GDAL raise several error types for unreadable data
        detail = " ".join(str(error).split())[:160]
        raise UserInputError(
            f"{origin}: cannot read it as a vector file ({detail}); give GeoJSON, GeoPackage or (zipped) Shapefile"
        ) from None
    frame = frame[frame.geometry.notna()]
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    if len(frame) == 0:
        raise UserInputError(
            f"{origin}: the file has no features with a geometry; give a file with at least one polygon"
        )
    return shapely.union_all(frame.geometry.values)
