"""``python -m geetiles``: Hydra composes the config tree, the runner executes the stages."""

from __future__ import annotations

import functools
import logging
import os
import shlex
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from geetiles.cli import composition_memo, run_mode
from geetiles.cli.errors import run_reporting
from geetiles.config import register

log = logging.getLogger("geetiles")


def command_line() -> str:
    return shlex.join(["python", "-m", "geetiles", *sys.argv[1:]])


@hydra.main(version_base="1.3", config_path="pkg://geetiles.conf", config_name="config")
def _hydra_task(cfg: DictConfig) -> None:
    from geetiles.experiment import Experiment
    from geetiles.runner import run_experiment

    logging.getLogger("pyogrio").setLevel(logging.WARNING)
    _quiet_full_disk_in_log_files()
    # the SystemExit of a reported error passes through Hydra's job wrapper without its banner
    run_reporting(lambda: run_experiment(Experiment.from_config(cfg, command=command_line())), discard_run_dir)


def _quiet_full_disk_in_log_files() -> None:
    """Hydra's log file lies on the same disk as the data: when that disk fills, the run ends with its
    one line (geetiles.errors.DiskFull), and the log file's failed writes must not add a traceback per
    log record on stderr. Other logging errors still print as usual; the console keeps every message."""
    from geetiles.errors import disk_full

    def handle_error(handler: logging.Handler, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if error is None or disk_full(error) is None:
            logging.FileHandler.handleError(handler, record)

    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handleError = functools.partial(handle_error, handler)


def discard_run_dir() -> None:
    """A run stopped by bad input leaves nothing behind: not even Hydra's record of it."""
    from hydra.core.hydra_config import HydraConfig

    logging.shutdown()
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    for item in [run_dir / ".hydra", *run_dir.glob("*.log")]:
        if item.is_dir():
            for child in item.iterdir():
                child.unlink()
            item.rmdir()
        elif item.exists():
            item.unlink()
    stop = Path.cwd().resolve()
    for directory in [run_dir, *run_dir.parents]:
        if directory.resolve() == stop or not directory.is_dir():
            break
        leftovers = [p for p in directory.iterdir() if p.name != "multirun.yaml"]
        if leftovers:
            break
        for p in directory.iterdir():
            p.unlink()
        directory.rmdir()


def main() -> None:
    """Entry point; errors in the user's input end with one line and exit status 2."""
    register()
    run_mode.install()
    composition_memo.install()
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra re-raises; we decide what the user sees
    run_reporting(_hydra_task)


def console() -> None:
    """``python -m geetiles``: main(), then a fast exit (see fast_exit)."""
    from geetiles.cli.fast_exit import run_then_exit

    run_then_exit(main)
