"""The ``download`` stage: fetch every chip of the tiles file from the configured source."""

from __future__ import annotations

import logging
from pathlib import Path

from geetiles.errors import UserInputError

log = logging.getLogger(__name__)


def run(experiment, context) -> None:
    config = experiment.config
    if config.source.dataset is None:
        log.info("no source chosen, nothing to download (choose one with source=sentinel2, source=worldcover, ...)")
        return
    tiles_path = context.tiles_file or _configured_tiles_file(config.download.tiles_file)
    from geetiles.download.engine import Engine

    summary = Engine(experiment, tiles_path).run()
    context.outputs.append(summary.directory)


def _configured_tiles_file(value: str | None) -> Path:
    if not value:
        raise UserInputError("the download stage needs a tiles file: run the tiling stage first or set download.tiles_file=...")
    path = Path(value).expanduser().resolve()
    if path.suffix == ".parquet":
        path = path.with_suffix(".geojson")
    if not path.exists() and not path.with_suffix(".parquet").exists():
        raise UserInputError(f"download.tiles_file={value!r} does not exist; give a tiles file written by the tiling stage or geet grid")
    return path
