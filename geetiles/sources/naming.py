"""The folder name a source's chips go to, known from the config alone (no connection), so later
stages find a run's chips without opening its sources."""

from __future__ import annotations

from pathlib import Path

from geetiles.config import SourceKind


def has_data(source_config) -> bool:
    return source_config.dataset is not None or source_config.recipe is not None


def folder_name(source_config) -> str | None:
    """``source.name``, else the dataset's own name (recipe name, demo dataset, raster file stem);
    None when the source is ``none``."""
    if not has_data(source_config):
        return None
    if source_config.name:
        return source_config.name
    if source_config.kind is SourceKind.earthengine:
        from geetiles.sources.ee_recipe import chosen_recipe, dataset_name

        recipe = chosen_recipe(source_config)
        return dataset_name(recipe) if recipe is not None else Path(str(source_config.dataset)).stem
    return Path(str(source_config.dataset)).stem
