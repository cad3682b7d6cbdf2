"""The chips of a tiles file as the report needs them: flat arrays (bounds, split, class shares), read
column by column from the GeoParquet twin a slice at a time, instead of a GeoDataFrame of a million Python objects
(``bench/report.py`` times the report and its peak memory at a million chips)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geetiles.errors import UserInputError

BATCH_ROWS = 131_072


@dataclass
class ChipArrays:
    """One entry per chip, in tiles-file order."""

    identifiers: np.ndarray  # str
    bounds: np.ndarray  # (n, 4) float64: min lon, min lat, max lon, max lat
    area_km2: np.ndarray | None  # float64, when the tiles file has the column
    split: np.ndarray | None  # object (str), when the tiles file has a split column
    shares: np.ndarray | None  # (n, len(keys)) float32 class shares of the labels; NaN rows: no proportions
    keys: tuple[str, ...]  # the class keys of ``shares`` columns
    geometry: np.ndarray | None  # shapely polygons, only when asked (few chips: maps draw them)
    columns: tuple[str, ...]  # every column of the tiles file

    def __len__(self) -> int:
        return len(self.identifiers)

    @property
    def centres(self) -> np.ndarray:
        return np.column_stack(
            [(self.bounds[:, 0] + self.bounds[:, 2]) / 2, (self.bounds[:, 1] + self.bounds[:, 3]) / 2]
        )

    def extent(self) -> tuple[float, float, float, float]:
        return (
            float(self.bounds[:, 0].min()),
            float(self.bounds[:, 1].min()),
            float(self.bounds[:, 2].max()),
            float(self.bounds[:, 3].max()),
        )

    def dominant(self) -> np.ndarray:
        """Per chip, the index (into ``keys``) of its largest class share; -1 without proportions."""
        if self.shares is None or not len(self.keys):
            return np.full(len(self), -1, dtype=np.int64)
        filled = np.nan_to_num(self.shares, nan=-1.0)
        out = filled.argmax(axis=1).astype(np.int64)
        out[filled.max(axis=1) <= 0] = -1
        return out


def column_names(tiles_path: Path) -> tuple[str, ...]:
    """The tiles file's columns (twin-only ones included), without reading its rows."""
    twin = _usable_twin(tiles_path)
    if twin is not None:
        import pyarrow.parquet as pq

        return tuple(pq.read_schema(twin).names)
    import pyogrio

    try:
        info = pyogrio.read_info(tiles_path)
    except Exception as error:  # pyogrio raises several types for unreadable files
        raise UserInputError(
            f"cannot read tiles file {str(tiles_path)!r} ({error}); is it a GeoJSON tiles file?"
        ) from None
    return (*(str(f) for f in info["fields"]), "geometry")


def read_chips(
    tiles_path: Path, labels_dataset: str | None, keys: tuple[str, ...] = (), geometry_up_to: int = 0
) -> ChipArrays:
    """The chips of ``tiles_path``; class shares of ``labels_dataset`` (its ``_class_{key}`` columns, else
    its ``_proportions`` objects) in the order of ``keys`` (extended by keys found in the data); the
    polygons themselves only when there are at most ``geometry_up_to`` chips."""
    columns = column_names(tiles_path)
    twin = _usable_twin(tiles_path)
    if twin is None:
        return _from_frame(tiles_path, columns, labels_dataset, keys, geometry_up_to)
    return _from_twin(twin, columns, labels_dataset, keys, geometry_up_to)


def _usable_twin(tiles_path: Path) -> Path | None:
    """The GeoParquet twin when it exists, matches its GeoJSON and is in lon/lat."""
    from geetiles.tiles import twin_in_sync, twin_path

    twin = twin_path(tiles_path)
    if not twin.exists():
        return None
    if tiles_path.exists() and not twin_in_sync(twin, tiles_path):
        return None
    import pyarrow.parquet as pq

    try:
        geo = json.loads((pq.read_schema(twin).metadata or {}).get(b"geo", b"{}"))
    except Exception:
        return None
    crs = (geo.get("columns", {}).get(geo.get("primary_column", "geometry"), {}) or {}).get("crs")
    if crs is not None and not _is_lonlat(crs):
        return None
    return twin


def _is_lonlat(crs) -> bool:
    if isinstance(crs, dict) and crs.get("id") in (
        {"authority": "EPSG", "code": 4326},
        {"authority": "OGC", "code": "CRS84"},
    ):
        return True
    from pyproj import CRS

    try:
        return CRS.from_user_input(crs).equals("EPSG:4326", ignore_axis_order=True)
    except Exception:
        return False


def _share_source(
    columns: tuple[str, ...], dataset: str | None, keys: tuple[str, ...]
) -> tuple[str, list[str], tuple[str, ...]]:
    """("wide", the class columns, keys) or ("objects", [the proportions column], keys) or ("", [], ())."""
    if dataset is None:
        return "", [], ()
    prefix = f"{dataset}_class_"
    wide = [c for c in columns if c.startswith(prefix)]
    if wide:
        found = [c[len(prefix) :] for c in wide]
        ordered = [k for k in keys if k in found] + [k for k in found if k not in keys]
        return "wide", [prefix + k for k in ordered], tuple(ordered)
    if f"{dataset}_proportions" in columns:
        return "objects", [f"{dataset}_proportions"], tuple(keys)
    return "", [], ()


def _from_twin(
    twin: Path, columns: tuple[str, ...], dataset: str | None, keys: tuple[str, ...], geometry_up_to: int
) -> ChipArrays:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    import shapely

    kind, share_columns, keys = _share_source(columns, dataset, keys)
    wanted = [c for c in ("identifier", "area_km2", "split") if c in columns] + share_columns + ["geometry"]
    parquet = pq.ParquetFile(twin)
    n = parquet.metadata.num_rows
    keep_geometry = n <= geometry_up_to
    ids, bounds, area, split, shares, geoms, id_columns = [], [], [], [], [], [], []
    key_list = list(keys)
    start = 0
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=wanted):
        geometry = shapely.from_wkb(batch.column("geometry").to_numpy(zero_copy_only=False))
        bounds.append(shapely.bounds(geometry))
        if keep_geometry:
            geoms.append(geometry)
        del geometry
        if "identifier" in columns:
            ids.append(batch.column("identifier").to_numpy(zero_copy_only=False).astype(str))
            id_columns.append(batch.column("identifier"))
        else:
            ids.append(np.arange(start, start + batch.num_rows).astype(str))
        start += batch.num_rows
        if "area_km2" in columns:
            area.append(batch.column("area_km2").to_numpy(zero_copy_only=False).astype(np.float64))
        if "split" in columns:
            split.append(pc.fill_null(batch.column("split").cast(pa.string()), "none").to_numpy(zero_copy_only=False))
        if kind == "wide":
            shares.append(
                np.column_stack(
                    [pc.fill_null(batch.column(c).cast(pa.float32()), np.nan).to_numpy() for c in share_columns]
                )
            )
        elif kind == "objects":
            shares.append(_parse_json_column(batch.column(share_columns[0]), key_list))
    if id_columns:  # they name the chip files the sample sheet reads: the rule, as every reader of tiles files
        from geetiles.names import check_identifiers

        check_identifiers(pa.chunked_array(id_columns), f"tiles file {twin.with_suffix('.geojson').name!r}")
    return ChipArrays(
        identifiers=np.concatenate(ids) if ids else np.zeros(0, dtype=str),
        bounds=np.concatenate(bounds) if bounds else np.zeros((0, 4)),
        area_km2=np.concatenate(area) if area else None,
        split=np.concatenate(split).astype(object) if split else None,
        shares=_stack(shares, len(key_list)) if kind else None,
        keys=tuple(key_list),
        geometry=np.concatenate(geoms)
        if keep_geometry and geoms
        else (np.zeros(0, dtype=object) if keep_geometry else None),
        columns=columns,
    )


def _from_frame(
    tiles_path: Path, columns: tuple[str, ...], dataset: str | None, keys: tuple[str, ...], geometry_up_to: int
) -> ChipArrays:
    """A tiles file without a usable twin (GeoJSON only, or another CRS): through load_tiles."""
    import shapely

    from geetiles.tiles import load_tiles

    frame = load_tiles(tiles_path)
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    columns = tuple(str(c) for c in frame.columns)
    kind, share_columns, keys = _share_source(columns, dataset, keys)
    geometry = np.asarray(frame.geometry.values)
    key_list = list(keys)
    shares = None
    if kind == "wide":
        shares = np.column_stack([frame[c].to_numpy(dtype=np.float32, na_value=np.nan) for c in share_columns])
    elif kind == "objects":
        shares = _stack([_parse_objects(frame[share_columns[0]].tolist(), key_list)], len(key_list))
    return ChipArrays(
        identifiers=frame["identifier"].astype(str).to_numpy()
        if "identifier" in columns
        else np.arange(len(frame)).astype(str),
        bounds=shapely.bounds(geometry) if len(geometry) else np.zeros((0, 4)),
        area_km2=frame["area_km2"].to_numpy(dtype=np.float64) if "area_km2" in columns else None,
        split=_clean_split(frame["split"].astype(object).to_numpy()) if "split" in columns else None,
        shares=shares,
        keys=tuple(key_list),
        geometry=geometry if len(geometry) <= geometry_up_to else None,
        columns=columns,
    )


def _parse_json_column(texts, keys: list[str]) -> np.ndarray:
    """Rows of class shares from a column of JSON objects (text), parsed by Arrow's JSON reader in one
    go (a million objects in about a second); ``keys`` grows with keys not seen before. Rows without an
    object are NaN. Falls back to :func:`_parse_objects` on anything unusual."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import json as pa_json

    texts = texts.cast(pa.large_string())
    objects = pc.fill_null(pc.starts_with(pc.utf8_trim_whitespace(texts), "{"), False)
    text = pa.large_string()
    lines = pc.binary_join_element_wise(
        pc.if_else(objects, texts, pa.scalar("{}", text)), pa.scalar("", text), pa.scalar("\n", text)
    )  # one object a line
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset : lines.offset + len(lines) + 1]
    data = lines.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]] if len(lines) else b""
    try:
        table = pa_json.read_json(
            pa.BufferReader(data), read_options=pa_json.ReadOptions(block_size=max(1 << 20, len(data) + 1))
        )
        if table.num_rows != len(texts):
            raise ValueError("row count")
        for name in table.column_names:
            if name not in keys:
                keys.append(name)
        out = np.zeros((len(texts), len(keys)), dtype=np.float32)
        for name in table.column_names:
            out[:, keys.index(name)] = pc.fill_null(table.column(name).cast(pa.float32()), 0.0).to_numpy()
    except Exception:  # not plain {key: number} objects: one by one
        return _parse_objects(texts.to_pylist(), keys)
    out[~objects.to_numpy(zero_copy_only=False)] = np.nan
    return out


def _parse_objects(values: list, keys: list[str]) -> np.ndarray:
    """Rows of class shares from ``{key: share}`` objects (dicts or JSON text); ``keys`` grows with keys
    not seen before. Rows without an object are NaN."""
    index = {k: i for i, k in enumerate(keys)}
    rows, cols, vals, missing = [], [], [], []
    for row, value in enumerate(values):
        if isinstance(value, str):
            try:
                value = json.loads(value) if value else None
            except ValueError:
                value = None
        if not isinstance(value, dict):
            missing.append(row)
            continue
        for key, share in value.items():
            key = str(key)
            if key not in index:
                index[key] = len(keys)
                keys.append(key)
            rows.append(row)
            cols.append(index[key])
            vals.append(share if isinstance(share, (int, float)) else np.nan)
    out = np.zeros((len(values), len(keys)), dtype=np.float32)
    out[np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)] = np.asarray(vals, dtype=np.float32)
    out[np.asarray(missing, dtype=np.int64)] = np.nan
    return out


def _stack(parts: list[np.ndarray], width: int) -> np.ndarray:
    """Row blocks whose width grew as keys appeared, padded with 0 (NaN rows stay NaN)."""
    padded = []
    for part in parts:
        if part.shape[1] < width:
            extra = np.zeros((len(part), width - part.shape[1]), dtype=np.float32)
            extra[np.isnan(part).all(axis=1) & (part.shape[1] > 0)] = np.nan
            part = np.hstack([part, extra])
        padded.append(part)
    return np.concatenate(padded) if padded else np.zeros((0, width), dtype=np.float32)


def _clean_split(values: np.ndarray) -> np.ndarray:
    """Split names as str; missing values become "none"."""
    out = np.asarray(values, dtype=object)
    missing = np.array([v is None or (isinstance(v, float) and v != v) for v in out.tolist()], dtype=bool)
    if missing.any():
        out = out.copy()
        out[missing] = "none"
    return out.astype(str).astype(object)
