"""Tiles files: the original's GeoJSON, with a GeoParquet twin that loads in a fraction of the time.

Name rule (from geetiles 0.1.7): ``{dest}/{aoi_name}_partitions_{tiles_name}_{hash}.geojson`` where
``hash`` is the list hash of the chip ids in row order. The twin ``….parquet`` records the size and
modification time of the GeoJSON it was written with; a twin that no longer matches (someone edited
the GeoJSON) is ignored, so the two can never silently disagree.

Legacy layout (``Chips.legacy``, e.g. ``tiling=grid``): the bytes geetiles 0.1.7 wrote through
fiona 1.9 / GDAL 3.6, i.e. GDAL's GeoJSON text (no ``name`` member, ``{ "type": ... }`` spacing),
coordinates as ``%.15f`` and properties as ``%.17g``, both after GDAL's rounding of ``…000000x`` and
``…999999x`` tails (:func:`gdal_coordinate`, :func:`gdal_double`). Coordinates so written keep 15
decimals, as the original's did; the twin then holds the very floats the GeoJSON text parses to.
The legacy path needs neither pandas nor geopandas (start-up time of ``geet grid``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from geetiles.atomic import atomic_path
from geetiles.errors import UserInputError

_TWIN_KEY = b"geetiles_twin_of"
LEGACY_LAYOUT_ATTR = "geetiles_legacy_layout"  # GeoDataFrame.attrs flag: write in 0.1.7's layout
TWIN_ONLY_ATTR = "geetiles_twin_only"  # GeoDataFrame.attrs: columns kept out of the GeoJSON (wide class shares)
_TWIN_ONLY_KEY = b"geetiles_twin_only"


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
    path = Path(str(value)).expanduser().resolve()
    if path.suffix == ".parquet":
        path = path.with_suffix(".geojson")
    if not path.exists():
        raise UserInputError(f"{key}={value!r} does not exist; give {what} (.geojson)")
    return path


def twin_path(geojson_path: str | os.PathLike[str]) -> Path:
    return Path(geojson_path).with_suffix(".parquet")


def write_tiles(tiles, geojson_path: str | os.PathLike[str], twin_only=()) -> Path:
    """Write the GeoJSON (as the original does, CRS84) and its GeoParquet twin, each atomically.

    ``tiles`` is a GeoDataFrame or a ``Chips``; legacy chips (or a frame with
    ``attrs[LEGACY_LAYOUT_ATTR]``) are written in the original's layout, byte for byte. Columns in
    ``twin_only`` (and in ``attrs[TWIN_ONLY_ATTR]``, as loaded) go into the twin only.
    """
    geojson_path = Path(geojson_path)
    if hasattr(tiles, "to_geodataframe"):  # Chips
        if tiles.legacy:
            _write_legacy(tiles.columns(), tiles.geometry, geojson_path)
            return geojson_path
        tiles = tiles.to_geodataframe()
    if tiles.attrs.get(LEGACY_LAYOUT_ATTR):
        columns = {name: tiles[name].to_numpy() for name in tiles.columns if name != tiles.geometry.name}
        _write_legacy(columns, _in_lonlat(tiles).geometry.values, geojson_path)
        return geojson_path
    gdf = tiles
    hidden = [c for c in dict.fromkeys([*twin_only, *tiles.attrs.get(TWIN_ONLY_ATTR, ())]) if c in gdf.columns]
    with atomic_path(geojson_path) as tmp:
        write_geojson(gdf.drop(columns=hidden) if hidden else gdf, tmp, name=geojson_path.stem)
    stat = geojson_path.stat()
    _write_twin(gdf, twin_path(geojson_path), stat, hidden)
    return geojson_path


def _in_lonlat(gdf):
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        return gdf.to_crs("EPSG:4326")
    return gdf


def write_geojson(gdf, path: Path, name: str, chunk: int = 100_000) -> None:
    """A FeatureCollection laid out as GDAL writes it (CRS84 member, one feature per line).

    Geometries are encoded by GEOS (``shapely.to_geojson``, shortest round-trip coordinates) and
    properties by pandas' C JSON encoder, a chunk at a time: twice as fast as GDAL's writer for a
    million chips, with memory bounded by the chunk.
    """
    import pandas as pd
    import shapely

    gdf = _in_lonlat(gdf)
    properties = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    geometries = gdf.geometry.values
    header = {"type": "FeatureCollection", "name": name,
              "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}}
    with open(path, "w", encoding="utf-8") as out:
        out.write(json.dumps(header)[:-1] + ',\n"features": [\n')
        for start in range(0, len(gdf), chunk):
            stop = min(start + chunk, len(gdf))
            props = properties.iloc[start:stop].to_json(orient="records", lines=True, double_precision=15)
            geoms = shapely.to_geojson(geometries[start:stop])
            features = (
                f'{{"type": "Feature", "properties": {p}, "geometry": {g or "null"}}}'
                for p, g in zip(props.splitlines(), geoms.tolist())
            )
            out.write((",\n" if start else "") + ",\n".join(features))
        out.write("\n]\n}\n")


def _write_twin(gdf, path: Path, stat: os.stat_result, twin_only=()) -> None:
    import pyarrow.parquet as pq
    from geopandas.io.arrow import _geopandas_to_arrow

    objects = [c for c in gdf.columns if is_json_column(str(c))]
    if objects:
        gdf = gdf.copy(deep=False)
        for column in objects:
            gdf[column] = [None if v is None or (isinstance(v, float) and v != v) else json.dumps(v) if isinstance(v, dict)
                           else str(v) for v in gdf[column].tolist()]
    table = _geopandas_to_arrow(gdf, index=False)
    twin_of = json.dumps({"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}).encode()
    metadata = {**(table.schema.metadata or {}), _TWIN_KEY: twin_of}
    if twin_only:
        metadata[_TWIN_ONLY_KEY] = json.dumps(list(twin_only)).encode()
    table = table.replace_schema_metadata(metadata)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


# --- the legacy layout: what geetiles 0.1.7 wrote (fiona 1.9.6, GDAL 3.6.4) ---------------------------

_LEGACY_HEADER = ('{\n"type": "FeatureCollection",\n'
                  '"crs": { "type": "name", "properties": { "name": "urn:ogc:def:crs:OGC:1.3:CRS84" } },\n'
                  '"features": [\n')
_LEGACY_FOOTER = "\n]\n}\n"


def _write_legacy(columns: dict, geometry, geojson_path: Path, chunk: int = 100_000) -> None:
    """The GeoJSON exactly as 0.1.7 wrote it, and a twin holding the floats that GeoJSON parses to."""
    import numpy as np
    import shapely

    geometry = np.asarray(geometry, dtype=object)
    if len(geometry) and not (shapely.get_type_id(geometry) == shapely.GeometryType.POLYGON).all():
        raise ValueError("the legacy tiles layout holds polygons only")
    columns = {str(name): np.asarray(values) for name, values in columns.items()}
    names = [json.dumps(name, ensure_ascii=False) for name in columns]
    wkb, bounds = [], []
    with atomic_path(geojson_path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as out:
            out.write(_LEGACY_HEADER)
            for start in range(0, len(geometry), chunk):
                stop = min(start + chunk, len(geometry))
                properties = [[f"{name}: {text}" for text in _legacy_property_texts(values[start:stop])]
                              for name, values in zip(names, columns.values())]
                properties = [", ".join(row) for row in zip(*properties)] if properties else [""] * (stop - start)
                coordinates, chunk_wkb, chunk_bounds = _legacy_polygons(geometry[start:stop])
                wkb.append(chunk_wkb)
                bounds.append(chunk_bounds)
                features = [f'{{ "type": "Feature", "properties": {{ {props} }}, '
                            f'"geometry": {{ "type": "Polygon", "coordinates": {polygon} }} }}'
                            for props, polygon in zip(properties, coordinates)]
                out.write((",\n" if start else "") + ",\n".join(features))
            out.write(_LEGACY_FOOTER)
    stat = geojson_path.stat()
    bbox = None
    if bounds:
        corners = np.array(bounds)
        bbox = [*corners[:, :2].min(axis=0).tolist(), *corners[:, 2:].max(axis=0).tolist()]
    _write_arrow_twin(columns, wkb, bbox, twin_path(geojson_path), stat)


def _legacy_property_texts(values) -> list[str]:
    """Each value of a column as GDAL writes it: doubles by :func:`gdal_double`, integers plainly,
    strings as JSON strings (UTF-8, ``/`` unescaped), missing values as ``null``."""
    import numpy as np

    array = np.asarray(values)
    if array.dtype.kind == "f":
        return gdal_doubles(array.tolist())
    if array.dtype.kind in "iu":
        return [str(v) for v in array.tolist()]
    if array.dtype.kind == "b":
        return ["true" if v else "false" for v in array.tolist()]
    items = array.tolist()
    if all(type(item) is str for item in items):
        joined = "".join(items)
        if joined.isascii() and joined.isprintable() and '"' not in joined and "\\" not in joined:
            return [f'"{item}"' for item in items]  # every grid chip id
    texts = []
    for value in items:
        if value is None or (isinstance(value, float) and value != value):
            texts.append("null")
        elif isinstance(value, (bool, np.bool_)):
            texts.append("true" if value else "false")
        elif isinstance(value, float):
            texts.append(gdal_double(value))
        elif isinstance(value, (int, np.integer)):
            texts.append(str(int(value)))
        else:
            text = str(value)
            plain = text.isascii() and text.isprintable() and '"' not in text and "\\" not in text
            texts.append(f'"{text}"' if plain else json.dumps(text, ensure_ascii=False))
    return texts


_RECTANGLE_RING = "[ [ [ %s, %s ], [ %s, %s ], [ %s, %s ], [ %s, %s ], [ %s, %s ] ] ]"


def _legacy_polygons(polygons):
    """(``"coordinates"`` text of every polygon, the WKB of the polygons those texts parse back to,
    their total bounds). Polygons of one 5-point ring (every grid chip) take a fast path."""
    import numpy as np
    import shapely

    if len(polygons) == 0:
        return [], np.empty(0, dtype=object), [np.inf, np.inf, -np.inf, -np.inf]
    if ((shapely.get_num_coordinates(polygons) == 5) & (shapely.get_num_interior_rings(polygons) == 0)).all():
        coords = shapely.get_coordinates(polygons)  # one 5-point ring each: every grid chip
        rings = None
    else:  # shapely.to_ragged_array would do, but calls np.unique, which imports numpy.ma (start-up)
        rings, owner = shapely.get_rings(polygons, return_index=True)
        coords = shapely.get_coordinates(rings)
    unique, inverse = np.unique(coords, return_inverse=True)
    unique = unique.tolist()
    texts, rounded = _gdal_coordinates(unique)
    values = _parsed(unique, texts, rounded)[inverse.reshape(coords.shape)]
    bounds = [*values.min(axis=0).tolist(), *values.max(axis=0).tolist()]
    text_array = np.array(texts, dtype=object)[inverse.reshape(-1)]
    if rings is None:
        polygon_texts = [_RECTANGLE_RING % row for row in zip(*text_array.reshape(-1, 10).T.tolist())]
        return polygon_texts, _rectangle_wkb(values.reshape(-1, 5, 2)), bounds
    ring_sizes = shapely.get_num_coordinates(rings)
    ring_offsets = np.zeros(len(rings) + 1, dtype=np.int64)
    np.cumsum(ring_sizes, out=ring_offsets[1:])
    polygon_offsets = np.zeros(len(polygons) + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=len(polygons)), out=polygon_offsets[1:])
    flat = text_array.tolist()
    points = [f"[ {x}, {y} ]" for x, y in zip(flat[0::2], flat[1::2])]
    ring_texts = ["[ " + ", ".join(points[a:b]) + " ]"
                  for a, b in zip(ring_offsets[:-1].tolist(), ring_offsets[1:].tolist())]
    polygon_texts = ["[ " + ", ".join(ring_texts[a:b]) + " ]"
                     for a, b in zip(polygon_offsets[:-1].tolist(), polygon_offsets[1:].tolist())]
    rebuilt = shapely.from_ragged_array(shapely.GeometryType.POLYGON, values, (ring_offsets, polygon_offsets))
    return polygon_texts, shapely.to_wkb(rebuilt), bounds


def _rectangle_wkb(rings):
    """Little-endian WKB of polygons with one 5-point ring, as an (N, 93) uint8 array (what
    ``shapely.to_wkb`` writes for them, without making the polygons)."""
    import numpy as np

    record = np.dtype([("order", "u1"), ("kind", "<u4"), ("rings", "<u4"), ("points", "<u4"), ("xy", "<f8", (10,))])
    out = np.empty(len(rings), dtype=record)
    out["order"], out["kind"], out["rings"], out["points"] = 1, 3, 1, 5
    out["xy"] = rings.reshape(-1, 10)
    return out.view(np.uint8).reshape(len(rings), record.itemsize)


def gdal_coordinates(values: list[float]) -> list[str]:
    """:func:`gdal_coordinate` of many values."""
    return _gdal_coordinates(values)[0]


def _gdal_coordinates(values: list[float]) -> tuple[list[str], list[int]]:
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


def _parsed(values: list[float], texts: list[str], rounded: list[int]):
    """The floats ``texts`` (from :func:`_gdal_coordinates`) read back as. A text of 17 significant
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
    if s[i - 6:i - 1] == "00000":
        return s[:-1]
    if dot < i - 8 and all(before >= k or s[i - k + 1] == "0" for k in range(4, 9)) and s[i - 8] == s[i - 9] == "0":
        return s[:-8]
    if s[i - 6:i - 1] == "99999":
        return _round_up(s[:i - 6])
    if dot < i - 9 and all(before >= k or s[i - k + 1] == "9" for k in range(4, 9)) and s[i - 8] == s[i - 9] == "9":
        return _round_up(s[:i - 9])
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


def _write_arrow_twin(columns: dict, wkb: list, bbox: list[float] | None, path: Path, stat: os.stat_result) -> None:
    """A GeoParquet 1.1 twin (WKB geometry, EPSG:4326 as PROJJSON), one record batch per chunk of
    ``wkb`` (each an (n, width) uint8 array or a sequence of bytes), built from Arrow buffers with
    numpy alone: ``pa.array`` would import pandas (~0.3 s of start-up)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = [str(name) for name in columns] + ["geometry"]
    arrays = [np.asarray(values) for values in columns.values()]
    batches, start = [], 0
    for geometry in wkb or [np.empty(0, dtype=object)]:
        rows = slice(start, start + len(geometry))
        start += len(geometry)
        fields = [_arrow_column(array[rows]) for array in arrays]
        fields.append(_arrow_bytes(geometry, pa.binary()))
        batches.append(pa.RecordBatch.from_arrays(fields, names=names))
    column = {"encoding": "WKB", "crs": _lonlat_projjson(), "geometry_types": ["Polygon"]}
    if bbox is not None and np.isfinite(bbox).all():
        column["bbox"] = [float(v) for v in bbox]
    geo = {"version": "1.1.0", "primary_column": "geometry", "columns": {"geometry": column},
           "creator": {"library": "geetiles"}}
    twin_of = json.dumps({"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}).encode()
    table = pa.Table.from_batches(batches)
    table = table.replace_schema_metadata({b"geo": json.dumps(geo).encode(), _TWIN_KEY: twin_of})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _arrow_column(array):
    """A numpy column as an Arrow array: float64, int64, bool, or (anything else) large_string."""
    import numpy as np
    import pyarrow as pa

    n = len(array)
    if array.dtype.kind == "f":
        values = np.ascontiguousarray(array, dtype=np.float64)
        valid = ~np.isnan(values)
        return pa.Array.from_buffers(pa.float64(), n, [_validity(valid), pa.py_buffer(values)], int(n - valid.sum()))
    if array.dtype.kind in "iu":
        return pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(np.ascontiguousarray(array, dtype=np.int64))])
    if array.dtype.kind == "b":
        bits = np.packbits(array.astype(bool), bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), n, [None, pa.py_buffer(bits)])
    values = array.tolist()
    encoded = [None if v is None else str(v).encode("utf-8") for v in values]
    return _arrow_bytes(encoded, pa.large_string())


def _arrow_bytes(items, kind):
    """Arrow (large_)string/binary from a sequence of bytes (``None`` is null), or from an (n, width)
    uint8 array of fixed-width values."""
    import numpy as np
    import pyarrow as pa

    wide = kind in (pa.large_string(), pa.large_binary())
    if isinstance(items, np.ndarray) and items.dtype == np.uint8 and items.ndim == 2:
        n, width = items.shape
        offsets = np.arange(n + 1, dtype=np.int64 if wide else np.int32) * width
        return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(items))])
    n = len(items)
    valid = np.fromiter((item is not None for item in items), dtype=bool, count=n)
    lengths = np.fromiter((len(item) if item is not None else 0 for item in items), dtype=np.int64, count=n)
    offsets = np.zeros(n + 1, dtype=np.int64 if wide else np.int32)
    np.cumsum(lengths, out=offsets[1:])
    data = b"".join(item for item in items if item is not None)
    return pa.Array.from_buffers(kind, n, [_validity(valid), pa.py_buffer(offsets), pa.py_buffer(data)],
                                 int(n - valid.sum()))


def _validity(valid):
    """Arrow validity bitmap (None when every value is valid)."""
    import numpy as np
    import pyarrow as pa

    if valid.all():
        return None
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def _lonlat_projjson() -> dict:
    from pyproj import CRS

    return CRS.from_epsg(4326).to_json_dict()


def load_tiles(path: str | os.PathLike[str]):
    """Load a tiles file from its GeoJSON or its GeoParquet; the twin is used when it is in sync."""
    import geopandas as gpd

    path = Path(path)
    if not path.exists():
        raise UserInputError(f"tiles file {str(path)!r} does not exist; check the path or run the tiling stage first")
    if path.suffix == ".parquet":
        return _from_twin(path)
    twin = twin_path(path)
    if twin.exists() and _twin_in_sync(twin, path):
        return _from_twin(twin)
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as error:  # pyogrio raises several types for unreadable files
        raise UserInputError(f"cannot read tiles file {str(path)!r} ({error}); is it a GeoJSON tiles file?") from None
    _check_identifiers(frame, path)
    return _with_objects(frame)


def _check_identifiers(frame, path: Path) -> None:
    """Every reader of a tiles file comes through here: identifiers outside the rule (they become file
    names) refuse the file before any stage writes a thing."""
    if "identifier" in frame.columns:
        from geetiles.names import check_identifiers

        check_identifiers(frame["identifier"], f"tiles file {path.name!r}")


def check_identifier_column(path: str | os.PathLike[str]) -> None:
    """The identifiers of a tiles file, checked from its GeoParquet twin (one column, a fraction of a
    second for a million chips) when it has one in sync: for stages that refuse bad input before any
    stage runs. A GeoJSON alone is checked when a stage loads it (GDAL parses a million chips' GeoJSON in
    ~15 s even for one column: not worth doing twice); still before anything is written."""
    import pyarrow.parquet as pq

    from geetiles.names import check_identifiers

    path = Path(path)
    geojson = path.with_suffix(".geojson") if path.suffix == ".parquet" else path
    twin = twin_path(geojson)
    try:
        if not twin.exists() or geojson.exists() and not _twin_in_sync(twin, geojson):
            return
        if "identifier" not in pq.read_schema(twin).names:
            return
        column = pq.read_table(twin, columns=["identifier"]).column("identifier")
    except Exception:  # unreadable: the stage that reads it says so in its own words
        return
    check_identifiers(column, f"tiles file {geojson.name!r}")


def _from_twin(path: Path):
    import geopandas as gpd
    import pyarrow.parquet as pq

    frame = gpd.read_parquet(path)
    _check_identifiers(frame, path.with_suffix(".geojson"))
    frame = _with_objects(frame)
    hidden = (pq.read_schema(path).metadata or {}).get(_TWIN_ONLY_KEY)
    if hidden:
        frame.attrs[TWIN_ONLY_ATTR] = [c for c in json.loads(hidden) if c in frame.columns]
    return frame


def _with_objects(frame):
    """JSON-object columns as dicts (the twin holds them as text; GDAL may give text too)."""
    for column in (c for c in frame.columns if is_json_column(str(c))):
        values = frame[column].tolist()
        if any(isinstance(v, str) for v in values):
            frame[column] = [json.loads(v) if isinstance(v, str) and v.startswith("{") else v for v in values]
    return frame


def _twin_in_sync(twin: Path, geojson: Path) -> bool:
    import pyarrow.parquet as pq

    try:
        recorded = json.loads(pq.read_schema(twin).metadata.get(_TWIN_KEY, b"{}"))
    except Exception:
        return False
    stat = geojson.stat()
    return recorded == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
