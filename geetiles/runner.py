"""The runner: executes the configured stages in order on one Experiment."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geetiles.config import Stage
from geetiles.experiment import Experiment
from geetiles.tiles.updates import TilesUpdates
from geetiles.writable import ensure_writable_folder, remove_if_empty

# stage → module with ``run(experiment, context)``; imported only when the stage runs
STAGE_MODULES = {
    Stage.aoi: "geetiles.aoi.stage",
    Stage.tiling: "geetiles.tiling.stage",
    Stage.foreign: "geetiles.tiling.foreign_stage",
    Stage.intersect: "geetiles.foreign.intersect",
    Stage.download: "geetiles.download.stage",
    Stage.proportions: "geetiles.proportions.stage",
    Stage.split: "geetiles.split.stage",
    Stage.export: "geetiles.export.stage",
    Stage.report: "geetiles.report.stage",
}

# the stages that add columns to the tiles file: their GeoJSON is written once, after the last of them
ADDS_COLUMNS = frozenset({Stage.intersect, Stage.proportions, Stage.split})

# the stages that write into data_dir (the others write beside the tiles file or where they are told)
WRITES_DATA_DIR = frozenset({Stage.aoi, Stage.tiling})


@dataclass
class RunContext:
    """What one stage hands the next inside a run; each stage can also rebuild it from files."""

    aoi: Any = None
    tiles_file: Path | None = None
    foreign_file: Path | None = None  # the foreign units' tiles file
    labels_dir: Path | None = None  # the labels' chip folder, once downloaded
    outputs: list[Path] = field(default_factory=list)
    tiles_updates: TilesUpdates = field(default_factory=TilesUpdates)  # twins per stage, GeoJSON once


def run_experiment(
    experiment: Experiment, watch_stage: Callable[[Stage], AbstractContextManager] | None = None
) -> RunContext:
    """Run every configured stage, in order; the first error stops the run.

    The stages that add columns to tiles files write their twins; the GeoJSON of each is written once,
    after the last of them (before export and report read it), or when the run stops on an error
    (their columns are computed and kept). An interrupt leaves the twins ahead of their GeoJSON, which
    loading handles (:mod:`geetiles.tiles.updates`). ``watch_stage(stage)`` wraps each stage's run (the
    Python API times each stage and keeps what it logged)."""
    context = RunContext()
    stages = list(experiment.config.stages)
    modules = [importlib.import_module(STAGE_MODULES[stage]) for stage in stages]
    last_adding = max((i for i, stage in enumerate(stages) if stage in ADDS_COLUMNS), default=-1)
    for module in modules:  # settings errors of a later stage surface before earlier stages spend time
        if hasattr(module, "check"):
            module.check(experiment)
    created = []
    if WRITES_DATA_DIR.intersection(experiment.config.stages):  # an unusable data_dir fails now, in one line
        created = ensure_writable_folder(experiment.data_dir, "data_dir")
    try:
        for index, (stage, module) in enumerate(zip(stages, modules)):
            with watch_stage(stage) if watch_stage is not None else contextlib.nullcontext():
                module.run(experiment, context)
            if index == last_adding:
                context.tiles_updates.flush()
    except Exception:
        try:
            context.tiles_updates.flush()
        except Exception:  # the stage's error is the one to report; the twins keep the columns
            context.tiles_updates.release()
        remove_if_empty(created)  # a run stopped before writing anything leaves no empty data_dir
        raise
    except BaseException:
        context.tiles_updates.release()
        remove_if_empty(created)
        raise
    return context
