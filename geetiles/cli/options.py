"""What every ``geet`` command shares: the parser class, the option types, and the two ways a command
ends (Hydra overrides run as stages, or a tool's record written beside its output).

Commands import this module, never each other, and ``geet`` assembles them: no import circle."""

from __future__ import annotations

import argparse
import math
import shlex
import types
from collections.abc import Sequence
from pathlib import Path

from geetiles.cli.errors import exit_with
from geetiles.errors import UserInputError


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit status 2, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        exit_with(UserInputError(f"{self.prog}: {message} (see `{self.prog} --help`)"))


def finite_number(text: str) -> float:
    """A float option; NaN and infinity named as such (they slip through range checks)."""
    from geetiles.numbers import not_finite_reason

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    reason = not_finite_reason(value)
    if reason is not None:
        raise argparse.ArgumentTypeError(f"{text!r} is {reason}; give a finite number")
    return value


def positive_number(text: str) -> float | int:
    """A positive, finite number (metres, or a rate); an int when whole, so that an override reads
    ``1000``, not ``1000.0``."""
    value = finite_number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of metres")
    return int(value) if value.is_integer() else value


def seed_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a non-negative integer")
    return value


def metres(text: str) -> float:
    """A positive, finite pixel size in metres, always a float (the tools record it as given)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of metres")
    return value


def labels_dataset(args: argparse.Namespace) -> str:
    """The labels dataset's name (its chip folder), from --labels_dataset_def or the README's --dataset_name."""
    name = args.labels_dataset_def or getattr(args, "dataset_name", None)
    if not name:
        raise UserInputError(f"geet {args.cmd} needs --labels_dataset_def NAME (e.g. esa-world-cover)")
    if name.endswith(".py") or "/" in name or "\\" in name:
        raise UserInputError(
            f"--labels_dataset_def {name!r}: give the labels dataset's name (its chip folder, e.g. "
            "esa-world-cover); classes come from the folder's download record or the packaged recipe"
        )
    return name


def run_overrides(overrides: list[str], argv: Sequence[str]) -> None:
    """Compose ``overrides`` and run the stages they select, recording the geet command line.

    The composition is Hydra's (see ``compose``): the same config tree and stages as ``python -m geetiles``."""
    from geetiles.cli.compose import compose
    from geetiles.experiment import Experiment
    from geetiles.runner import run_experiment

    run_experiment(Experiment.from_config(compose(overrides), command=shlex.join(["geet", *argv])))


def write_tool_record(output: Path, argv: Sequence[str], stage: str, options: dict, extra: dict) -> None:
    """A tool's record beside what it wrote (``{output stem}.geetiles.yaml``: command, options, summary);
    tools run directly, without Hydra's composition."""
    from geetiles.record import write_record

    run = types.SimpleNamespace(command=shlex.join(["geet", *argv]), resolved={stage: options})
    write_record(output, run, stage=stage, extra=extra)
