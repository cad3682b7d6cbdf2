"""A sample's index row (its ``.json`` member): the chip's identifier, split, bounds, true centre, and
every JSON-able column of the tiles file, made a shard at a time."""

from __future__ import annotations

import json
import math

import numpy as np

from geetiles.export.inputs import ExportInput


class ChipRows:
    """The chips' index rows (their ``.json`` members), made a shard at a time so that a million chips
    never sit in memory as dicts."""

    HEAD = ("identifier", "split", "bounds", "centre_lon", "centre_lat", "centre_method")
    GRID = ("crs", "transform_gdal", "width", "height")  # filled in by the shard writer from the image chip

    def __init__(self, inp: ExportInput) -> None:
        import shapely

        frame = inp.frame
        self.identifiers = np.asarray(inp.identifiers).astype(str)
        self.splits = np.asarray(inp.splits).astype(str)
        geometry = np.asarray(frame.geometry.values)
        self.bounds = shapely.bounds(geometry) if len(geometry) else np.zeros((0, 4))
        self.lon, self.lat, self.method = chip_centres(geometry)
        self.columns: list[tuple[str, object, bool]] = []  # (key, frame column or None, parse JSON strings)
        skip = {frame.geometry.name, "identifier", "split"}
        self.class_keys: list[int] | None = None
        self.proportions: np.ndarray | None = None  # (chips, classes), class-table order, NaN where not counted
        if inp.labels is not None:
            self.class_keys, self.proportions = dense_proportions(inp)
            skip.add(f"{inp.labels.name}_proportions")
            column = f"{inp.labels.name}_valid_frac"
            usable = column in frame.columns and column_values(frame[column]) is not None
            self.columns.append(("valid_frac", frame[column] if usable else None, False))
            skip.add(column)
        taken = set(self.HEAD + self.GRID) | {key for key, _, _ in self.columns} | {"proportions", "class_keys"}
        for column in frame.columns:
            if column in skip or column_values(frame[column]) is None:  # not JSON-able: geometries, bytes, ...
                continue
            key = str(column)
            while key in taken:
                key = f"tiles_{key}"
            taken.add(key)
            self.columns.append((key, frame[column], False))

    def rows(self, indices: np.ndarray) -> list[tuple[str, dict, dict]]:
        """(identifier, head, tail) of the chips at ``indices``; the writer puts the grid between."""
        indices = np.asarray(indices, dtype=np.int64)
        identifiers = self.identifiers[indices].tolist()
        splits = self.splits[indices].tolist()
        bounds = nulls(self.bounds[indices].tolist())
        lon, lat = nulls(self.lon[indices].tolist()), nulls(self.lat[indices].tolist())
        method = [self.method[i] for i in indices.tolist()]
        dense = nulls(self.proportions[indices].tolist()) if self.proportions is not None else None
        names = [key for key, _, _ in self.columns]
        values = [
            column_values(series.iloc[indices], parse) if series is not None else [None] * len(indices)
            for _, series, parse in self.columns
        ]
        out = []
        for at, identifier in enumerate(identifiers):
            head = {
                "identifier": identifier,
                "split": splits[at],
                "bounds": bounds[at],
                "centre_lon": lon[at],
                "centre_lat": lat[at],
                "centre_method": method[at],
            }
            tail = {}
            if self.proportions is not None:
                tail["proportions"], tail["class_keys"] = dense[at], self.class_keys
            tail.update((key, column[at]) for key, column in zip(names, values))
            out.append((identifier, head, tail))
        return out


def dense_proportions(inp: ExportInput) -> tuple[list[int], np.ndarray]:
    """(class keys in class-table order, each chip's share of every class in that order): the index's
    ``{labels}_class_{key}`` columns where the tiles file has them, else its ``{labels}_proportions``
    mapping; 0 for a class absent from a chip, NaN for every class of a chip never counted. A list of
    the same length in every sample, so readers that infer a schema from a few samples (Hugging Face
    ``datasets``) keep every value."""
    from geetiles.dataset.sample import class_table

    frame, name = inp.frame, inp.labels.name
    keys = [entry.key for entry in class_table(inp.labels.classes)]
    out = np.full((len(frame), len(keys)), np.nan)
    columns = [f"{name}_class_{key}" for key in keys]
    if any(column in frame.columns for column in columns):
        for at, column in enumerate(columns):
            if column in frame.columns:
                out[:, at] = frame[column].to_numpy(dtype=float)
        return keys, out
    mapping = f"{name}_proportions"
    if mapping in frame.columns:
        for row, value in enumerate(frame[mapping].tolist()):
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    value = None
            if isinstance(value, dict):
                shares = {str(k): v for k, v in value.items()}
                out[row] = [float(shares.get(str(key), 0.0) or 0.0) for key in keys]
    return keys, out


def chip_centres(geometry: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Each footprint's true centre (lon, lat) and how it was found.

    A footprint that is a lon/lat rectangle (its own bounding box: the chips of a lon/lat grid)
    gets its box centre, ``"bbox"``. Any other footprint (UTM chips, irregular units) gets the centroid
    of its area computed in a local metric CRS, the UTM zone of its box centre (UPS beyond ±84°), and
    ``"centroid:EPSG:n"`` names that CRS. Empty footprints get NaN and ``"none"``.
    """
    import shapely

    count = len(geometry)
    lon, lat = np.full(count, np.nan), np.full(count, np.nan)
    method = np.full(count, "none", dtype=object)
    if count == 0:
        return lon, lat, []
    bounds = shapely.bounds(geometry)
    present = np.isfinite(bounds).all(axis=1)
    box_area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    with np.errstate(invalid="ignore"):
        rectangle = present & (np.abs(shapely.area(geometry) - box_area) <= 1e-9 * np.abs(box_area))
    lon[rectangle] = (bounds[rectangle, 0] + bounds[rectangle, 2]) / 2
    lat[rectangle] = (bounds[rectangle, 1] + bounds[rectangle, 3]) / 2
    method[rectangle] = "bbox"
    other = np.flatnonzero(present & ~rectangle)
    if len(other):
        mid_lon = (bounds[other, 0] + bounds[other, 2]) / 2
        mid_lat = (bounds[other, 1] + bounds[other, 3]) / 2
        zone = np.clip(np.floor((mid_lon + 180) / 6).astype(int) + 1, 1, 60)
        epsg = np.where(mid_lat >= 0, 32600, 32700) + zone
        epsg = np.where(mid_lat > 84, 32661, np.where(mid_lat < -80, 32761, epsg))
        for code in np.unique(epsg).tolist():
            rows = other[epsg == code]
            forward, back = _transformers(code)
            projected = shapely.transform(
                geometry[rows], lambda xy, forward=forward: np.column_stack(forward.transform(xy[:, 0], xy[:, 1]))
            )
            xy = shapely.get_coordinates(shapely.centroid(projected))
            lon[rows], lat[rows] = back.transform(xy[:, 0], xy[:, 1])
            method[rows] = f"centroid:EPSG:{code}"
    return lon, lat, method.tolist()


def _transformers(code: int):
    from pyproj import Transformer

    return (
        Transformer.from_crs("EPSG:4326", f"EPSG:{code}", always_xy=True),
        Transformer.from_crs(f"EPSG:{code}", "EPSG:4326", always_xy=True),
    )


# --- JSON values -----------------------------------------------------------------------------------


def nulls(values: list) -> list:
    """Nested lists of floats with NaN/inf as None."""
    return [
        nulls(v) if isinstance(v, list) else (None if isinstance(v, float) and not math.isfinite(v) else v)
        for v in values
    ]


def column_values(series, parse_json: bool = False) -> list | None:
    """A frame column as JSON values (NaN and missing as None), or None when it is not JSON-able."""
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return nulls(series.to_numpy().tolist())
    if isinstance(dtype, np.dtype) and dtype.kind in "biu":
        return series.to_numpy().tolist()
    if isinstance(dtype, np.dtype) and dtype.kind == "M" or isinstance(dtype, pd.DatetimeTZDtype):
        return [None if pd.isna(v) else v.isoformat() for v in series.tolist()]
    out = []
    for value in series.astype(object).tolist():
        if parse_json and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        ok, converted = jsonable(value)
        if not ok:
            return None
        out.append(converted)
    return out


def jsonable(value) -> tuple[bool, object]:
    """(whether ``value`` maps to JSON, the JSON value); NaN, NA and NaT as None."""
    import datetime

    if value is None or isinstance(value, (str, bool)):
        return True, value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return True, int(value)
    if isinstance(value, np.bool_):
        return True, bool(value)
    if isinstance(value, (float, np.floating)):
        return True, float(value) if math.isfinite(value) else None
    if isinstance(value, (datetime.date, datetime.datetime)):
        return True, value.isoformat()
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            ok, converted = jsonable(item)
            if not ok:
                return False, None
            out[str(key)] = converted
        return True, out
    if isinstance(value, (list, tuple, np.ndarray)):
        out_list = []
        for item in value.tolist() if isinstance(value, np.ndarray) else value:
            ok, converted = jsonable(item)
            if not ok:
                return False, None
            out_list.append(converted)
        return True, out_list
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return True, None
    except ImportError:  # pragma: no cover
        pass
    return False, None
