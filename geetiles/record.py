"""Run records: beside every output, the resolved config, the geetiles version and the command line,
so that any file can be traced back to (and rebuilt from) the run that made it."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml

from geetiles import __version__
from geetiles.atomic import write_text
from geetiles.errors import UserInputError

_SECRET = re.compile(r"(secret|token|password|credential|private_key|api_key)", re.IGNORECASE)
REDACTED = "<redacted>"
DOWNLOAD_RECORD = "manifest.geetiles.yaml"  # the download's record beside a chip folder's manifest.csv


def redact(value: Any) -> Any:
    """A copy of ``value`` with the values of secret-looking keys replaced, at any depth."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if _SECRET.search(str(k)) and v not in (None, "", "none", "auto") else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def yaml_text(data: Any) -> str:
    """``yaml.safe_dump(data, sort_keys=False, allow_unicode=True)`` by libyaml's C emitter when PyYAML
    has it (records are written beside every output, and read back with libyaml's parser)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True)


def record_path(output: str | Path) -> Path:
    """``x/lux_partitions_aschips_abc.geojson`` → ``x/lux_partitions_aschips_abc.geetiles.yaml``."""
    output = Path(output)
    return output.with_name(f"{output.stem}.geetiles.yaml")


def write_record(output: str | Path, experiment, stage: str, extra: dict[str, Any] | None = None) -> Path:
    """Write the record of ``stage`` beside ``output`` (atomically) and return its path."""
    record = {
        "geetiles_version": __version__,
        "stage": stage,
        "output": Path(output).name,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": experiment.command,
        "working_dir": str(Path.cwd()),
        **(extra or {}),
        "config": redact(experiment.resolved),
    }
    path = record_path(output)
    write_text(path, yaml_text(record))
    return path


def read_download_record(folder: Path) -> dict | None:
    """The download record of a chip folder, or None when it has none (0.1.7's folders)."""
    path = folder / DOWNLOAD_RECORD
    if not path.exists():
        return None
    try:
        record = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as error:
        raise UserInputError(
            f"cannot read the download record {path} ({error}); rerun the download to rewrite it"
        ) from None
    return record if isinstance(record, dict) else None
