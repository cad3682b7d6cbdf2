"""Turning exceptions into the one-line errors users see (exit status 2, no traceback)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from geetiles.errors import UserInputError

if TYPE_CHECKING:
    import yaml

EXIT_BAD_INPUT = 2


def as_user_error(error: BaseException) -> UserInputError | None:
    """The user-facing form of ``error``, or None if it is a bug (which keeps its traceback)."""
    import yaml
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from geetiles.experiment import config_error

    if isinstance(error, UserInputError):
        return error
    chain = [error, error.__cause__] if error.__cause__ is not None else [error]
    for item in chain:
        if isinstance(item, OmegaConfBaseException) and getattr(item, "full_key", None):
            return config_error(item)
        if isinstance(item, yaml.MarkedYAMLError):
            return yaml_error(item)
    if isinstance(error, (HydraException, OmegaConfBaseException)):
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        if error.__cause__ is not None:
            lines += [line.strip() for line in str(error.__cause__).splitlines()[:1] if line.strip()]
        return UserInputError("; ".join(_merge_option_lists(lines)) or type(error).__name__)
    return None


def yaml_error(error: yaml.MarkedYAMLError) -> UserInputError:
    """A config file's YAML refused by the safe loader: a ``!!python/...`` (or other unknown) tag, which is
    never constructed, or broken syntax; one line naming the file and line."""
    from yaml.constructor import ConstructorError

    mark = error.problem_mark or error.context_mark
    if mark is None:
        where = "a YAML file"
    else:  # a string loaded rather than a file is named "<unicode string>"
        where = f"{'a YAML text' if mark.name.startswith('<') else mark.name} line {mark.line + 1}"
    if isinstance(error, ConstructorError):
        tag = re.search(r"tag '([^']+)'", str(error.problem))
        shown = tag.group(1).replace("tag:yaml.org,2002:", "!!") if tag else "a tag"
        return UserInputError(
            f"{where}: the YAML tag {shown} is not allowed (config files are plain YAML: "
            "tags are never constructed); remove the tag"
        )
    problem = " ".join(str(error.problem or error.context or type(error).__name__).split())
    return UserInputError(f"{where} is not valid YAML ({problem}); fix the file")


def _merge_option_lists(lines: list[str]) -> list[str]:
    """Hydra lists available options one per line; fold them into the sentence before them."""
    merged: list[str] = []
    for line in lines:
        if merged and merged[-1].endswith(":"):
            merged[-1] = f"{merged[-1]} {line}"
        elif merged and ":" in merged[-1] and merged[-1].rsplit(":", 1)[1].strip() and " " not in line:
            merged[-1] = f"{merged[-1]}, {line}"
        else:
            merged.append(line)
    return merged


def exit_with(error: UserInputError) -> NoReturn:
    _error_line(f"geetiles: error: {error}")
    raise SystemExit(EXIT_BAD_INPUT)


def exit_interrupted() -> NoReturn:
    print(
        "geetiles: interrupted; finished work is kept (chips, journal): rerun the same command to resume",
        file=sys.stderr,
    )
    raise SystemExit(130)


def exit_failed(error: BaseException) -> NoReturn:
    """Some of the work failed (listed on disk); the rest is saved: exit status 1, one line."""
    _error_line(f"geetiles: error: {error}")
    raise SystemExit(getattr(error, "exit_code", 1))


def _error_line(line: str) -> None:
    """The error line; in a console command it is the last thing on stderr (``errors.last_words``), in a
    library call of ``main()`` a plain print."""
    from geetiles.cli.fast_exit import console_run
    from geetiles.errors import last_words

    if console_run():
        last_words(line)
    else:
        print(line, file=sys.stderr)


def run_reporting(call: Callable[[], Any], on_user_error: Callable[[], None] | None = None) -> Any:
    """Run ``call`` with the one policy every entry point shares: bad input is one line and exit 2
    (after ``on_user_error``, e.g. removing what the run started to write), failed chips exit 1,
    Ctrl-C says the work is kept, a full disk is one line and exit 1 (``geetiles.errors.DiskFull``, also
    for a write outside ``geetiles.atomic``), and anything else is a bug that keeps its traceback."""
    from geetiles.errors import RunFailed, disk_full

    try:
        return call()
    except RunFailed as error:
        exit_failed(error)
    except KeyboardInterrupt:
        exit_interrupted()
    except Exception as error:
        full = disk_full(error)
        if full is not None:
            exit_failed(full)
        user_error = as_user_error(error)
        if user_error is None:
            raise
        if on_user_error is not None:
            on_user_error()
        exit_with(user_error)
