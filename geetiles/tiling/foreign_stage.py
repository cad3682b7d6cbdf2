"""The ``foreign`` stage: the coarser units over the same AOI (admin units, random pieces, a coarser
grid, or an existing tiles file), recorded like any tiles file so later stages find them. It lives in
``tiling/`` because foreign units are a second tiling of the AOI; ``foreign/`` holds the ``intersect`` stage."""

from __future__ import annotations

import logging
from pathlib import Path

from geetiles.config import TilingKind
from geetiles.errors import UserInputError

log = logging.getLogger(__name__)


def check(experiment) -> None:
    foreign = experiment.config.foreign
    if foreign.kind is TilingKind.none:
        return
    if foreign.kind is TilingKind.file:
        if not foreign.file:
            raise UserInputError(
                "foreign=file needs foreign.file, an existing tiles file ({aoi}_partitions_{name}_{hash}.geojson)"
            )
        return
    from geetiles.tiling.stage import check_tiling

    check_tiling(foreign, "foreign")


def run(experiment, context) -> None:
    foreign = experiment.config.foreign
    if foreign.kind is TilingKind.none:
        log.info(
            "foreign=none: no foreign units (e.g. foreign=select foreign.file=communes.gpkg foreign.name=communes)"
        )
        return
    if foreign.kind is TilingKind.file:
        from geetiles.names import foreign_name

        path = Path(str(foreign.file)).expanduser().resolve()
        if not path.exists():
            raise UserInputError(
                f"foreign.file={foreign.file!r} does not exist; give a tiles file "
                "({aoi}_partitions_{name}_{hash}.geojson)"
            )
        foreign_name(path)  # a file whose name gives no foreign name is refused now
        context.foreign_file = path
        log.info("foreign units: %s", path.name)
        return
    from geetiles.regions.aoi import load_aoi
    from geetiles.tiling.stage import write_tiling

    aoi = context.aoi or load_aoi(experiment.config.aoi)
    context.aoi = aoi
    context.foreign_file = write_tiling(experiment, aoi, foreign, stage="foreign")
    context.outputs.append(context.foreign_file)
