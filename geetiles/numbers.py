"""NaN and infinity in the configuration, refused by name.

``nan`` and ``inf`` are valid floats to OmegaConf, and they slip through range checks in ways that
misname them: ``not nan > 0`` reads as "must be positive", ``nan < 0`` is false so a negativity check
passes it, and ``inf`` passes every lower bound. Every float of the typed config tree is therefore
checked here once, before any stage's own checks, and named for what it is.
"""

from __future__ import annotations

import dataclasses
import math
from enum import Enum
from typing import Any

from geetiles.errors import UserInputError

NAN_MEANS_SOMETHING = ("nodata",)  # a NaN no-data value is a real choice for float bands

# what to give instead, for the keys whose fix is more than "a finite number"
HINTS = {
    "split.fractions": "give train, val, test shares summing to 1, e.g. split.fractions=[0.7,0.15,0.15]",
    "tiling.chip_size_m": "give a positive number of metres, e.g. tiling.chip_size_m=1000",
    "tiling.max_size_m": "give a positive number of metres, e.g. tiling.max_size_m=20000",
    "foreign.chip_size_m": "give a positive number of metres, e.g. foreign.chip_size_m=10000",
    "foreign.max_size_m": "give a positive number of metres, e.g. foreign.max_size_m=20000",
}


def not_finite_reason(value: Any) -> str | None:
    """'NaN (not a number)' or 'infinite' for such a float, else None."""
    if isinstance(value, bool) or not isinstance(value, float) or math.isfinite(value):
        return None
    return "NaN (not a number)" if math.isnan(value) else "infinite"


def require_finite(key: str, value: Any, hint: str | None = None) -> Any:
    """``value`` unchanged, or a one-line error naming ``key`` and saying it is NaN or infinite."""
    reason = not_finite_reason(value)
    if reason is not None:
        fix = hint or HINTS.get(key.split("[", 1)[0]) or "give a finite number"
        raise UserInputError(f"{key}={value} is {reason}; {fix}")
    return value


def check_finite_config(node: Any, prefix: str = "") -> None:
    """Refuse the first NaN or infinite float anywhere in a typed config tree (dataclasses, lists,
    dicts), naming its dotted key; NaN is allowed where it means something (``*.nodata``)."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for item in dataclasses.fields(node):
            check_finite_config(getattr(node, item.name), f"{prefix}.{item.name}" if prefix else item.name)
    elif isinstance(node, (list, tuple)):
        for index, item in enumerate(node):
            check_finite_config(item, f"{prefix}[{index}]")
    elif isinstance(node, dict):
        for name, item in node.items():
            check_finite_config(item, f"{prefix}.{name}")
    elif not isinstance(node, Enum):
        if isinstance(node, float) and math.isnan(node) and prefix.rsplit(".", 1)[-1] in NAN_MEANS_SOMETHING:
            return
        require_finite(prefix, node)
