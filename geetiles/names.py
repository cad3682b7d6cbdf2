"""The one rule for identifiers and names, and the paths built from them.

Chip identifiers become file names (``{chip folder}/{identifier}.tif``, ``data/{identifier}.pkl``, tar
members) and names (``aoi.name``, ``source.name``, ``export.name``, a split's value...) become folder and
file names. Both follow one rule, checked where they enter (a tiles file read, a config key), so that a
hostile or careless value (``../../evil``, ``/abs/path``, ``a/b``, a NUL, 300 characters) is refused with
one line before anything is written:

    letters, digits, '.', '_' and '-' only (ASCII), 1 to 128 characters, not '.' or '..'

In depth, every path built from an identifier or a name goes through :func:`child_path` (a string test,
cheap enough for a million chips) or :func:`inside` (resolve + ``is_relative_to``, for the few paths of a
run), and every archive member through :func:`check_member`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from pathlib import Path

from geetiles.errors import UserInputError

MAX_LENGTH = 128
RULE = "letters, digits, '.', '_' and '-' only, 1 to 128 characters, not '.' or '..'"
_SAFE = re.compile(r"[A-Za-z0-9._-]{1,128}")
_SAFE_ARROW = r"^[A-Za-z0-9._-]{1,128}$"  # the same rule for Arrow (RE2), anchored
_OUTSIDE = re.compile(r"[^A-Za-z0-9._\-\n]")  # a character outside the rule, in identifiers joined by "\n"
_EXAMPLES = 3  # offending values named in a refusal
_SHOWN = 40  # characters of each offending value shown


class UnsafePathError(UserInputError):
    """A path built from an identifier or a name would leave its folder (refused, nothing written)."""


def is_safe_name(value: object) -> bool:
    """Whether ``value`` is a str that follows the rule."""
    return isinstance(value, str) and _SAFE.fullmatch(value) is not None and value not in (".", "..")


def problems(value: object) -> list[str]:
    """What is wrong with ``value`` as a name, in words (empty when it follows the rule)."""
    if not isinstance(value, str):
        return [f"is not text ({type(value).__name__})"]
    found = []
    if not value:
        found.append("is empty")
    elif value in (".", ".."):
        found.append(f"is {value!r}")
    if len(value) > MAX_LENGTH:
        found.append(f"has {len(value)} characters (at most {MAX_LENGTH})")
    others = sorted(set(re.sub(r"[A-Za-z0-9._-]", "", value)))
    if others:
        shown = "".join(others[:8])
        found.append(f"holds {shown!r}" + (" and more" if len(others) > 8 else ""))
    return found


def suggest(value: object, fallback: str = "name") -> str:
    """A name that follows the rule, made from ``value`` (runs of other characters become '-')."""
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", str(value)).strip("-.")[:MAX_LENGTH].strip("-.")
    return text or fallback


def shown(value: object) -> str:
    """``repr`` of a value for a one-line message, cut to a few dozen characters."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 4] + "...'"


def check_name(key: str, value: object, what: str = "it names a folder or a file") -> str:
    """``value`` (the setting ``key``) if it follows the rule; else one line naming the key, the rule
    and a name that would do."""
    found = problems(value)
    if found:
        setting = " " not in key  # a config key (source.name=...), or words (the dataset name ...)
        example = f"{key}={suggest(value)}" if setting else repr(suggest(value))
        raise UserInputError(
            f"{key}{'=' if setting else ' '}{shown(value)} {' and '.join(found)}; {what}, so it must "
            f"follow the rule for names ({RULE}): e.g. {example}"
        )
    return value  # type: ignore[return-value]


def _as_arrow(values):
    """``values`` as an Arrow array when that is free (Arrow data, pandas' Arrow-backed strings), else None."""
    import pyarrow as pa

    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    array = getattr(values, "array", None)  # a pandas Series
    if array is not None and hasattr(array, "__arrow_array__"):
        try:
            return pa.array(array)
        except Exception:  # an extension array that cannot become Arrow: the plain way
            return None
    return None


def _unsafe_mask(array):
    """Per value of an Arrow array, whether it breaks the rule (missing values do); None when the
    array holds neither text nor integers (the caller walks it value by value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        if not pa.types.is_integer(array.type):
            return None
        array = pc.cast(array, pa.string())
    fits = pc.match_substring_regex(array, _SAFE_ARROW)
    dots = pc.is_in(array, value_set=pa.array([".", ".."], type=array.type))
    return pc.fill_null(pc.invert(pc.and_not(fits, dots)), True)


def _all_safe_text(items: list) -> bool:
    """The rule over many str at once: joined by newlines, one regex search and a few substring tests."""
    try:
        text = "\n" + "\n".join(items) + "\n"
    except TypeError:  # something other than str: the slow path decides
        return False
    if text.count("\n") != len(items) + 1:  # a newline inside an identifier
        return False
    if _OUTSIDE.search(text) or "\n\n" in text or "\n.\n" in text or "\n..\n" in text:
        return False
    return max(map(len, items), default=0) <= MAX_LENGTH


def _items(values) -> list:
    if hasattr(values, "to_pylist"):
        return values.to_pylist()
    if hasattr(values, "tolist"):
        return values.tolist()
    return list(values)


def _identifier_text(value: object) -> str | None:
    """An identifier as the stages use it (``str`` of it), or None when it is missing."""
    if value is None or isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bytes):
        return None
    return value if isinstance(value, str) else str(value)


def unsafe_identifiers(values, limit: int = _EXAMPLES) -> tuple[int, list]:
    """(how many of ``values`` break the rule, the first ``limit`` of them). Vectorised: a million
    identifiers take a small fraction of a second (Arrow's regex kernel, or one regex over the joined
    text of Python strings); a column that fails is located by Arrow too, only exotic values (floats,
    bytes) are walked one by one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arrow = _as_arrow(values)
    if arrow is None:
        items = _items(values)
        if _all_safe_text(items):
            return 0, []
        try:
            arrow = pa.array(items, type=pa.string())
        except (pa.ArrowException, TypeError, ValueError):  # not all text (numbers, NaN, bytes...)
            return _walk(items, limit)
    mask = _unsafe_mask(arrow)
    if mask is None:
        return _walk(_items(arrow), limit)
    count = int(pc.sum(mask).as_py() or 0)
    return (count, pc.filter(arrow, mask).slice(0, limit).to_pylist()) if count else (0, [])


def _walk(items: list, limit: int) -> tuple[int, list]:
    bad = [v for v in items if not is_safe_name(_identifier_text(v))]
    return len(bad), bad[:limit]


def check_identifiers(values, where: str) -> None:
    """Refuse (one line, exit 2) a column of identifiers of which any breaks the rule; ``where`` names
    the file they come from."""
    count, examples = unsafe_identifiers(values)
    if count:
        named = ", ".join(shown(v) for v in examples) + (", ..." if count > len(examples) else "")
        raise UserInputError(
            f"{where}: {count} chip identifier(s) break the rule for identifiers ({RULE}): {named}; "
            "identifiers become file names, so the file is refused: give a tiles file made by the "
            "tiling stage or geet grid, or fix its 'identifier' column"
        )


def child_path(folder: Path, name: str, suffix: str = "") -> Path:
    """``folder / (name + suffix)``, refused unless ``name`` follows the rule: then the path is a direct
    child of ``folder`` whatever ``folder`` is, so no resolve is needed (the check of the hot path:
    one regex match, about a microsecond with the path)."""
    if not is_safe_name(name):
        raise UnsafePathError(
            f"refusing to write {shown(name)}{suffix} in {folder}: {' and '.join(problems(name))} "
            f"(the rule: {RULE}); nothing outside the folder is touched"
        )
    return folder / f"{name}{suffix}"


def inside(folder: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """``folder / path``, refused unless it resolves (symbolic links followed) inside ``folder``
    (resolved): for the few paths of a run that are not a plain child (a legacy zip's folder and zip).
    The path returned is the one asked for, not its resolution: a link is never silently followed."""
    root = Path(folder).resolve()
    target = (root / path).resolve()
    if target == root or not target.is_relative_to(root):
        raise UnsafePathError(
            f"refusing to write {str(path)!r}: it resolves to {target}, outside {root}; "
            f"names must follow the rule ({RULE})"
        )
    return Path(folder) / path


def check_member(name: str) -> str:
    """An archive member's name (zip, tar), refused unless every part of it is a plain name: no
    absolute path, no '..', no backslash or NUL, nothing that extracts outside the archive's folder."""
    parts = name.split("/")
    if not name or "\\" in name or "\x00" in name or any(p in ("", ".", "..") for p in parts):
        raise UnsafePathError(
            f"refusing the archive member {shown(name)}: it would extract outside its folder "
            f"(names must follow the rule: {RULE})"
        )
    return name


def check_members(names: Iterable[str]) -> None:
    for name in names:
        check_member(name)


_FOREIGN_NAME = re.compile(r"_partitions_(.+?)_")


def foreign_name(path: Path) -> str:
    """``communes`` for ``lux_partitions_communes_1a2b3c4d5e6f7.geojson``."""
    found = _FOREIGN_NAME.search(path.name)
    if not found:
        raise UserInputError(
            f"foreign tiles file {path.name!r} is not named {{aoi}}_partitions_{{name}}_{{hash}}.geojson, "
            "so it gives no foreign name; rename it or make it with the foreign stage"
        )
    return check_name(
        f"the foreign name of {path.name!r}",
        found.group(1),
        "it names the foreignid_{name} column and its record (rename the file)",
    )
