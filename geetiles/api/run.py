"""``geetiles.run``: the stages of an experiment, run as ``python -m geetiles`` runs them, from Python.

Differences from the command line, all about living inside someone else's interpreter (a notebook):
- errors are raised, never ``SystemExit``: bad input as :class:`geetiles.UserInputError`, failed work as
  :class:`geetiles.RunFailed` (each carrying the command line's one line), Ctrl-C / a kernel interrupt
  as ``KeyboardInterrupt`` once the finished chips are journaled and Ray's head is stopped;
- nothing ends or silences the process: a lost Ray head raises in the run (``geetiles.run_ending``);
- log lines are shown once: a handler is added only while nothing else would show them, and removed
  after the run, so a second run prints each line once too;
- progress is a notebook bar in Jupyter (``geetiles.progress``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence

from geetiles.api.compose import compose, user_error
from geetiles.api.result import Result, StageSummary, build_result
from geetiles.errors import RunFailed, UserInputError
from geetiles.experiment import Experiment

log = logging.getLogger("geetiles")

LOG_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"  # the command line's (Hydra's) format
INTERRUPTED = "geetiles: interrupted; finished work is kept (chips, journal): run it again to resume"


def run(
    experiment_or_overrides: Experiment | Sequence[str] = (),
    stages: Sequence[str] | None = None,
    config_dir: str | os.PathLike[str] | None = None,
) -> Result:
    """Run ``stages`` (default: the experiment's own) of an Experiment (from :func:`geetiles.compose`) or of
    the overrides given (composed first, with ``config_dir`` as ``--config-dir``). Every output gets the same
    record beside it as on the command line. A rerun resumes: finished chips are skipped."""
    if isinstance(experiment_or_overrides, Experiment):
        if config_dir is not None:
            raise UserInputError("config_dir applies to overrides; an Experiment is already composed")
        experiment = with_stages(experiment_or_overrides, stages)
    else:
        overrides = list(_as_overrides(experiment_or_overrides))
        if stages is not None:
            overrides.append(f"stages=[{','.join(_stage_names(stages))}]")
        experiment = compose(overrides, config_dir)
    summaries: dict[str, StageSummary] = {}
    from geetiles.run_ending import library_call
    from geetiles.runner import run_experiment

    with library_call(), _shown_logging(), _quiet_libraries():
        try:
            context = run_experiment(experiment, watch_stage=lambda stage: _watch(stage.value, summaries))
        except KeyboardInterrupt:
            print(INTERRUPTED, file=sys.stderr, flush=True)
            raise
        except RunFailed:
            raise
        except Exception as error:
            raise _as_raised(error) from None
    return build_result(experiment, context, summaries)


def with_stages(experiment: Experiment, stages: Sequence[str] | None) -> Experiment:
    """``experiment`` with only ``stages`` to run (its record says so too)."""
    if stages is None:
        return experiment
    from geetiles.config import Stage

    chosen = [Stage(name) for name in _stage_names(stages)]
    if not chosen:
        raise UserInputError("stages is empty; list the stages to run, e.g. stages=['aoi', 'tiling']")
    resolved = {**experiment.resolved, "stages": [stage.value for stage in chosen]}
    config = dataclasses.replace(experiment.config, stages=chosen)
    return dataclasses.replace(experiment, config=config, resolved=resolved)


def _stage_names(stages: Sequence[str]) -> list[str]:
    from geetiles.config import Stage

    if isinstance(stages, str):
        stages = [stages]
    known = [stage.value for stage in Stage]
    names = [getattr(stage, "value", stage) for stage in stages]
    for name in names:
        if name not in known:
            raise UserInputError(f"unknown stage {name!r}; choose among {', '.join(known)}")
    return names


def _as_overrides(value) -> Sequence[str]:
    if isinstance(value, (str, bytes)):
        raise UserInputError(
            f"give a list of overrides, e.g. geetiles.run([{str(value)!r}]), or an Experiment from geetiles.compose"
        )
    return value


def _as_raised(error: Exception) -> Exception:
    """What the command line would report, as an exception to raise: a full disk (RunFailed's DiskFull),
    bad input (UserInputError), else the error itself (a bug keeps its traceback)."""
    from geetiles.errors import disk_full

    full = disk_full(error)
    if full is not None:
        return full
    friendly = user_error(error)
    if friendly is None:
        raise error
    return friendly


@contextlib.contextmanager
def _watch(stage: str, summaries: dict[str, StageSummary]) -> Iterator[None]:
    """Time one stage and keep the lines it logs (INFO and up), as its summary."""
    summary = StageSummary(stage, 0.0)
    summaries[stage] = summary
    keeper = _LineKeeper(summary.lines)
    logger = logging.getLogger("geetiles")
    logger.addHandler(keeper)
    started = time.perf_counter()
    try:
        yield
    finally:
        summary.seconds = time.perf_counter() - started
        logger.removeHandler(keeper)


class _LineKeeper(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.INFO)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:  # a malformed message is logging's problem, not the run's
            self.handleError(record)


@contextlib.contextmanager
def _shown_logging() -> Iterator[None]:
    """geetiles' INFO lines shown as on the command line: the ``geetiles`` logger at INFO unless its level
    was set, and a stderr handler only while neither it nor the root logger has one (a notebook whose
    user configured logging shows them through theirs: never twice). Both undone after the run."""
    logger = logging.getLogger("geetiles")
    level = logger.level
    if level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    handler = None
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logger.addHandler(handler)
    try:
        yield
    finally:
        if handler is not None:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(level)


@contextlib.contextmanager
def _quiet_libraries() -> Iterator[None]:
    """pyogrio's INFO chatter stays out of the run's lines, as on the command line (and is put back)."""
    pyogrio = logging.getLogger("pyogrio")
    level = pyogrio.level
    pyogrio.setLevel(logging.WARNING)
    try:
        yield
    finally:
        pyogrio.setLevel(level)
