"""The ``download`` stage: fetch every chip of the tiles file from the configured source."""

from __future__ import annotations

import logging
from pathlib import Path

from geetiles.errors import UserInputError

log = logging.getLogger(__name__)


def run(experiment, context) -> None:
    """Download the images (``source``), then the labels (``labels``), onto the same chips."""
    config = experiment.config
    chosen = [
        (role, c)
        for role, c in (("source", config.source), ("labels", config.labels))
        if c.dataset is not None or c.recipe is not None
    ]
    if not chosen:
        log.info(
            "no source or labels chosen, nothing to download "
            "(e.g. source=sentinel2 labels=worldcover, or experiment=demo)"
        )
        return
    tiles_path = context.tiles_file or _configured_tiles_file(config.download.tiles_file)
    from geetiles.download.engine import Engine
    from geetiles.download.ray_cluster import RayCluster

    ray_cluster = RayCluster(
        config.ray.address, config.ray.num_cpus, config.ray.start_timeout_s
    )  # one Ray for images and labels
    try:
        for role, source_config in chosen:
            summary = Engine(experiment, tiles_path, source_config, ray_cluster).run()
            context.outputs.append(summary.directory)
            if role == "labels":
                context.labels_dir = summary.directory
    finally:
        ray_cluster.shutdown()


def check(experiment) -> None:
    """Before any stage runs: recipes whose settings do not fit together fail now, not after the tiling."""
    from geetiles.config import Stage
    from geetiles.download.ray_cluster import check_address
    from geetiles.download.settings_check import check_download_settings, check_tiles_file
    from geetiles.sources import check_settings

    config = experiment.config
    check_address(config.ray.address)
    check_download_settings(config)
    for role, source_config in (("source", config.source), ("labels", config.labels)):
        check_settings(source_config)
        _check_folder_name(role, source_config)
    if Stage.tiling not in config.stages and any(
        c.dataset is not None or c.recipe is not None for c in (config.source, config.labels)
    ):
        path = check_tiles_file(config.download.tiles_file)
        if path is not None:  # identifiers become chip file names: a file with unsafe ones is refused now
            from geetiles.tiles import check_identifier_column

            check_identifier_column(path)


def _check_folder_name(role: str, source_config) -> None:
    """The chip folder's name (``{role}.name``, else the dataset's own name) must follow the rule for names."""
    from geetiles.names import check_name
    from geetiles.sources.naming import folder_name

    try:
        name = folder_name(source_config)
    except Exception:  # a recipe name that cannot be filled in: check_settings has said why
        return
    if name is not None:
        check_name(f"{role}.name", name, "it names the chip folder (by default the dataset's own name)")


def _configured_tiles_file(value: str | None) -> Path:
    if not value:
        raise UserInputError(
            "the download stage needs a tiles file: run the tiling stage first or set download.tiles_file=..."
        )
    from geetiles.layout import geojson_path, twin_path

    path = geojson_path(Path(value).expanduser().resolve())
    if not path.exists() and not twin_path(path).exists():
        raise UserInputError(
            f"download.tiles_file={value!r} does not exist; give a tiles file written by the tiling stage or geet grid"
        )
    return path
