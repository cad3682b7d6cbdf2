"""``geet mosaic`` and ``geet mosaic.fromvals``: chips in lon/lat and in UTM, nodata, bands, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from rasterio.transform import from_bounds

from geetiles.tools.mosaic import build_mosaic, parse_channels
from tests.conftest import geet_cmd
from tests.in_process import run_in_process
from tests.tiff.headers import assert_header_agrees_with_gdal

UTM = "EPSG:32632"


def tool_cmd(*args: str) -> list[str]:
    """The tools as a user runs them: geet mosaic, mosaic.fromvals, cleanup."""
    return geet_cmd(*args)


def write_chip(path: Path, crs: str, bounds, values, nodata=None, size=100, dtype="uint8", hole=None) -> None:
    """A chip of ``len(values)`` bands, band b filled with values[b]; ``hole`` (rows, cols) slices set to nodata."""
    array = np.stack([np.full((size, size), v, dtype=dtype) for v in values])
    if hole is not None:
        array[:, hole[0], hole[1]] = nodata
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=size,
        height=size,
        count=len(values),
        dtype=dtype,
        crs=crs,
        transform=from_bounds(*bounds, size, size),
        nodata=nodata,
        tiled=True,
        blockxsize=112,
        blockysize=112,
        compress="deflate",
    ) as dataset:
        dataset.write(array)
        dataset.descriptions = tuple(f"b{i}" for i in range(len(values)))


def sample(path: Path, x: float, y: float, crs: str | None = None) -> list:
    """The mosaic's pixel values at (x, y), given in ``crs`` (default: the mosaic's own)."""
    with rasterio.open(path) as dataset:
        if crs is not None and crs != dataset.crs:
            from rasterio.warp import transform

            xs, ys = transform(crs, dataset.crs, [x], [y])
            x, y = xs[0], ys[0]
        row, col = dataset.index(x, y)
        assert 0 <= row < dataset.height and 0 <= col < dataset.width, (x, y)
        return dataset.read(window=((row, row + 1), (col, col + 1)))[:, 0, 0].tolist()


def centre(bounds) -> tuple[float, float]:
    return (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2


# two lon/lat chips with a 0.02° gap between them; A has nodata 0 and a nodata hole in its top-left corner
A = (6.00, 49.60, 6.01, 49.61)
B = (6.03, 49.60, 6.04, 49.61)
A_HOLE = (slice(0, 30), slice(0, 30))


@pytest.fixture
def lonlat_chips(tmp_path) -> Path:
    folder = tmp_path / "chips"
    folder.mkdir()
    write_chip(folder / "aaaa.tif", "EPSG:4326", A, [10, 11, 12], nodata=0, hole=A_HOLE)
    write_chip(folder / "bbbb.tif", "EPSG:4326", B, [20, 21, 22], nodata=0)
    return folder


def test_lonlat_chips_mosaic_in_4326_with_nodata_and_values(lonlat_chips, tmp_path):
    out = tmp_path / "out" / "mosaic.tif"
    result = run_in_process(
        tool_cmd("mosaic", "--basedir", str(lonlat_chips), "--dest_file", str(out), "--meters_per_pixel", "10"),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "2 chips" in result.stdout and "EPSG:4326" in result.stdout
    with rasterio.open(out) as mosaic:
        assert mosaic.crs.to_epsg() == 4326
        assert mosaic.count == 3 and mosaic.dtypes == ("uint8",) * 3 and mosaic.nodata == 0
        assert mosaic.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert mosaic.tags(ns="IMAGE_STRUCTURE")["COMPRESSION"] == "DEFLATE"
        assert mosaic.descriptions == ("b0", "b1", "b2")
        left, bottom, right, top = mosaic.bounds
        dx, dy = mosaic.res
        assert left <= 6.00 and bottom <= 49.60 and right >= 6.04 and top >= 49.61  # covers both chips
        assert 6.00 - left < dx and bottom > 49.60 - dy and right < 6.04 + dx and top - 49.61 < dy
        # ~10 m pixels at the centre latitude: 10 m is 1.39e-4° of longitude and 9.0e-5° of latitude at 49.6°
        assert dx == pytest.approx(10 / (111_320 * math.cos(math.radians(49.605))), rel=3e-3)
        assert dy == pytest.approx(10 / 111_190, rel=3e-3)
    assert sample(out, *centre(A)) == [10, 11, 12]
    assert sample(out, *centre(B)) == [20, 21, 22]
    assert sample(out, 6.02, 49.605) == [0, 0, 0]  # between the chips: no chip
    assert sample(out, 6.0005, 49.6095) == [0, 0, 0]  # A's own nodata
    record = yaml.safe_load((out.parent / "mosaic.geetiles.yaml").read_text())
    assert record["stage"] == "mosaic" and record["chips"] == 2 and record["crs"] == "EPSG:4326"
    assert record["command"].startswith("geet mosaic --basedir")


def test_channels_subset_in_the_given_order(lonlat_chips, tmp_path):
    out = tmp_path / "sub.tif"
    result = run_in_process(
        tool_cmd(
            "mosaic",
            "--basedir",
            str(lonlat_chips),
            "--dest_file",
            str(out),
            "--meters_per_pixel",
            "10",
            "--channels",
            "[2,0]",
        ),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    with rasterio.open(out) as mosaic:
        assert mosaic.count == 2 and mosaic.descriptions == ("b2", "b0")
    assert sample(out, *centre(A)) == [12, 10]
    assert sample(out, *centre(B)) == [22, 20]
    summary = build_mosaic(lonlat_chips, tmp_path / "one.tif", 10, parse_channels("1"))
    assert summary.bands == 1
    assert sample(tmp_path / "one.tif", *centre(B)) == [21]


def test_parse_channels_without_eval():
    assert parse_channels(None) is None
    assert parse_channels("0,1,2") == parse_channels("[0,1,2]") == parse_channels("(0, 1, 2)") == [0, 1, 2]
    assert parse_channels("[3]") == [3]
    for bad in ("[]", "a,b", "__import__('os')", "-1", "1.5"):
        with pytest.raises(Exception, match="--channels"):
            parse_channels(bad)


def test_utm_chips_mosaic_in_their_zone_pixel_for_pixel(tmp_path):
    """Chips sharing one UTM zone: the mosaic is in that zone at the asked pixel size, and chips on
    the 10 m lattice are copied without resampling (every pixel, not just the centre)."""
    folder = tmp_path / "utm"
    folder.mkdir()
    first, second = (300_000, 5_500_000, 301_000, 5_501_000), (303_000, 5_500_000, 304_000, 5_501_000)
    pattern = np.arange(100 * 100, dtype=np.uint16).reshape(100, 100) % 1000 + 1
    with rasterio.open(
        folder / "u1.tif",
        "w",
        driver="GTiff",
        width=100,
        height=100,
        count=1,
        dtype="uint16",
        crs=UTM,
        transform=from_bounds(*first, 100, 100),
        nodata=0,
    ) as dataset:
        dataset.write(pattern, 1)
    write_chip(folder / "u2.tif", UTM, second, [7], nodata=0, dtype="uint16", hole=(slice(50, 100), slice(0, 100)))
    out = tmp_path / "utm.tif"
    summary = build_mosaic(folder, out, 10)
    assert summary.crs == UTM
    with rasterio.open(out) as mosaic:
        assert mosaic.crs.to_epsg() == 32632 and mosaic.res == (10.0, 10.0)
        assert tuple(mosaic.bounds) == (300_000, 5_500_000, 304_000, 5_501_000)
        array = mosaic.read(1)
    assert np.array_equal(array[:, :100], pattern)
    assert (array[:, 100:300] == 0).all()  # the 2 km gap
    assert (array[:50, 300:] == 7).all() and (array[50:, 300:] == 0).all()  # u2's nodata lower half
    # 20 m pixels: still the chips' zone, centre values kept
    build_mosaic(folder, tmp_path / "utm20.tif", 20)
    with rasterio.open(tmp_path / "utm20.tif") as mosaic:
        assert mosaic.res == (20.0, 20.0) and mosaic.crs.to_epsg() == 32632
    assert sample(tmp_path / "utm20.tif", 303_500, 5_500_750) == [7]


def test_chips_in_different_crs_go_to_4326(lonlat_chips, tmp_path):
    """A UTM chip beside lon/lat chips: everything is warped into EPSG:4326."""
    from rasterio.warp import transform_bounds

    west, south, east, north = 6.06, 49.60, 6.07, 49.61
    x0, y0, x1, y1 = transform_bounds("EPSG:4326", UTM, west, south, east, north)
    utm_bounds = (round(x0, -1), round(y0, -1), round(x0, -1) + 700, round(y0, -1) + 1000)
    write_chip(lonlat_chips / "cccc.tif", UTM, utm_bounds, [30, 31, 32], nodata=0, size=70)
    out = tmp_path / "mixed.tif"
    summary = build_mosaic(lonlat_chips, out, 10)
    assert summary.crs == "EPSG:4326" and "2 CRSs" in summary.why
    lon_lat_bounds = transform_bounds(UTM, "EPSG:4326", *utm_bounds)
    with rasterio.open(out) as mosaic:
        assert mosaic.crs.to_epsg() == 4326
        assert mosaic.bounds.left <= 6.00 and mosaic.bounds.right >= lon_lat_bounds[2] - 1e-9
        assert mosaic.bounds.top >= max(49.61, lon_lat_bounds[3]) - 1e-9
    assert sample(out, *centre(utm_bounds), crs=UTM) == [30, 31, 32]
    assert sample(out, *centre(A)) == [10, 11, 12]
    assert sample(out, *centre(B)) == [20, 21, 22]
    assert sample(out, 6.05, 49.605) == [0, 0, 0]


def test_a_mosaic_written_into_the_chip_folder_is_not_a_chip(lonlat_chips, tmp_path):
    out = lonlat_chips / "mosaic.tif"
    assert build_mosaic(lonlat_chips, out, 10).chips == 2
    assert build_mosaic(lonlat_chips, out, 10).chips == 2


def test_the_fast_header_reader_agrees_with_gdal(lonlat_chips):
    for path in sorted(lonlat_chips.glob("*.tif")):
        assert_header_agrees_with_gdal(path)


def test_bad_input_is_one_line_and_exit_2(lonlat_chips, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    write_chip(broken / "good.tif", "EPSG:4326", A, [1], nodata=0)
    (broken / "bad.tif").write_bytes(b"not a tiff at all")
    dest = ["--dest_file", str(tmp_path / "x.tif"), "--meters_per_pixel", "10"]
    cases = [  # through the command line: parser errors and user errors alike
        (["mosaic", "--basedir", str(tmp_path / "nope"), *dest], "not a folder"),
        (["mosaic", "--basedir", str(lonlat_chips), "--dest_file", "x.tif", "--meters_per_pixel", "0"], "positive"),
        (["mosaic", "--basedir", str(lonlat_chips), "--meters_per_pixel", "10"], "required"),
        (["mosaic", "--basedir", str(lonlat_chips), *dest, "--channels", "0,3"], "band 3 does not exist"),
        (["mosaic", "--basedir", str(broken), *dest], "geet cleanup"),
    ]
    for args, fragment in cases:
        result = run_in_process(tool_cmd(*args), tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and fragment in result.stderr, result.stderr
    assert not (tmp_path / "x.tif").exists() and not list(tmp_path.glob(".x*"))


def test_more_bad_input_is_a_user_error(lonlat_chips, tmp_path):
    from geetiles.errors import UserInputError

    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (lambda: build_mosaic(empty, tmp_path / "x.tif", 10), "no chips"),
        (lambda: build_mosaic(lonlat_chips, tmp_path / "x.png", 10), "*.tif"),
        (lambda: build_mosaic(lonlat_chips, tmp_path / "x.tif", 1e-6), "larger --meters_per_pixel"),
        (lambda: build_mosaic(lonlat_chips, tmp_path / "x.tif", 10, parse_channels("[0,x]")), "not a band number"),
    ]
    for call, fragment in cases:
        with pytest.raises(UserInputError) as error:
            call()
        assert fragment in str(error.value)
    assert not (tmp_path / "x.tif").exists()


# ------------------------------------------------------------------------------------------------
# mosaic.fromvals


@pytest.fixture
def tiles_file(tmp_path) -> Path:
    """Six 0.01° chips in two rows with a gap column, numeric ``value`` (one missing) and a ``split``."""
    import geopandas as gpd
    import shapely

    boxes = [(6.00, 49.60), (6.01, 49.60), (6.03, 49.60), (6.00, 49.61), (6.01, 49.61), (6.03, 49.61)]
    frame = gpd.GeoDataFrame(
        {
            "identifier": [f"c{i}" for i in range(6)],
            "area_km2": [0.8] * 6,
            "value": [1.5, 2.5, None, -4.0, 0.0, 6.25],
            "split": ["train", "val", "test", "train", None, "test"],
        },
        geometry=[shapely.box(x, y, x + 0.01, y + 0.01) for x, y in boxes],
        crs="EPSG:4326",
    )
    path = tmp_path / "t_partitions_aschips_0123456789abc.geojson"
    frame.to_file(path, driver="GeoJSON")
    return path


def box_centre(i: int) -> tuple[float, float]:
    x, y = [(6.00, 49.60), (6.01, 49.60), (6.03, 49.60), (6.00, 49.61), (6.01, 49.61), (6.03, 49.61)][i]
    return x + 0.005, y + 0.005


def test_fromvals_paints_the_originals_value_column_as_float32(tiles_file, tmp_path):
    out = tmp_path / "values.tif"
    result = run_in_process(
        tool_cmd(
            "mosaic.fromvals", "--tiles_file", str(tiles_file), "--dest_file", str(out), "--meters_per_pixel", "50"
        ),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "'value'" in result.stdout
    with rasterio.open(out) as raster:
        assert raster.crs.to_epsg() == 4326 and raster.dtypes == ("float32",) and math.isnan(raster.nodata)
        assert raster.tags()["column"] == "value" and raster.descriptions == ("value",)
    expected = [1.5, 2.5, None, -4.0, 0.0, 6.25]
    for i, value in enumerate(expected):
        [got] = sample(out, *box_centre(i))
        assert math.isnan(got) if value is None else got == value, (i, got)
    assert math.isnan(sample(out, 6.025, 49.605)[0])  # the gap column: no chip
    assert (tmp_path / "values.geetiles.yaml").exists()


def test_fromvals_paints_a_string_column_as_codes_with_a_table(tiles_file, tmp_path):
    out = tmp_path / "split.tif"
    result = run_in_process(
        tool_cmd(
            "mosaic.fromvals",
            "--tiles_file",
            str(tiles_file),
            "--dest_file",
            str(out),
            "--meters_per_pixel",
            "50",
            "--column",
            "split",
        ),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    with rasterio.open(out) as raster:
        assert raster.dtypes == ("uint8",) and raster.nodata == 0
        codes = {int(k): v for k, v in json.loads(raster.tags()["categories"]).items()}
        colours = raster.colormap(1)
    assert codes == {1: "test", 2: "train", 3: "val"}
    assert colours[0][3] == 0 and all(colours[c][3] == 255 for c in codes)
    labels = ["train", "val", "test", "train", None, "test"]
    for i, label in enumerate(labels):
        [code] = sample(out, *box_centre(i))
        assert code == 0 if label is None else codes[code] == label, (i, code)
    assert sample(out, 6.025, 49.615) == [0]


def test_fromvals_default_column_and_unknown_column(tiles_file, tmp_path):
    import geopandas as gpd

    frame = gpd.read_file(tiles_file).drop(columns=["value"])
    no_value = tmp_path / "n_partitions_aschips_0123456789abd.geojson"
    frame.to_file(no_value, driver="GeoJSON")
    from geetiles.tools.mosaic import paint_values

    assert paint_values(no_value, tmp_path / "d.tif", 50).column == "split"
    assert paint_values(no_value, tmp_path / "a.tif", 50, "area_km2").kind == "numeric"
    result = run_in_process(
        tool_cmd(
            "mosaic.fromvals",
            "--tiles_file",
            str(tiles_file),
            "--dest_file",
            str(tmp_path / "u.tif"),
            "--meters_per_pixel",
            "50",
            "--column",
            "nope",
        ),
        tmp_path,
    )
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "no column 'nope'" in result.stderr and "split" in result.stderr and "value" in result.stderr
    assert not (tmp_path / "u.tif").exists()
