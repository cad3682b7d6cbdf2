"""Sources of pixels for a chip's pixel grid; the download engine drives any of them alike."""

from __future__ import annotations


def open_source(config, source_config):
    """The OpenedSource for ``source_config`` (a SourceConfig): validated, connected, ready to probe."""
    kind = source_config.kind.value
    if kind == "earthengine":
        from geetiles.sources.earthengine import EarthEngineSource

        source = EarthEngineSource(config, source_config)
    elif kind == "demo":
        from geetiles.sources.demo import DemoSource

        source = DemoSource(source_config)
    elif kind == "local":
        from geetiles.sources.local import LocalSource

        source = LocalSource(source_config)
    else:  # the schema's enum makes this unreachable from a config
        raise ValueError(f"unknown source kind {kind!r}")
    source.connect()
    return source


def check_settings(source_config) -> None:
    """Settings that cannot work fail here, before any stage runs (no connection, no I/O)."""
    if source_config.kind.value == "earthengine":
        from geetiles.sources.ee_recipe import chosen_recipe, validate

        recipe = chosen_recipe(source_config)
        if recipe is not None:
            validate(recipe)
