"""tiling=grid against files that geetiles 0.1.7 itself wrote (tests/data/original017, see its README).

For every reference grid file (11 AOIs at 1000 and 5000 m, Luxembourg also at 10000 m) our grid on
the same AOI and size must give the same file name, ids, ring order, coordinates, columns and
area_km2 and, in the end, the same bytes. The GeoJSON keeps 15 decimals, which pins down a double
only when the number has at least 17 significant digits; for the others the check is that our
in-memory float prints to the very same text as the original's did.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
import shapely

from geetiles.original_utm import original_utm_epsg
from geetiles.tiles import load_tiles, tiles_file_path, twin_path, write_tiles
from geetiles.tiles.gdal_text import gdal_coordinate, gdal_double
from geetiles.tiling.grid import grid_chips
from geetiles.tiling.ids import list_hash
from tests.conftest import geet_cmd
from tests.in_process import run_in_process

DATA = Path(__file__).resolve().parents[1] / "data" / "original017"
FILES = DATA / "files"
AOI_FILES = {"lux": "luxembourg"}


def _sha256_prefixes() -> dict[str, tuple[int, str]]:
    """CASES.md: file name -> (size in bytes, first 16 hex digits of the sha256 of the uncompressed file)."""
    found = {}
    for line in (DATA / "CASES.md").read_text(encoding="utf-8").splitlines():
        match = re.search(r"files/grid/[^/]+/([^`]+?)(?:\.gz)?` — (\d+) bytes, .*sha256 ([0-9a-f]+)", line)
        if match:
            found[match.group(1)] = (int(match.group(2)), match.group(3))
    return found


def _cases() -> list[tuple[str, int, Path]]:
    cases = []
    for folder in sorted((FILES / "grid").iterdir()):
        if not folder.is_dir() or folder.name == "errors":
            continue
        name, size = folder.name.rsplit("-", 1)
        (reference,) = folder.glob("*.geojson*")
        cases.append((name, int(size), reference))
    return cases


CASES = _cases()
SHA256 = _sha256_prefixes()


def _original_bytes(reference: Path) -> bytes:
    return gzip.decompress(reference.read_bytes()) if reference.suffix == ".gz" else reference.read_bytes()


def _aoi(name: str) -> shapely.Geometry:
    return shapely.from_wkt((FILES / "aois" / f"{AOI_FILES.get(name, name)}.wkt").read_text())


def _raw_numbers(text: str, key: str) -> list[str]:
    """The number texts of ``"key": <number>`` in file order."""
    return re.findall(rf'"{key}": ([-0-9.eE+]+)', text)


def test_all_reference_files_are_here():
    assert len(CASES) == 23
    assert {name for name, _, _ in CASES} == {
        "auckland",
        "honolulu",
        "losangeles",
        "lux",
        "nairobi",
        "puntaarenas",
        "quito",
        "tokyo",
        "tromso",
        "utm12e",
        "utm6e",
    }
    assert all(r.name.removesuffix(".gz") in SHA256 for _, _, r in CASES)


@pytest.mark.parametrize(("name", "size", "reference"), CASES, ids=[f"{n}-{s}" for n, s, _ in CASES])
def test_grid_file_equals_the_originals(name, size, reference, tmp_path):
    original_bytes = _original_bytes(reference)
    original_name = reference.name.removesuffix(".gz")
    expected_size, sha_prefix = SHA256[original_name]
    assert len(original_bytes) == expected_size and hashlib.sha256(original_bytes).hexdigest().startswith(sha_prefix)

    chips = grid_chips(_aoi(name), size, max_chips=10**7)
    path = write_tiles(chips, tiles_file_path(tmp_path, name, "aschips", list_hash(chips.identifier)))

    # the file name (the hash of the ids in row order)
    assert path.name == original_name
    original = json.loads(original_bytes)
    ours = json.loads(path.read_bytes())
    assert len(ours["features"]) == len(original["features"]) == len(chips)
    assert [k for k in ours if k != "features"] == [k for k in original if k != "features"] == ["type", "crs"]

    # ids, in the same order
    original_ids = [f["properties"]["identifier"] for f in original["features"]]
    assert chips.identifier == original_ids
    assert [f["properties"]["identifier"] for f in ours["features"]] == original_ids

    # columns in the original's order: area_km2, identifier, then the geometry
    for feature in (*original["features"], *ours["features"]):
        assert list(feature) == ["type", "properties", "geometry"]
        assert list(feature["properties"]) == ["area_km2", "identifier"]

    # geometry: the same rings (start corner, direction) and exactly the same floats once written
    original_rings = [f["geometry"]["coordinates"] for f in original["features"]]
    assert [f["geometry"]["coordinates"] for f in ours["features"]] == original_rings
    coords = shapely.get_coordinates(chips.geometry).reshape(len(chips), 5, 2)
    original_coords = np.array(original_rings, dtype=float).reshape(len(chips), 5, 2)
    all_texts = re.findall(r"\[ ([-0-9.]+), ([-0-9.]+) \]", original_bytes.decode())
    assert [(gdal_coordinate(x), gdal_coordinate(y)) for x, y in coords.reshape(-1, 2).tolist()] == all_texts
    # where 15 decimals hold 17 or more significant digits the text pins the double: equal bit for bit
    pinned = np.abs(original_coords) >= 10
    assert np.array_equal(coords[pinned], original_coords[pinned])
    # ring: (minx,miny) (minx,maxy) (maxx,maxy) (maxx,miny) (minx,miny)
    assert (coords[:, 0] == coords[:, 4]).all()
    assert (coords[:, 0, 0] == coords[:, 1, 0]).all() and (coords[:, 2, 0] == coords[:, 3, 0]).all()
    assert (coords[:, 1, 1] == coords[:, 2, 1]).all() and (coords[:, 0, 1] == coords[:, 3, 1]).all()
    assert (coords[:, 0, 0] < coords[:, 2, 0]).all() and (coords[:, 0, 1] < coords[:, 1, 1]).all()

    # area_km2: the same text, and the same double wherever the original printed 17 digits
    area_texts = _raw_numbers(original_bytes.decode(), "area_km2")
    assert [gdal_double(a) for a in chips.area_km2.tolist()] == area_texts
    full = ["%.17g" % float(t) == t for t in area_texts]  # not shortened by GDAL (…999999x/…000000x)
    assert sum(full) >= 0.98 * len(full)
    assert [a for a, f in zip(chips.area_km2.tolist(), full) if f] == [float(t) for t, f in zip(area_texts, full) if f]
    assert [f["properties"]["area_km2"] for f in ours["features"]] == [
        f["properties"]["area_km2"] for f in original["features"]
    ]

    # and so: byte for byte
    assert path.read_bytes() == original_bytes


def test_twin_holds_what_the_geojson_says(tmp_path):
    import geopandas as gpd

    name, size, reference = next(c for c in CASES if c[0] == "quito" and c[1] == 1000)  # crosses the equator
    chips = grid_chips(_aoi(name), size, max_chips=10**7)
    path = write_tiles(chips, tiles_file_path(tmp_path, name, "aschips", list_hash(chips.identifier)))
    from_json = gpd.read_file(path, engine="pyogrio")
    twin = gpd.read_parquet(twin_path(path))
    assert twin.columns.tolist() == from_json.columns.tolist() == ["area_km2", "identifier", "geometry"]
    assert twin.crs.to_epsg() == 4326
    assert twin["identifier"].tolist() == chips.identifier
    assert twin["area_km2"].tolist() == from_json["area_km2"].tolist()
    assert np.array_equal(
        shapely.get_coordinates(twin.geometry.values), shapely.get_coordinates(from_json.geometry.values)
    )
    loaded = load_tiles(path)  # the twin, in sync
    assert loaded["identifier"].tolist() == chips.identifier and loaded.crs.to_epsg() == 4326


def test_geet_grid_writes_the_originals_bytes(workdir):
    """The whole command (config, stage, record), not only the functions."""
    name, size, reference = next(c for c in CASES if c[0] == "tokyo" and c[1] == 5000)
    result = run_in_process(
        geet_cmd(
            "grid",
            "--aoi_wkt_file",
            str(FILES / "aois" / "tokyo.wkt"),
            "--chip_size_meters",
            str(size),
            "--aoi_name",
            name,
            "--dest_dir",
            "out",
        ),
        workdir,
    )
    assert result.returncode == 0, result.stderr
    assert (workdir / "out" / reference.name).read_bytes() == reference.read_bytes()


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (6.0, 45.0),
        (0.0, 0.0),
        (-180.0, 10.0),
        (180.0, -10.0),
        (5.999999999999999, 0.0),
        (12.000000000000002, -80.0),
        (3.0, 84.0),
        (-0.5, -0.0),
        (179.99, 83.99),
        (-77.3, -12.1),
        (139.7, 35.6),
    ],
)
def test_utm_zone_is_the_one_the_originals_database_query_returns(lon, lat):
    from pyproj.aoi import AreaOfInterest
    from pyproj.database import query_utm_crs_info

    found = query_utm_crs_info(datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat))
    assert original_utm_epsg(lon, lat) == int(found[0].code)


@pytest.mark.parametrize(
    "value",
    [
        5.691268532560000,
        12.29999999999999,
        179.99999999999997,
        131.27631,
        -0.0000012,
        0.1,
        1.0,
        -68.57688,
        5.000000000000001,
    ],
)
def test_gdal_number_formats(value):
    """Spot checks of GDAL 3.6's number texts (its intelliround), as fiona 1.9.6 wrote them."""
    expected = {
        5.69126853256: "5.69126853256",
        12.29999999999999: "12.3",
        179.99999999999997: "180.0",
        131.27631: "131.27631",
        -0.0000012: "-0.0000012",
        0.1: "0.1",
        1.0: "1.0",
        -68.57688: "-68.57688",
        5.000000000000001: "5.0",
    }
    assert gdal_coordinate(value) == expected[value]
    assert gdal_double(0.1) == "0.1" and gdal_double(24.994799117724419) == "24.994799117724419"
    assert gdal_double(100.0) == "100.0" and gdal_double(0.99988936331901046) == "0.99988936331901046"


# Written by fiona 1.9.6 / GDAL 3.6.4 (the reference environment of tests/data/original017) from the
# polygons and properties of the test below: holes, a null, an int64, escapes, GDAL's rounding.
GDAL_TEXT = """{
"type": "FeatureCollection",
"crs": { "type": "name", "properties": { "name": "urn:ogc:def:crs:OGC:1.3:CRS84" } },
"features": [
{ "type": "Feature", "properties": { "area_km2": 0.1, "identifier": "a/b \\"q\\" é", "n": 7 }, "geometry": { "type": "Polygon", "coordinates": [ [ [ 0.1, 0.2 ], [ 1.30000000001, 0.2 ], [ 1.3, 1.7 ], [ 0.1, 0.2 ] ] ] } },
{ "type": "Feature", "properties": { "area_km2": null, "identifier": "x", "n": -12345678901 }, "geometry": { "type": "Polygon", "coordinates": [ [ [ 10.0, 10.0 ], [ 20.0, 10.0 ], [ 20.0, 20.0 ], [ 10.0, 20.0 ], [ 10.0, 10.0 ] ], [ [ 12.0, 12.0 ], [ 13.0, 12.0 ], [ 13.0, 13.0 ], [ 12.0, 12.0 ] ], [ [ 15.5, 15.25 ], [ 16.0, 15.25 ], [ 16.0, 16.0 ], [ 15.5, 15.25 ] ] ] } },
{ "type": "Feature", "properties": { "area_km2": 100.0, "identifier": "tab\\there", "n": 0 }, "geometry": { "type": "Polygon", "coordinates": [ [ [ -180.0, -0.5 ], [ -5.0, -0.5 ], [ -5.0, 12.3 ], [ -180.0, -0.5 ] ] ] } }
]
}
"""


def test_legacy_layout_writes_what_gdal_wrote_for_other_polygons_and_types(tmp_path):
    polygons = np.array(
        [
            shapely.Polygon([(0.1, 0.2), (1.30000000001, 0.2), (1.3, 1.7), (0.1, 0.2)]),
            shapely.Polygon(
                [(10, 10), (20, 10), (20, 20), (10, 20), (10, 10)],
                [[(12, 12), (13, 12), (13, 13), (12, 12)], [(15.5, 15.25), (16, 15.25), (16, 16), (15.5, 15.25)]],
            ),
            shapely.Polygon(
                [
                    (-179.99999999999997, -0.5),
                    (-5.000000000000001, -0.5),
                    (-5.000000000000001, 12.29999999999999),
                    (-179.99999999999997, -0.5),
                ]
            ),
        ],
        dtype=object,
    )
    import geopandas as gpd

    from geetiles.tiles import LEGACY_LAYOUT_ATTR

    frame = gpd.GeoDataFrame(
        {
            "area_km2": [0.1, np.nan, 100.0],
            "identifier": ['a/b "q" é', "x", "tab\there"],
            "n": np.array([7, -12345678901, 0], dtype=np.int64),
        },
        geometry=polygons,
        crs=4326,
    )
    frame.attrs[LEGACY_LAYOUT_ATTR] = True
    path = write_tiles(frame, tmp_path / "x_partitions_y_0000000000000.geojson")
    assert path.read_text(encoding="utf-8") == GDAL_TEXT
    twin = gpd.read_parquet(twin_path(path))
    assert twin.columns.tolist() == ["area_km2", "identifier", "n", "geometry"]
    assert twin["n"].tolist() == [7, -12345678901, 0] and np.isnan(twin["area_km2"][1])
    back = gpd.read_file(path, engine="pyogrio")
    assert all(a.equals_exact(b, tolerance=0) for a, b in zip(twin.geometry, back.geometry))
