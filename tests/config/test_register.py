"""The schema is stored once per process: later compositions find it and change nothing in it."""

from __future__ import annotations

from hydra.core.config_store import ConfigStore

from geetiles.cli.compose import compose
from geetiles.config import register


def test_register_stores_the_schema_once_and_compositions_still_see_every_key() -> None:
    register()
    store = ConfigStore.instance()
    stored = store.repo["experiment_schema.yaml"]
    register()
    assert store.repo["experiment_schema.yaml"] is stored  # not rebuilt from the dataclasses
    first = compose(["experiment=demo", "download.max_in_flight=7"])
    again = compose(["experiment=demo"])
    assert first.download.max_in_flight == 7
    assert again.download.max_in_flight != 7  # one composition's override does not leak into the stored schema
    assert set(first) == set(again) >= {"aoi", "tiling", "source", "labels", "download", "ray", "ee"}
