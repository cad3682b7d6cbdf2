"""The ``aoi`` stage: resolve the AOI once and keep a lon/lat WKT copy of it beside the dataset."""

from __future__ import annotations

import logging

from geetiles.atomic import write_text
from geetiles.record import write_record
from geetiles.regions.aoi import load_aoi

log = logging.getLogger(__name__)


def run(experiment, context) -> None:
    """Write ``{data_dir}/{aoi.name}.wkt`` (usable as ``aoi.wkt_file`` later) and its record."""
    aoi = load_aoi(experiment.config.aoi)
    context.aoi = aoi
    path = experiment.data_dir / f"{aoi.name}.wkt"
    write_text(path, aoi.geometry.wkt + "\n")
    write_record(path, experiment, stage="aoi", extra={"aoi_origin": aoi.origin})
    context.outputs.append(path)
    log.info("aoi %s from %s → %s", aoi.name, aoi.origin, path)
