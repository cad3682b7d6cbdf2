"""The metadata files of the legacy zip, hash removed from their names: the tiles file (packaged chips
only, other label datasets' proportions dropped), its ``_expanded`` twin, the foreign file,
``splits.csv`` and ``README.txt``."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

from geetiles.export.inputs import ExportInput
from geetiles.export.legacy_zip.paths import hashless_name
from geetiles.export.legacy_zip.records import missing
from geetiles.layout import splits_csv

_HEADER_ORDER = ("type", "name", "crs")


def _geojson_text(collection: dict, features: list[dict]) -> str:
    """A FeatureCollection laid out as GDAL writes it (one feature a line); floats as the shortest
    text that reads back as the same value."""
    members = [k for k in _HEADER_ORDER if k in collection] + [
        k for k in collection if k not in _HEADER_ORDER and k != "features"
    ]
    head = "".join(f"{json.dumps(k)}: {json.dumps(collection[k], ensure_ascii=False)},\n" for k in members)
    body = ",\n".join(json.dumps(f, ensure_ascii=False) for f in features)
    return "{\n" + head + '"features": [\n' + body + ("\n" if features else "") + "]\n}\n"


def expand(features: list[dict]) -> list[dict] | None:
    """0.1.7's expand_proportions: every property whose name contains ``_proportions`` (a dict per
    chip) also as ``{name}__{key}`` properties, keys in order of first appearance, missing ones 0;
    None when there is no such property."""
    columns: list[str] = []
    for feature in features:
        for name in feature.get("properties") or {}:
            if "_proportions" in name and name not in columns:
                columns.append(name)
    if not columns:
        return None
    keys = {c: {} for c in columns}
    for feature in features:
        props = feature.get("properties") or {}
        for c in columns:
            if isinstance(props.get(c), dict):
                keys[c].update(dict.fromkeys(props[c]))
    new = [(c, k, f"{c}__{k}") for c in columns for k in keys[c]]
    names = {n for _, _, n in new}
    out = []
    for feature in features:
        props = {k: v for k, v in (feature.get("properties") or {}).items() if k not in names}
        for column, key, name in new:
            shares = props.get(column)
            value = shares.get(key) if isinstance(shares, dict) else None
            props[name] = 0.0 if missing(value) else value
        out.append({**feature, "properties": props})
    return out


def _filter_csv(text: str, keep: set[str]) -> str:
    """The rows of a ``splits.csv`` whose identifier is in ``keep``, lines otherwise untouched."""
    lines = text.splitlines(keepends=True)
    if not lines:
        return text
    header = next(csv.reader([lines[0]]))
    if "identifier" not in header:
        return text
    column = header.index("identifier")
    kept = [lines[0]]
    for line in lines[1:]:
        fields = next(csv.reader([line]), []) if '"' in line else line.rstrip("\r\n").split(",")
        if len(fields) > column and fields[column] in keep:
            kept.append(line)
    return "".join(kept)


def write_metadata(
    inp: ExportInput, work: Path, included: set[str], foreign_file: Path | None, readme_file: Path | None
) -> list[str]:
    """The metadata files into ``work``; returns their names."""
    tiles_path = Path(inp.tiles_path)
    tiles_copy = hashless_name(tiles_path)
    written = []
    source = tiles_path.read_bytes()
    collection = json.loads(source)
    features = collection.get("features") or []
    ids = [str((f.get("properties") or {}).get("identifier")) for f in features]
    labels = inp.labels.name if inp.labels is not None else None
    drop = {
        c
        for f in features
        for c in (f.get("properties") or {})
        if labels is not None and "_proportions" in c and labels not in c
    }
    selected = [f for f, i in zip(features, ids) if i in included]
    if len(selected) == len(features) and not drop:
        (work / tiles_copy).write_bytes(source)
    else:
        trimmed = [
            {**f, "properties": {k: v for k, v in (f.get("properties") or {}).items() if k not in drop}}
            for f in selected
        ]
        (work / tiles_copy).write_text(_geojson_text(collection, trimmed), encoding="utf-8")
    written.append(tiles_copy)
    spread = expand(features)
    if spread is not None:  # as 0.1.7: no expanded file without proportions
        stem, suffix = os.path.splitext(tiles_copy)
        expanded = f"{stem}_expanded{suffix}"
        (work / expanded).write_text(
            _geojson_text(collection, [f for f, i in zip(spread, ids) if i in included]), encoding="utf-8"
        )
        written.append(expanded)
    if foreign_file is not None:
        name = hashless_name(foreign_file)
        if name in written:
            name = foreign_file.name
        shutil.copyfile(foreign_file, work / name)
        written.append(name)
    splits = splits_csv(tiles_path)
    if splits.is_file():
        with open(splits, encoding="utf-8", newline="") as file:
            text = file.read()
        with open(work / "splits.csv", "w", encoding="utf-8", newline="") as file:
            file.write(_filter_csv(text, included))
        written.append("splits.csv")
    if readme_file is not None:
        shutil.copyfile(readme_file, work / "README.txt")
        written.append("README.txt")
    return sorted(written)
