"""The legacy layout: tiles files as geetiles 0.1.7 wrote them (fiona 1.9.6, GDAL 3.6.4), byte for byte.

GDAL's GeoJSON text (no ``name`` member, ``{ "type": ... }`` spacing), coordinates and doubles as
:mod:`geetiles.tiles.gdal_text` prints them. Coordinates so written keep 15 decimals, as the original's
did; the twin then holds the very floats the GeoJSON text parses to. Needs neither pandas nor
geopandas (start-up time of ``geet grid``).

A file is in this layout when it begins with 0.1.7's header (:func:`is_legacy_file`); stages that add
columns to such a file keep it so (:func:`original_area_km2`: 0.1.7 recomputed ``area_km2`` on every
load, and its ``intersect``, ``lp.compute`` and ``split`` wrote what they loaded).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from geetiles.atomic import atomic_path
from geetiles.layout import twin_path
from geetiles.tiles.gdal_text import (
    gdal_coordinate_texts,
    gdal_double,
    gdal_doubles,
    json_object_text,
    parsed_coordinates,
)
from geetiles.tiles.twin import write_arrow_twin

_LEGACY_HEADER = (
    '{\n"type": "FeatureCollection",\n'
    '"crs": { "type": "name", "properties": { "name": "urn:ogc:def:crs:OGC:1.3:CRS84" } },\n'
    '"features": [\n'
)
_LEGACY_FOOTER = "\n]\n}\n"


def write_legacy(
    columns: dict,
    geometry,
    geojson_path: Path,
    twin_only=(),
    geojson: bool = True,
    chunk: int = 100_000,
) -> None:
    """The GeoJSON exactly as 0.1.7 wrote it, and a twin holding the floats that GeoJSON parses to.

    Columns named in ``twin_only`` go to the twin alone. With ``geojson=False`` only the twin is
    written, marked ahead of the GeoJSON (a stage of a run; the runner writes the GeoJSON once)."""
    import numpy as np
    import shapely

    geometry = np.asarray(geometry, dtype=object)
    if len(geometry) and not (shapely.get_type_id(geometry) == shapely.GeometryType.POLYGON).all():
        raise ValueError("the legacy tiles layout holds polygons only")
    columns = {str(name): np.asarray(values) for name, values in columns.items()}
    hidden = {str(name) for name in twin_only}
    shown = [name for name in columns if name not in hidden]
    names = [json.dumps(name, ensure_ascii=False) for name in shown]
    wkb, bounds = [], []
    with contextlib.ExitStack() as stack:  # the file closes before atomic_path renames it
        out = None
        if geojson:
            out = stack.enter_context(
                open(
                    stack.enter_context(atomic_path(geojson_path)),
                    "w",
                    encoding="utf-8",
                    newline="\n",
                )
            )
            out.write(_LEGACY_HEADER)
        for start in range(0, len(geometry), chunk):
            stop = min(start + chunk, len(geometry))
            coordinates, chunk_wkb, chunk_bounds = _legacy_polygons(geometry[start:stop])
            wkb.append(chunk_wkb)
            bounds.append(chunk_bounds)
            if out is None:
                continue
            properties = [
                [f"{name}: {text}" for text in _legacy_property_texts(columns[column][start:stop])]
                for name, column in zip(names, shown)
            ]
            properties = [", ".join(row) for row in zip(*properties)] if properties else [""] * (stop - start)
            features = [
                f'{{ "type": "Feature", "properties": {{ {props} }}, '
                f'"geometry": {{ "type": "Polygon", "coordinates": {polygon} }} }}'
                for props, polygon in zip(properties, coordinates)
            ]
            out.write((",\n" if start else "") + ",\n".join(features))
        if out is not None:
            out.write(_LEGACY_FOOTER)
    stat = geojson_path.stat()
    bbox = None
    if bounds:
        corners = np.array(bounds)
        bbox = [
            *corners[:, :2].min(axis=0).tolist(),
            *corners[:, 2:].max(axis=0).tolist(),
        ]
    write_arrow_twin(
        columns,
        wkb,
        bbox,
        twin_path(geojson_path),
        stat,
        [c for c in columns if c in hidden],
        geojson_behind=not geojson,
    )


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
        elif isinstance(value, dict):
            texts.append(json_object_text(value))
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
    texts, rounded = gdal_coordinate_texts(unique)
    values = parsed_coordinates(unique, texts, rounded)[inverse.reshape(coords.shape)]
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
    ring_texts = [
        "[ " + ", ".join(points[a:b]) + " ]" for a, b in zip(ring_offsets[:-1].tolist(), ring_offsets[1:].tolist())
    ]
    polygon_texts = [
        "[ " + ", ".join(ring_texts[a:b]) + " ]"
        for a, b in zip(polygon_offsets[:-1].tolist(), polygon_offsets[1:].tolist())
    ]
    rebuilt = shapely.from_ragged_array(shapely.GeometryType.POLYGON, values, (ring_offsets, polygon_offsets))
    return polygon_texts, shapely.to_wkb(rebuilt), bounds


def _rectangle_wkb(rings):
    """Little-endian WKB of polygons with one 5-point ring, as an (N, 93) uint8 array (what
    ``shapely.to_wkb`` writes for them, without making the polygons)."""
    import numpy as np

    record = np.dtype(
        [
            ("order", "u1"),
            ("kind", "<u4"),
            ("rings", "<u4"),
            ("points", "<u4"),
            ("xy", "<f8", (10,)),
        ]
    )
    out = np.empty(len(rings), dtype=record)
    out["order"], out["kind"], out["rings"], out["points"] = 1, 3, 1, 5
    out["xy"] = rings.reshape(-1, 10)
    return out.view(np.uint8).reshape(len(rings), record.itemsize)


def is_legacy_file(geojson_path: str | os.PathLike[str]) -> bool:
    """True when a GeoJSON begins as geetiles 0.1.7's (GDAL's spacing, no ``name`` member): the first
    bytes tell, without parsing the file."""
    try:
        with open(geojson_path, "rb") as handle:
            head = handle.read(len(_LEGACY_HEADER))
    except OSError:
        return False
    return head == _LEGACY_HEADER.encode()


def original_area_km2(geometry):
    """``area_km2`` as 0.1.7 recomputed it each time it loaded a tiles file in lon/lat: every polygon
    projected to the UTM zone of the mean of the envelope ring of all of them (five vertices, the first
    twice) and measured by GEOS. Equal to the float for float on 0.1.7's own rewrites
    (``tests/tiles/test_original017.py``)."""
    import numpy as np
    import shapely

    from geetiles.original_utm import original_utm_epsg, utm_transformers

    geometry = np.asarray(geometry, dtype=object)
    if len(geometry) == 0:
        return np.empty(0)
    minx, miny, maxx, maxy = shapely.total_bounds(geometry)
    ring = np.array([[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]])
    lon, lat = ring.mean(axis=0)
    to_zone, _ = utm_transformers(original_utm_epsg(float(lon), float(lat)))

    def project(coords):
        x, y = to_zone.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.area(shapely.transform(geometry, project)) / 1e6
