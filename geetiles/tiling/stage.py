"""The ``tiling`` stage: cut the AOI into chips and write the tiles file (GeoJSON + GeoParquet)."""

from __future__ import annotations

import logging
import time

from geetiles.aoi.load import load_aoi
from geetiles.config import TilingKind
from geetiles.errors import UserInputError
from geetiles.record import write_record
from geetiles.tiles_file import tiles_file_path, write_tiles
from geetiles.tiling.ids import list_hash

log = logging.getLogger(__name__)

TILES_NAMES = {TilingKind.grid: "aschips", TilingKind.utm: "utmchips"}


def make_chips(aoi, tiling):
    """The chips of ``tiling`` (a TilingConfig) over ``aoi`` (an Aoi)."""
    if tiling.kind is TilingKind.grid:
        from geetiles.tiling.grid import grid_chips

        return grid_chips(aoi.geometry, tiling.chip_size_m, tiling.max_chips)
    from geetiles.tiling.utm import utm_chips

    return utm_chips(aoi.geometry, tiling.chip_size_m, tiling.max_chips)


def run(experiment, context) -> None:
    """Write ``{data_dir}/{aoi}_partitions_{aschips|utmchips}_{hash}.geojson``, its twin and record."""
    tiling = experiment.config.tiling
    aoi = context.aoi or load_aoi(experiment.config.aoi)
    log.info("tiling %s: %s, %g m chips", aoi.name, tiling.kind.value, tiling.chip_size_m)
    started = time.perf_counter()
    chips = make_chips(aoi, tiling)
    if len(chips) == 0:
        raise UserInputError(
            f"the AOI {aoi.name!r} is smaller than one chip of {tiling.chip_size_m:g} m with tiling="
            f"{tiling.kind.value}, so there are no chips; use a smaller tiling.chip_size_m"
        )
    path = tiles_file_path(experiment.data_dir, aoi.name, TILES_NAMES[tiling.kind], list_hash(chips.identifier))
    computed = time.perf_counter()
    write_tiles(chips.to_geodataframe(), path)
    write_record(path, experiment, stage="tiling", extra={"chips": len(chips), "aoi_origin": aoi.origin})
    context.tiles_file = path
    context.outputs.append(path)
    log.info(
        "%d chips (%s, %g m) in %.2f s, written in %.2f s → %s",
        len(chips), tiling.kind.value, tiling.chip_size_m, computed - started, time.perf_counter() - computed, path,
    )
