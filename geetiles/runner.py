"""The runner: executes the configured stages in order on one Experiment."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geetiles.config import Stage
from geetiles.experiment import Experiment
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


def run_experiment(experiment: Experiment) -> RunContext:
    """Run every configured stage, in order; the first error stops the run."""
    context = RunContext()
    modules = [importlib.import_module(STAGE_MODULES[stage]) for stage in experiment.config.stages]
    for module in modules:  # settings errors of a later stage surface before earlier stages spend time
        if hasattr(module, "check"):
            module.check(experiment)
    created = []
    if WRITES_DATA_DIR.intersection(experiment.config.stages):  # an unusable data_dir fails now, in one line
        created = ensure_writable_folder(experiment.data_dir, "data_dir")
    try:
        for module in modules:
            module.run(experiment, context)
    except BaseException:
        remove_if_empty(created)  # a run stopped before writing anything leaves no empty data_dir
        raise
    return context
