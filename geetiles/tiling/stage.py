"""The ``tiling`` stage: cut the AOI into chips and write the tiles file (GeoJSON + GeoParquet)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from geetiles.config import TilingKind
from geetiles.errors import UserInputError
from geetiles.record import write_record
from geetiles.regions.aoi import load_aoi
from geetiles.tiles import check_name, tiles_file_path, write_tiles
from geetiles.tiling.ids import list_hash

log = logging.getLogger(__name__)

TILES_NAMES = {TilingKind.grid: "aschips", TilingKind.utm: "utmchips", TilingKind.majortom: "majortom"}


def tiles_name(tiling) -> str:
    """The token after ``_partitions_`` in the file name, as the original names each kind."""
    if tiling.kind is TilingKind.random:
        return f"{int(tiling.max_size_m) // 1000}k"
    if tiling.kind is TilingKind.select:
        return str(tiling.name)
    return TILES_NAMES[tiling.kind]


def describe(tiling) -> str:
    if tiling.kind is TilingKind.random:
        return f"random, pieces <= {tiling.max_size_m:g} m, seed {tiling.seed}"
    if tiling.kind is TilingKind.select:
        return f"select, units of {tiling.file}"
    return f"{tiling.kind.value}, {tiling.chip_size_m:g} m chips"


def check(experiment) -> None:
    check_tiling(experiment.config.tiling)


def check_tiling(tiling, group: str = "tiling") -> None:
    """Settings that cannot work, refused before any geometry work."""
    if tiling.kind in (TilingKind.file, TilingKind.none):
        raise UserInputError(
            f"{group}={tiling.kind.value} is for foreign units only; choose tiling=grid, utm, random, "
            "select or majortom"
        )
    if tiling.kind is TilingKind.random and not tiling.max_size_m > 0:
        raise UserInputError(f"{group}.max_size_m={tiling.max_size_m:g} must be a positive number of metres")
    if tiling.kind in (TilingKind.grid, TilingKind.utm, TilingKind.majortom) and not tiling.chip_size_m > 0:
        raise UserInputError(f"{group}.chip_size_m={tiling.chip_size_m:g} must be a positive number of metres")
    if tiling.kind is TilingKind.select:
        if not tiling.file:
            raise UserInputError(
                f"{group}=select needs {group}.file, a vector file of units (GeoPackage, GeoJSON, "
                "Shapefile, zipped Shapefile, FlatGeobuf, GeoParquet)"
            )
        if not tiling.name:
            raise UserInputError(f"{group}=select needs {group}.name, the units' name in the file name (e.g. communes)")
        check_name(f"{group}.name", str(tiling.name))


def make_chips(aoi, tiling):
    """The chips of ``tiling`` (a TilingConfig) over ``aoi`` (an Aoi)."""
    if tiling.kind is TilingKind.grid:
        from geetiles.tiling.grid import grid_chips

        return grid_chips(aoi.geometry, tiling.chip_size_m, tiling.max_chips)
    if tiling.kind is TilingKind.utm:
        from geetiles.tiling.utm import utm_chips

        return utm_chips(aoi.geometry, tiling.chip_size_m, tiling.max_chips)
    if tiling.kind is TilingKind.random:
        from geetiles.tiling.katana import katana_chips

        return katana_chips(aoi.geometry, tiling.max_size_m, tiling.seed, tiling.max_chips)
    if tiling.kind is TilingKind.select:
        from geetiles.tiling.units import select_units

        return select_units(aoi.geometry, tiling)
    if tiling.kind is TilingKind.majortom:
        from geetiles.tiling.majortom import majortom_chips

        return majortom_chips(aoi.geometry, tiling.chip_size_m, tiling.max_chips)
    raise UserInputError(f"tiling kind {tiling.kind.value!r} makes no chips")


def why_no_chips(aoi, tiling) -> str:
    """The reason a tiling gave no chip, with its fix (the tilings cover any AOI with an area but these)."""
    if tiling.kind is TilingKind.grid:
        from geetiles.tiling.grid import why_no_chips as grid_reason

        return grid_reason(aoi.geometry, tiling.chip_size_m)
    if tiling.kind is TilingKind.majortom:
        from geetiles.tiling.majortom import LATITUDE_LIMIT

        _, south, _, north = aoi.geometry.bounds
        if south >= LATITUDE_LIMIT or north <= -LATITUDE_LIMIT:
            return (
                f"Major TOM's cells cover latitudes {-LATITUDE_LIMIT:g} to {LATITUDE_LIMIT:g} only, "
                "and the AOI lies "
                f"between {south:.6g} and {north:.6g}; use tiling=utm for polar areas"
            )
    return (
        "its polygons have no area where this tiling cuts them; check the AOI (geet aois, or its .wkt beside the data)"
    )


def write_tiling(experiment, aoi, tiling, stage: str = "tiling") -> Path:
    """Cut ``aoi`` by ``tiling``, write ``{data_dir}/{aoi}_partitions_{name}_{hash}.geojson``, its
    twin and its record; return its path."""
    log.info("%s %s: %s", stage, aoi.name, describe(tiling))
    started = time.perf_counter()
    chips = make_chips(aoi, tiling)
    if len(chips) == 0:
        raise UserInputError(
            f"the AOI {aoi.name!r} gives no chips with {stage}={tiling.kind.value} "
            f"({describe(tiling)}): {why_no_chips(aoi, tiling)}"
        )
    path = tiles_file_path(experiment.data_dir, aoi.name, tiles_name(tiling), list_hash(chips.identifier))
    computed = time.perf_counter()
    write_tiles(chips, path)
    write_record(path, experiment, stage=stage, extra={"chips": len(chips), "aoi_origin": aoi.origin})
    log.info(
        "%d chips (%s) in %.2f s, written in %.2f s → %s",
        len(chips),
        describe(tiling),
        computed - started,
        time.perf_counter() - computed,
        path,
    )
    return path


def run(experiment, context) -> None:
    """Write the chips' tiles file and hand it to the next stages."""
    aoi = context.aoi or load_aoi(experiment.config.aoi)
    context.aoi = aoi
    path = write_tiling(experiment, aoi, experiment.config.tiling)
    context.tiles_file = path
    context.outputs.append(path)
