"""Countries and continents from the bundled Natural Earth 1:110m dataset (offline, public domain)."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

import shapely

from geetiles.errors import UserInputError

_DATASET = "naturalearth_110m_countries.parquet"


@lru_cache(maxsize=1)
def countries():
    """The bundled table: ``name``, ``iso_a3``, ``continent``, geometry (EPSG:4326)."""
    from geetiles.geoarrow import read_geoparquet

    return read_geoparquet(files("geetiles.data").joinpath(_DATASET))


def find_region(query: str) -> tuple[str, shapely.Geometry]:
    """(canonical name, geometry) of a country (by name or ISO 3166-1 alpha-3) or a continent.

    Matching is case-insensitive and exact; an unknown name suggests the closest known ones.
    """
    table = countries()
    wanted = query.strip().casefold()
    for column in ("name", "iso_a3"):
        hits = table[table[column].str.casefold() == wanted]
        if len(hits):
            row = hits.iloc[0]
            return row["name"], row.geometry
    continent = table[table["continent"].str.casefold() == wanted]
    if len(continent):
        return continent["continent"].iloc[0], shapely.union_all(continent.geometry.values)
    raise UserInputError(f"aoi.country={query!r} is not in the bundled Natural Earth countries; {_suggestions(query)}")


def _suggestions(query: str) -> str:
    import difflib

    table = countries()
    names = sorted(set(table["name"]) | set(table["continent"]))
    close = difflib.get_close_matches(query, names, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    return hint + "`geet aois --showall` lists every name and ISO code"


def region_table() -> list[tuple[str, str, str]]:
    """(name, ISO alpha-3, continent) of every bundled country, sorted by name."""
    table = countries().sort_values("name", key=lambda names: names.str.casefold())
    return list(zip(table["name"], table["iso_a3"], table["continent"]))
