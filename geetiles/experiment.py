"""The Experiment: the composed config as typed objects, plus every path a run will touch."""

from __future__ import annotations

import dataclasses
import shlex
import sys
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from geetiles.config import ExperimentConfig
from geetiles.errors import UserInputError


@dataclass(frozen=True)
class Experiment:
    """What stages receive; they never read global state or ``sys.argv`` themselves."""

    config: ExperimentConfig
    resolved: dict[str, Any]  # the fully resolved config, as recorded beside every output
    data_dir: Path
    command: str

    @classmethod
    def from_config(cls, cfg: DictConfig, command: str | None = None) -> Experiment:
        """Validate the composed config and resolve every path against the working directory."""
        try:
            resolved = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True, enum_to_str=True)
            typed: ExperimentConfig = OmegaConf.to_object(cfg)
        except Exception as error:
            raise config_error(error) from None
        resolved.pop("hydra", None)
        _check_values(typed)
        return cls(
            config=typed,
            resolved=resolved,
            data_dir=Path(typed.data_dir).expanduser().resolve(),
            command=command if command is not None else shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        )


def _check_values(config: ExperimentConfig) -> None:
    from geetiles.numbers import check_finite_config

    check_finite_config(config)  # first: range checks below would misname a NaN
    size = config.tiling.chip_size_m
    if not size > 0 or size != size or size == float("inf"):
        raise UserInputError(
            f"tiling.chip_size_m={size} must be a positive number of metres, e.g. tiling.chip_size_m=1000"
        )
    if config.tiling.max_chips <= 0:
        raise UserInputError(f"tiling.max_chips={config.tiling.max_chips} must be positive")
    if not config.stages:
        raise UserInputError("stages is empty; list the stages to run, e.g. stages=[aoi,tiling]")
    _check_names(config)


def _check_names(config: ExperimentConfig) -> None:
    """Every name that becomes a folder or file name, refused now (before any stage) unless it follows
    the rule of ``geetiles.names``; AOI and tiles names also without '_' or 'partitions'."""
    from geetiles.names import check_name
    from geetiles.tiles import check_name as check_file_name_part

    for key, value in (
        ("aoi.name", config.aoi.name),
        ("tiling.name", config.tiling.name),
        ("foreign.name", config.foreign.name),
    ):
        if value is not None:
            check_file_name_part(key, str(value))
    for key, value in (
        ("source.name", config.source.name),
        ("labels.name", config.labels.name),
        ("export.name", config.export.name),
        ("export.images", config.export.images),
        ("export.labels", config.export.labels),
        ("report.images", config.report.images),
        ("report.labels", config.report.labels),
        ("proportions.dataset", config.proportions.dataset),
        ("split.foreign_name", config.split.foreign_name),
    ):
        if value is not None:
            check_name(key, str(value))


def _is_dict_field(path: str) -> bool:
    """Whether ``path`` (e.g. ``labels.recipe.remap``) is a Dict-typed field of the schema."""
    kind: Any = ExperimentConfig
    for name in path.split("."):
        if not dataclasses.is_dataclass(kind):
            return False
        hints = typing.get_type_hints(kind)
        if name not in hints:
            return False
        kind = hints[name]
        if typing.get_origin(kind) is typing.Union:  # Optional[X] -> X
            kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
    return typing.get_origin(kind) is dict


def config_error(error: Exception) -> UserInputError:
    """One line from an OmegaConf/Hydra error: which key, what is wrong, how to fix it."""
    from omegaconf.errors import ConfigKeyError, MissingMandatoryValue, ValidationError

    key = getattr(error, "full_key", None)
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, MissingMandatoryValue):
        return UserInputError(f"{key} is required but not set; add {key}=... to the command or your config")
    parent = str(key or "").rpartition(".")[0]
    if parent and _is_dict_field(parent):  # Hydra merges a dict override into the default and refuses new keys
        return UserInputError(f"{parent} is a mapping: add entries with a ++ prefix, e.g. ++{parent}={{10:1,20:2}}")
    if isinstance(error, ConfigKeyError) or "not in struct" in first or "not in" in first and "Key" in first:
        return UserInputError(
            f"unknown config key {key or first!r}; check the spelling (`python -m geetiles --cfg job` lists every key)"
        )
    if isinstance(error, ValidationError):
        return UserInputError(f"{key}: {first}; give a value of the right type (see `python -m geetiles --cfg job`)")
    return UserInputError(f"configuration error: {first}")
