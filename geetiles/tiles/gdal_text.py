"""Numbers as GDAL 3.6's GeoJSON writer printed them for geetiles 0.1.7 (through fiona 1.9): coordinates
as ``%.15f`` and double properties as ``%.17g``, each after GDAL's rounding of ``…000000x`` and ``…999999x``
tails; JSON-object properties as json-c prints them. Pure Python: ``geet grid`` imports no pandas."""

from __future__ import annotations

import json


def gdal_coordinate_texts(values: list[float]) -> tuple[list[str], list[int]]:
    """(texts, indices of the values GDAL may have rounded), in list comprehensions; one by one only
    the values GDAL may round: below 1000 (20 characters at most) intelliround needs a run of five
    ``0`` or ``9`` among the digits it inspects; above, looser rules apply and each value is checked."""
    texts = ["%.15f" % v for v in values]
    special = [i for i, t in enumerate(texts) if len(t) > 20 or "00000" in t[-9:-1] or "99999" in t[-9:-1]]
    texts = [t.rstrip("0") for t in texts]
    texts = [t + "0" if t.endswith(".") else t for t in texts]
    for i in special:
        texts[i] = gdal_coordinate(values[i])
    return texts, special


def parsed_coordinates(values: list[float], texts: list[str], rounded: list[int]):
    """The floats ``texts`` (from :func:`gdal_coordinate_texts`) read back as. A text of 17 significant
    digits or more (|value| >= 10, 15 decimals) that GDAL did not round (``rounded`` lists those it
    may have) gives back its value exactly; only the others are parsed."""
    import numpy as np

    parsed = np.array(values, dtype=float)
    redo = ~(np.abs(parsed) >= 10)
    redo[rounded] = True
    for i in np.flatnonzero(redo).tolist():
        parsed[i] = float(texts[i])
    return parsed


def gdal_coordinate(value: float) -> str:
    """A coordinate as GDAL 3.6's GeoJSON writer prints it: ``%.15f``, GDAL's rounding of
    ``…00000x``/``…99999x`` tails (``intelliround``), trailing zeros dropped (one kept after the point)."""
    if abs(value) > 1e50 and value not in (float("inf"), float("-inf")):
        return "%.18g" % value
    if value != value or value in (float("inf"), float("-inf")):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}[repr(value)]
    text = "%.15f" % value
    tail = text[-9:-1]  # the characters GDAL looks at: s[i-9] .. s[i-2]
    if "00" in tail or "99" in tail:
        text = _intelliround(text)
    text = text.rstrip("0")
    return text + "0" if text.endswith(".") else text


def _intelliround(s: str) -> str:
    """GDAL's ``intelliround`` (ogr/ogrutils.cpp), character for character."""
    dot = s.find(".")
    if dot < 0 or "e" in s or "E" in s:
        return s
    before = dot - 1 - (s[0] == "-")
    i = len(s)
    if i <= 10:
        return s
    if s[i - 6 : i - 1] == "00000":
        return s[:-1]
    if dot < i - 8 and all(before >= k or s[i - k + 1] == "0" for k in range(4, 9)) and s[i - 8] == s[i - 9] == "0":
        return s[:-8]
    if s[i - 6 : i - 1] == "99999":
        return _round_up(s[: i - 6])
    if dot < i - 9 and all(before >= k or s[i - k + 1] == "9" for k in range(4, 9)) and s[i - 8] == s[i - 9] == "9":
        return _round_up(s[: i - 9])
    return s


def _round_up(s: str) -> str:
    """Add one in the last digit of a decimal string (GDAL's ``roundup``)."""
    negative = s.startswith("-")
    digits = list(s[1:] if negative else s)
    pos = len(digits) - 1
    while pos >= 0:
        if digits[pos] != ".":
            if digits[pos] != "9":
                digits[pos] = chr(ord(digits[pos]) + 1)
                break
            digits[pos] = "0"
            if pos == 0:
                digits.insert(0, "1")
        pos -= 1
    return ("-" if negative else "") + "".join(digits)


def gdal_double(value: float) -> str:
    """A double property as GDAL 3.6's GeoJSON writer prints it: ``%.17g``, or ``%.16g``..``%.14g``
    when that avoids a ``999999``/``000000`` run after the point; ``.0`` added to integers."""
    text = "%.17g" % value
    dot = text.find(".")
    if dot >= 0 and ("999999" in text[dot:] or "000000" in text[dot:]):
        for digits in (16, 15, 14):
            shorter = "%.*g" % (digits, value)
            dot = shorter.find(".")
            if dot >= 0 and "999999" not in shorter[dot:] and "000000" not in shorter[dot:]:
                text = shorter
                break
    if "." not in text and "e" not in text and text not in ("nan", "inf", "-inf"):
        text += ".0"
    return text


def gdal_doubles(values: list[float]) -> list[str]:
    """:func:`gdal_double` of many values: ``%.17g`` in a list comprehension, the values whose text
    GDAL would shorten (or complete with ``.0``) one by one."""
    texts = ["%.17g" % v for v in values]
    special = [i for i, t in enumerate(texts) if "999999" in t or "000000" in t or "." not in t]
    for i in special:
        value = values[i]
        texts[i] = "null" if value != value else gdal_double(value)
    return texts


def json_object_text(value: dict) -> str:
    """A JSON object property (0.1.7's proportions) as GDAL wrote it: json-c's spacing
    (``{ "1": 0.5, "4": 0.25 }``, ``{ }`` when empty), each number as Python's JSON text gave it (json-c
    keeps the text it parsed)."""
    if not value:
        return "{ }"
    items = ", ".join(
        f"{json.dumps(str(k), ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}" for k, v in value.items()
    )
    return "{ " + items + " }"
