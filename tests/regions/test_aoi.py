import geopandas as gpd
import pytest
import shapely

from geetiles.config import AoiConfig
from geetiles.errors import UserInputError
from geetiles.regions.aoi import load_aoi

SQUARE = shapely.box(6.0, 49.6, 6.2, 49.8)


def test_wkt_file(tmp_path, luxembourg_wkt):
    aoi = load_aoi(AoiConfig(wkt_file=str(luxembourg_wkt), name="lux"))
    assert aoi.name == "lux" and aoi.geometry.geom_type == "Polygon"
    assert 2400 < gpd.GeoSeries([aoi.geometry], crs=4326).to_crs(2169).area[0] / 1e6 < 2700


@pytest.mark.parametrize("suffix, driver", [(".geojson", "GeoJSON"), (".gpkg", "GPKG"), (".shp", "ESRI Shapefile")])
def test_vector_files_are_reprojected_to_lonlat(tmp_path, suffix, driver):
    path = tmp_path / f"area{suffix}"
    gpd.GeoDataFrame(geometry=[SQUARE], crs=4326).to_crs(3857).to_file(path, driver=driver)
    aoi = load_aoi(AoiConfig(file=str(path)))
    assert aoi.name == "area"
    assert aoi.geometry.symmetric_difference(SQUARE).area < 1e-9


def test_zipped_shapefile_and_multiple_features_are_united(tmp_path):
    import zipfile

    shp = tmp_path / "parts.shp"
    halves = [shapely.box(6.0, 49.6, 6.1, 49.8), shapely.box(6.1, 49.6, 6.2, 49.8)]
    gpd.GeoDataFrame(geometry=halves, crs=4326).to_file(shp)
    archive = tmp_path / "parts.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in tmp_path.glob("parts.*"):
            if f != archive:
                z.write(f, f.name)
    aoi = load_aoi(AoiConfig(file=str(archive), name="parts"))
    assert aoi.geometry.symmetric_difference(SQUARE).area < 1e-9


def test_bbox_and_antimeridian_bbox():
    assert load_aoi(AoiConfig(bbox=[6.0, 49.6, 6.2, 49.8])).geometry.equals(SQUARE)
    crossing = load_aoi(AoiConfig(bbox=[179.0, -17.0, -179.0, -16.0], name="fiji")).geometry
    assert crossing.geom_type == "MultiPolygon"
    assert crossing.bounds == (-180.0, -17.0, 180.0, -16.0)
    assert crossing.area == pytest.approx(2.0)


@pytest.mark.parametrize("query", ["Luxembourg", "luxembourg", "LUX", "lux"])
def test_country_by_name_or_iso_code(query):
    aoi = load_aoi(AoiConfig(country=query))
    assert aoi.name == "luxembourg"
    assert aoi.geometry.contains(shapely.Point(6.13, 49.61))  # Luxembourg City


def test_continent_is_a_region():
    europe = load_aoi(AoiConfig(country="Europe"))
    assert europe.geometry.contains(shapely.Point(2.35, 48.85))  # Paris


def write(tmp_path, text, name="area.wkt"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "make_config, message",
    [
        (lambda p: AoiConfig(wkt_file=write(p, "POLYGON ((6 49, 7 49, 7")), "not valid WKT"),
        (lambda p: AoiConfig(wkt_file=write(p, "hello")), "not valid WKT"),
        (lambda p: AoiConfig(wkt_file=write(p, "POLYGON ((200 10, 201 10, 201 11, 200 10))")), "outside lon/lat range"),
        (lambda p: AoiConfig(wkt_file=write(p, "POLYGON ((49 120, 50 120, 50 121, 49 120))")), "look like lat/lon"),
        (lambda p: AoiConfig(wkt_file=write(p, "POLYGON EMPTY")), "empty"),
        (lambda p: AoiConfig(wkt_file=write(p, "LINESTRING (6 49, 7 50)")), "zero area"),
        (lambda p: AoiConfig(wkt_file=write(p, "POLYGON ((6 49, 7 49, 8 49, 6 49))")), "zero area"),
        (lambda p: AoiConfig(wkt_file=str(p / "missing.wkt")), "no such file"),
        (lambda p: AoiConfig(file=str(p / "missing.gpkg")), "no such file"),
        (lambda p: AoiConfig(file=write(p, "not a vector file", "x.geojson")), "cannot read"),
        (lambda p: AoiConfig(bbox=[6.0, 50.0, 6.2, 49.8]), "minlat must be below maxlat"),
        (lambda p: AoiConfig(bbox=[190.0, 45.0, 191.0, 46.0]), "outside lon/lat range"),
        (lambda p: AoiConfig(country="Atlantis"), "not in the bundled Natural Earth"),
        (lambda p: AoiConfig(country="Luxembourg", bbox=[6.0, 49.6, 6.2, 49.8]), "several AOI sources"),
        (lambda p: AoiConfig(), "no AOI given"),
        (lambda p: AoiConfig(country="Luxembourg", name="my_lux"), "contains '_'"),
        (lambda p: AoiConfig(country="Luxembourg", name="luxpartitions"), "contains 'partitions'"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, make_config, message):
    with pytest.raises(UserInputError, match=message) as raised:
        load_aoi(make_config(tmp_path))
    assert "\n" not in str(raised.value)


def test_unknown_country_suggests_close_names():
    with pytest.raises(UserInputError, match="did you mean 'Luxembourg'"):
        load_aoi(AoiConfig(country="Luxemburg"))


def test_a_self_intersecting_ring_is_repaired_and_the_log_says_so(tmp_path, caplog):
    bow_tie = "POLYGON ((6 49, 6.2 49.2, 6.2 49, 6 49.2, 6 49))"
    aoi = load_aoi(AoiConfig(wkt_file=write(tmp_path, bow_tie), name="tie"))
    assert aoi.geometry.is_valid and aoi.geometry.area == pytest.approx(0.02)
    [line] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "the geometry was invalid (Self-intersection[6.1 49.1]" in line
    assert "repaired with shapely's make_valid" in line
    assert "area 0 km² before, 162.425 km² after" in line and line.startswith("aoi.wkt_file=")


def test_a_valid_aoi_is_kept_as_given_without_a_warning(caplog):
    aoi = load_aoi(AoiConfig(bbox=[6.0, 49.6, 6.2, 49.8]))
    assert aoi.geometry.equals_exact(SQUARE, 0) and caplog.text == ""


def test_an_aoi_around_the_globe_the_long_way_is_loaded_with_a_warning(tmp_path, caplog):
    aoi = load_aoi(AoiConfig(wkt_file=write(tmp_path, "POLYGON ((179 0, -179 0, -179 1, 179 1, 179 0))"), name="ring"))
    assert aoi.geometry.bounds == (-179, 0, 179, 1)
    assert "spans 358° of longitude" in caplog.text and "aoi.bbox=[179,0,-179,1]" in caplog.text
