"""Tiles file names, as geetiles 0.1.7 names them: ``{dest}/{aoi_name}_partitions_{tiles_name}_{hash}.geojson``
where ``hash`` is the list hash of the chip ids in row order."""

from __future__ import annotations

import os
import re
from pathlib import Path

from geetiles.errors import UserInputError
from geetiles.layout import geojson_path


def is_json_column(name: str) -> bool:
    """Columns holding a JSON object per chip (the original's proportions): objects in the GeoJSON, JSON
    text in the twin, dicts in memory."""
    return name.endswith("_proportions") or "_proportions_at_" in name


_NAME_RE = re.compile(r"^(?P<aoi>[^_/]+)_partitions_(?P<tiles>[^_/]+)_(?P<hash>[0-9a-f]{13})$")


def check_name(kind: str, name: str) -> None:
    """AOI and tiles names become parts of tiles file names: the rule for every name
    (``geetiles.names``) and, as geetiles 0.1.7 has it, no ``_`` and no ``partitions``."""
    from geetiles.names import RULE, problems, shown

    found = problems(name)
    if isinstance(name, str) and "_" in name:
        found.append("contains '_'")
    if isinstance(name, str) and "partitions" in name:
        found.append("contains 'partitions'")
    if found:
        raise UserInputError(
            f"{kind}={shown(name)} {' and '.join(found)}; it becomes part of file names, so it must follow the rule "
            f"for names ({RULE}) without '_' or 'partitions': e.g. {kind}={_suggest(name)}"
        )


def _suggest(name: str) -> str:
    from geetiles.names import suggest

    return suggest(str(name).replace("partitions", "").replace("_", "-"), fallback="myaoi")


def tiles_file_path(dest_dir: str | os.PathLike[str], aoi_name: str, tiles_name: str, digest: str) -> Path:
    """Where a tiles file goes, named exactly as geetiles 0.1.7 names it."""
    check_name("aoi.name", aoi_name)
    check_name("tiles name", tiles_name)
    return Path(dest_dir) / f"{aoi_name}_partitions_{tiles_name}_{digest}.geojson"


def parse_tiles_file_name(path: str | os.PathLike[str]) -> dict[str, str] | None:
    """``{'aoi', 'tiles', 'hash'}`` from a tiles file name, or None if it does not follow the rule."""
    match = _NAME_RE.match(Path(path).stem)
    return match.groupdict() if match else None


def existing_tiles_file(value: str, key: str, what: str = "a tiles file") -> Path:
    """The tiles file a setting names (its GeoJSON, also when the twin is named), or one line saying
    it does not exist."""
    path = geojson_path(Path(str(value)).expanduser().resolve())
    if not path.exists():
        raise UserInputError(f"{key}={value!r} does not exist; give {what} (.geojson)")
    return path


def stage_tiles_file(from_run: Path | None, value: str | None, stage: str, what: str = "a tiles file") -> Path:
    """The tiles file a stage works on: the one this run made, else the one its ``<stage>.tiles_file`` names,
    else one line saying how to give it (every stage that reads chips resolves it the same way)."""
    if from_run is not None:
        return from_run
    key = f"{stage}.tiles_file"
    if value:
        return existing_tiles_file(value, key, what)
    raise UserInputError(f"the {stage} stage needs {what}: run the tiling stage first or set {key}=...")
