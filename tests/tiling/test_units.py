"""tiling=select: units of any vector file, any CRS, attributes kept, overlap in km², bad input."""

import zipfile

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import box

from geetiles.config import TilingConfig, TilingKind
from geetiles.errors import UserInputError
from geetiles.tiling.units import select_units
from tests.conftest import geetiles_cmd
from tests.in_process import run_in_process

AOI = box(6.02, 49.52, 6.28, 49.68)  # no edge on a commune edge: reprojection bends those


def _communes() -> gpd.GeoDataFrame:
    """A 6 x 4 lattice of 0.1 degree "communes" over (5.9..6.5, 49.4..49.8), with attributes."""
    cells = [box(5.9 + 0.1 * i, 49.4 + 0.1 * j, 6.0 + 0.1 * i, 49.5 + 0.1 * j) for i in range(6) for j in range(4)]
    names = [f"c{i:02d}" for i in range(len(cells))]
    return gpd.GeoDataFrame(
        {"name": names, "population": np.arange(len(cells)) * 100, "identifier": names}, geometry=cells, crs="EPSG:4326"
    )


def _tiling(path, **settings) -> TilingConfig:
    return TilingConfig(kind=TilingKind.select, file=str(path), name="communes", **settings)


def _expected_names(min_overlap_km2: float = 1e-3) -> set[str]:
    communes = _communes()
    return set(communes.loc[communes.geometry.intersects(AOI), "name"])


@pytest.mark.parametrize(
    "fmt, crs",
    [
        ("gpkg", "EPSG:3035"),
        ("geojson", "EPSG:3035"),
        ("shp.zip", "EPSG:3035"),
        ("fgb", "EPSG:3035"),
        ("parquet", "EPSG:3035"),
        ("gpkg", "EPSG:32632"),
        ("gpkg", "EPSG:4326"),
        ("parquet", "EPSG:2169"),
    ],
)
def test_select_reads_any_format_and_crs_and_keeps_attributes(tmp_path, fmt, crs):
    communes = _communes()
    projected = communes.to_crs(crs)  # EPSG:3035, Europe's equal-area CRS: the original refused all but 4326
    path = tmp_path / f"communes.{fmt}"
    if fmt == "shp.zip":
        folder = tmp_path / "shp"
        folder.mkdir()
        projected.to_file(folder / "communes.shp")
        with zipfile.ZipFile(path, "w") as archive:
            for part in folder.iterdir():
                archive.write(part, part.name)
    elif fmt == "parquet":
        projected.to_parquet(path)
    else:
        projected.to_file(path)
    chips = select_units(AOI, _tiling(path))
    frame = chips.to_geodataframe()
    assert set(frame["name"]) == _expected_names()
    assert list(frame.columns[:2]) == ["area_km2", "identifier"] and "src_identifier" in frame.columns
    assert "population" in frame.columns
    one = frame[frame["name"] == "c05"].iloc[0]
    original = communes[communes["name"] == "c05"].geometry.iloc[0]
    assert shapely.equals_exact(
        shapely.normalize(shapely.set_precision(one.geometry, 1e-6)),
        shapely.normalize(shapely.set_precision(original, 1e-6)),
        1e-6,
    )  # reprojected back
    assert one.population == 500
    assert 80 < one.area_km2 < 82  # 0.1 x 0.1 degree at 49.85 N: about 80.3 km² ... 81 km²


def test_small_overlaps_are_dropped_by_area_in_km2_and_clip_is_optional(tmp_path):
    communes = _communes()
    sliver = box(6.27, 49.5, 6.4, 49.6)  # overlaps the AOI by 0.01 degree of longitude: about 6 km²
    tiny = box(6.2799, 49.6, 6.4, 49.7)  # about 0.006 km²
    units = gpd.GeoDataFrame({"name": ["sliver", "tiny"]}, geometry=[sliver, tiny], crs="EPSG:4326")
    path = tmp_path / "units.gpkg"
    units.to_file(path)
    assert set(select_units(AOI, _tiling(path, min_overlap_km2=0.001)).to_geodataframe()["name"]) == {"sliver", "tiny"}
    assert set(select_units(AOI, _tiling(path, min_overlap_km2=1.0)).to_geodataframe()["name"]) == {"sliver"}
    unclipped = select_units(AOI, _tiling(path, min_overlap_km2=1.0)).geometry[0]
    clipped = select_units(AOI, _tiling(path, min_overlap_km2=1.0, clip=True)).geometry[0]
    assert unclipped.bounds[2] == pytest.approx(6.4) and clipped.bounds[2] == pytest.approx(6.28)
    del communes


def test_bad_units_files_fail_with_one_line(tmp_path):
    with pytest.raises(UserInputError, match="does not exist"):
        select_units(AOI, _tiling(tmp_path / "nothing.gpkg"))
    broken = tmp_path / "broken.gpkg"
    broken.write_text("not a geopackage")
    with pytest.raises(UserInputError, match="cannot read units file"):
        select_units(AOI, _tiling(broken))
    far = tmp_path / "far.gpkg"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[box(100, 10, 101, 11)], crs="EPSG:4326").to_file(far)
    with pytest.raises(UserInputError, match="no unit of .* overlaps the AOI"):
        select_units(AOI, _tiling(far))


def test_select_stage_end_to_end_names_the_file_after_the_units(tmp_path):
    path = tmp_path / "communes.gpkg"
    _communes().to_file(path)
    _run(
        tmp_path,
        0,
        "aoi=bbox",
        "aoi.bbox=[6.02,49.52,6.28,49.68]",
        "aoi.name=t",
        "tiling=select",
        f"tiling.file={path}",
        "tiling.name=communes",
        f"data_dir={tmp_path / 'out'}",
        "stages=[aoi,tiling]",
    )
    written = list((tmp_path / "out").glob("t_partitions_communes_*.geojson"))
    assert len(written) == 1
    frame = gpd.read_file(written[0])
    assert set(frame["name"]) == _expected_names() and "population" in frame.columns


@pytest.mark.parametrize(
    "setting, message",
    [
        (["tiling.name=my_units"], "tiling.name='my_units' contains '_'"),
        (["tiling.name=partitions"], "contains 'partitions'"),
        (["tiling.file=null"], "tiling=select needs tiling.file"),
    ],
)
def test_select_settings_are_refused_before_any_work(tmp_path, setting, message):
    path = tmp_path / "communes.gpkg"
    _communes().to_file(path)
    result = _run(
        tmp_path,
        2,
        "aoi=bbox",
        "aoi.bbox=[6.02,49.52,6.28,49.68]",
        "aoi.name=t",
        "tiling=select",
        f"tiling.file={path}",
        "tiling.name=communes",
        *setting,
        f"data_dir={tmp_path / 'out'}",
        "stages=[aoi,tiling]",
    )
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*partitions*"))


def _run(folder, status: int, *overrides: str):
    result = run_in_process(geetiles_cmd(*overrides, f"hydra.run.dir={folder / 'run'}"), folder)
    assert result.returncode == status, result.stderr[-2000:]
    return result


def test_a_self_intersecting_unit_is_repaired_and_named_in_a_warning(tmp_path, caplog):
    """Before: a GEOS TopologyException traceback when the unit was clipped against the AOI."""
    communes = _communes()
    inside = communes.geometry.intersects(AOI).to_numpy().nonzero()[0]
    twisted = inside[0]  # a commune over the AOI, drawn as a bow tie over its own cell
    x0, y0, x1, y1 = communes.geometry[twisted].bounds
    communes.loc[twisted, "geometry"] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    path = tmp_path / "communes.gpkg"
    communes.to_file(path)
    chips = select_units(AOI, _tiling(path))
    assert shapely.is_valid(chips.geometry).all()
    name = communes.loc[twisted, "name"]
    row = list(chips.extra["name"]).index(name)
    assert chips.geometry[row].geom_type == "MultiPolygon" and chips.area_km2[row] > 0
    [line] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    near = int(communes.geometry.intersects(shapely.box(*AOI.bounds)).sum())  # the units read: near the AOI
    assert f"1 of {near} units was invalid (name='{name}': Self-intersection" in line
    assert "repaired with shapely's make_valid" in line and "km² before" in line
