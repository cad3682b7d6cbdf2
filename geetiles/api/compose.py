"""``geetiles.compose``: the Experiment that ``python -m geetiles <overrides>`` would run, from Python.

The same composition (``geetiles.cli.compose``, Hydra's compose API), the same validation
(``Experiment.from_config``) and the same one-line messages (``geetiles.cli.errors.as_user_error``) as the
command line; bad input raises :class:`geetiles.UserInputError` carrying the line the command line prints
after ``geetiles: error:``, never ``SystemExit``.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence

from geetiles.errors import UserInputError
from geetiles.experiment import Experiment


def compose(overrides: Sequence[str] = (), config_dir: str | os.PathLike[str] | None = None) -> Experiment:
    """The validated Experiment of ``python -m geetiles [--config-dir config_dir] <overrides>``.

    ``overrides`` are command-line overrides (``["experiment=demo", "tiling.chip_size_m=2000"]``); a
    user's ``config_dir`` adds config groups and files as ``--config-dir`` does. Relative paths resolve
    against the current directory, as on the command line."""
    from geetiles.cli.compose import compose as compose_config

    overrides = _override_list(overrides)
    try:
        cfg = compose_config(overrides, config_dir)
        return Experiment.from_config(cfg, command=command_line(overrides, config_dir))
    except Exception as error:
        friendly = user_error(error)
        if friendly is None:
            raise
        raise friendly from None


def command_line(overrides: Sequence[str], config_dir: str | os.PathLike[str] | None = None) -> str:
    """The command line that runs the same experiment, as recorded beside every output."""
    options = ["--config-dir", os.path.abspath(os.fspath(config_dir))] if config_dir is not None else []
    return shlex.join(["python", "-m", "geetiles", *options, *overrides])


def user_error(error: BaseException) -> UserInputError | None:
    """``error`` as the command line words it, or None when it is a bug (which keeps its traceback)."""
    from geetiles.cli.errors import as_user_error

    return as_user_error(error)


def _override_list(overrides: Sequence[str]) -> list[str]:
    if isinstance(overrides, (str, bytes)):  # compose("experiment=demo") would split into characters
        raise UserInputError(
            f"overrides must be a list of strings, e.g. [{str(overrides)!r}], not one string; "
            "give each override as an item"
        )
    items = list(overrides)
    wrong = [item for item in items if not isinstance(item, str)]
    if wrong:
        raise UserInputError(f"overrides must be strings like 'tiling.chip_size_m=2000', not {wrong[0]!r}")
    return items
