import json
import re

import pytest
from omegaconf import OmegaConf

from geetiles.cli.compose import compose
from geetiles.config import RecipeConfig
from geetiles.sources.catalog import find_recipe
from geetiles.sources.ee_datasets import load_definition, recipe_definition, serialized_expression
from geetiles.sources.ee_recipe import periods
from tests.fake_ee.expressions import infer_bands
from tests.fake_ee.fixtures import ee_client, fake_ee  # noqa: F401


def recipe(**values):
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(RecipeConfig), values))


def bands_of(definition):
    return [(name, str(dtype)) for name, dtype in infer_bands(json.loads(serialized_expression(definition)))]


def test_seasons_and_months_windows():
    seasonal = periods(recipe(name="x", collection="c", year=2021, stack="seasonal"))
    assert seasonal == [
        ("winter", "2020-12-01", "2021-03-01"),
        ("spring", "2021-03-01", "2021-06-01"),
        ("summer", "2021-06-01", "2021-09-01"),
        ("fall", "2021-09-01", "2021-12-01"),
    ]
    monthly = periods(recipe(name="x", collection="c", year=2021, stack="monthly"))
    assert monthly[0] == ("01", "2021-01-01", "2021-02-01") and monthly[11] == ("12", "2021-12-01", "2022-01-01")
    single = periods(recipe(name="x", collection="c", year=2019, start="{year}-01-01", end="{next_year}-01-01"))
    assert single == [("", "2019-01-01", "2020-01-01")]


def test_packaged_builtins_compile_to_the_originals_bands(ee_client):  # noqa: F811
    assert bands_of(load_definition("sentinel2-rgb-median-2020")) == [
        ("vis-red", "uint8"),
        ("vis-green", "uint8"),
        ("vis-blue", "uint8"),
    ]
    assert bands_of(load_definition("esa-world-cover")) == [("Map", "uint8")]
    classes = find_recipe("esa-world-cover").classes
    assert [c.code for c in classes] == [10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100]
    assert classes[0].name == "Tree cover" and classes[0].color == "#006400"


def test_seasonal_stack_names_bands_from_the_template(ee_client):  # noqa: F811
    from geetiles.sources.ee_datasets import recipe_definition

    stacked = recipe(
        name="rgb-{year}",
        collection="COPERNICUS/S2_SR_HARMONIZED",
        year=2020,
        stack="seasonal",
        mask="qa60",
        select=["B4", "B3", "B2"],
        rename=["red", "green", "blue"],
        divide=10000,
        dtype="float32",
    )
    names = [n for n, _ in bands_of(recipe_definition(stacked))]
    assert names == [f"{s}_{b}" for s in ("winter", "spring", "summer", "fall") for b in ("red", "green", "blue")]


def test_cast_clamps_instead_of_wrapping(ee_client):  # noqa: F811
    from geetiles.sources.ee_datasets import recipe_definition

    text = serialized_expression(
        recipe_definition(recipe(name="db", collection="FAKE/FLOAT", reducer="first", dtype="uint16"))
    )
    assert "Image.clamp" in text and "Image.toUint16" in text


@pytest.mark.parametrize(
    "override, key",
    [
        ("source.recipe.reducer=middle", "reducer"),
        ("source.recipe.mask=clouds", "mask"),
        ("source.recipe.dtype=uint12", "dtype"),
        ("source.recipe.stack=weekly", "stack"),
    ],
)
def test_bad_recipes_fail_when_composed(override, key):
    with pytest.raises(Exception) as raised:
        compose([override])
    assert key in str(raised.value) + str(raised.value.__cause__)


def test_names_with_a_year_find_their_recipe():
    assert find_recipe("sentinel2-rgb-median-2020").collection == "COPERNICUS/S2_SR_HARMONIZED"
    assert find_recipe("no-such-dataset") is None


SEASONS = ("winter", "spring", "summer", "fall")
S1_PARTS = ("vvasc", "vvdes", "vhasc", "vhdes")
S2_BANDS = ("B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12")
ORIGINAL_CATALOG = {  # names, band order and dtypes of geetiles 0.1.7 (docs/original-catalog.md)
    "s2rgbm-2021": ([f"{m:02d}_{b}" for m in range(1, 13) for b in ("red", "green", "blue")], "uint8"),
    "s2rgb-2019": ([f"{s}_{b}" for s in SEASONS for b in ("red", "green", "blue")], "uint8"),
    "s2-2020": ([f"{s}_{b}" for s in SEASONS for b in S2_BANDS], "uint8"),
    "s2_raw-2020": ([f"{s}_{b}" for s in SEASONS for b in S2_BANDS], "float32"),
    "esaworldcover-2020": (["Map"], "uint8"),
    "esaworldcover-2021": (["Map"], "uint8"),
    "s1grd-2021": ([f"{s}_{p}" for s in SEASONS for p in S1_PARTS], "uint8"),
    "s1grdm-2020-asc": ([f"{m:02d}_{p}" for m in range(1, 13) for p in ("vv", "vh")], "uint16"),
    "s1grdm-2019-des": ([f"{m:02d}_{p}" for m in range(1, 13) for p in ("vv", "vh")], "uint16"),
    "s1count-2020": ([f"{m:02d}_{p}" for m in range(1, 13) for p in S1_PARTS], "uint8"),
    "modis44b006veg": ([f"Percent_Tree_Cover_{y}" for y in range(2016, 2021)], "uint8"),
    "srtm": (["elevation", "slope"], "int16"),  # 0.1.7: uint16, which wrapped below sea level
    "treecover2020": (["vis-gray"], "uint8"),
    "usnedlandforms": (["constant"], "uint8"),
    "firecci51": (
        [f"{y}_{b}" for y in range(2016, 2021) for b in ("BurnDate", "ConfidenceLevel", "LandCover")],
        "int16",
    ),
    "canadacrop2020": (["landcover"], "uint8"),
    "humanpop2015": (["population_count"], "uint16"),
}


@pytest.mark.parametrize("name", sorted(ORIGINAL_CATALOG))
def test_catalog_recipes_have_the_originals_names_bands_and_dtypes(ee_client, name):  # noqa: F811
    definition = load_definition(name)
    assert definition.name == name
    names, dtype = ORIGINAL_CATALOG[name]
    assert bands_of(definition) == [(band, dtype) for band in names]


def test_catalog_years_and_collections():
    assert find_recipe("s2rgbm-2021").year == 2021
    assert periods(find_recipe("s2rgb-2019"))[0] == ("winter", "2018-12-01", "2019-03-01")  # all of February
    assert find_recipe("esaworldcover-2021").collection == "ESA/WorldCover/v200"
    assert find_recipe("esaworldcover-2020").collection == "ESA/WorldCover/v100"


def test_a_catalog_group_downloads_by_group_name():
    config = compose(["source=s2rgbm", "source.recipe.year=2022"]).source
    assert config.dataset is None and config.recipe.name == "s2rgbm-{year}" and config.recipe.year == 2022


def expression_of(name):
    return serialized_expression(load_definition(name))


def test_s1_pass_direction_comes_from_the_name(ee_client):  # noqa: F811
    descending, ascending = expression_of("s1grdm-2019-des"), expression_of("s1grdm-2019-asc")
    assert "DESCENDING" in descending and "ASCENDING" not in descending
    assert "ASCENDING" in ascending and "DESCENDING" not in ascending
    assert "Filter.listContains" in ascending and "reduce.mean" in ascending
    assert find_recipe("s1grdm-2019-des").orbit.value == "des" and find_recipe("s1grdm-2019-xyz") is None


def test_s1grd_maps_minus_30_to_0_db_onto_bytes_and_clamps(ee_client):  # noqa: F811
    recipe_ = find_recipe("s1grd-2020")
    assert (-30 * recipe_.scale + recipe_.offset, 0 * recipe_.scale + recipe_.offset) == (0, 255)
    text = expression_of("s1grd-2020")
    assert "Image.clamp" in text and "Image.toUint8" in text and "reduce.median" in text


def test_s1grdm_encodes_db_without_wrapping(ee_client):  # noqa: F811
    recipe_ = find_recipe("s1grdm-2020-asc")
    decode = lambda stored: stored / recipe_.scale - recipe_.offset / recipe_.scale  # noqa: E731
    assert decode(-12.7 * recipe_.scale + recipe_.offset) == pytest.approx(-12.7)
    assert 0 < -30 * recipe_.scale + recipe_.offset < 10 * recipe_.scale + recipe_.offset < 65535
    assert "Image.clamp" in expression_of("s1grdm-2020-asc")


def test_yearly_stacks_take_whole_years():
    assert periods(find_recipe("firecci51"))[0] == ("2016", "2016-01-01", "2017-01-01")
    assert [label for label, _, _ in periods(find_recipe("modis44b006veg"))] == ["2016", "2017", "2018", "2019", "2020"]


def test_firecci_takes_every_band_from_the_latest_burn(ee_client):  # noqa: F811
    text = expression_of("firecci51")
    assert "ImageCollection.qualityMosaic" in text and "reduce.max" not in text


def test_srtm_adds_slope_and_keeps_negative_elevations(ee_client):  # noqa: F811
    text = expression_of("srtm")
    assert "Terrain.slope" in text and "Image.toInt16" in text


def test_year_named_labels_read_the_year_they_name():
    assert periods(find_recipe("canadacrop2020")) == [("", "2020-01-01", "2021-01-01")]  # 0.1.7 read 2021
    assert periods(find_recipe("treecover2019")) == [("", "2019-01-01", "2020-01-01")]
    humanpop = find_recipe("humanpop-2015")
    assert humanpop.name == "humanpop{year}" and humanpop.year == 2015


def test_treecover_classes_break_at_20_40_60_80_percent():
    from geetiles.sources.base import class_table

    recipe_ = find_recipe("treecover2020")
    table = class_table(recipe_.classes, recipe_.remap, recipe_.range_map)
    visualised = {percent: percent * 255 / 100 for percent in (19, 20, 39, 40, 79, 80, 100)}  # vis-gray values
    code_of = {
        p: next(c["code"] for c in table if (c["min"] is None or v >= c["min"]) and (c["max"] is None or v < c["max"]))
        for p, v in visualised.items()
    }
    assert code_of == {19: 0, 20: 1, 39: 1, 40: 2, 79: 3, 80: 4, 100: 4}
    assert table[1]["name"] == "Tree cover 20-40 %"


@pytest.mark.parametrize(
    "values, message",
    [
        (dict(reducer="quality_mosaic"), "quality_band"),
        (dict(range_map=[10, 5]), "increase"),
        (dict(years=[2020]), "stack: yearly"),
        (dict(stack="yearly"), "recipe.years"),
        (dict(valid_range=[0]), "valid_range"),
        (dict(name="s1-{orbit}"), "recipe.orbit"),
        (dict(parts=[{"name": "vv"}]), "needs select"),
    ],
)
def test_inconsistent_recipes_fail_with_the_fix(ee_client, values, message):  # noqa: F811
    from geetiles.errors import UserInputError
    from geetiles.sources.ee_datasets import recipe_definition

    broken = recipe(**{"name": "x", "collection": "COPERNICUS/S1_GRD", **values})
    with pytest.raises((UserInputError, ValueError), match=message):
        serialized_expression(recipe_definition(broken))


def test_every_packaged_recipe_is_in_the_tested_catalog(ee_client):  # noqa: F811
    from geetiles.sources.catalog import _pattern, _recipes

    tested = [*ORIGINAL_CATALOG, "sentinel2-rgb-median-2020", "esa-world-cover"]
    for packaged in _recipes():
        assert any(re.match(_pattern(packaged.name), name) for name in tested), f"{packaged.name} has no band test"
        bands_of(recipe_definition(packaged))  # compiles with its own defaults, and the fake server accepts it


def test_a_users_recipe_in_a_config_dir_composes_and_compiles(ee_client, tmp_path):  # noqa: F811
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "my_s1.yaml").write_text(
        "kind: earthengine\npixels_lonlat: [64, 64]\nrecipe:\n  name: my-s1-{year}-{orbit}\n"
        "  collection: COPERNICUS/S1_GRD\n  orbit: des\n"
        "  filters: [{property: orbitProperties_pass, op: eq, value: '{orbit_pass}'}]\n"
        "  parts:\n    - {name: vv, select: [VV], reducer: median}\n    - {name: nvv, select: [VV], reducer: count}\n"
        "  stack: yearly\n  years: [2022, 2023]\n  dtype: float32\n"
    )
    config = compose([f"hydra.searchpath=[file://{tmp_path}]", "source=my_s1", "source.recipe.year=2023"])
    definition = recipe_definition(OmegaConf.to_object(config.source.recipe))
    assert definition.name == "my-s1-2023-des"
    assert bands_of(definition) == [(f"{y}_{p}", "float32") for y in (2022, 2023) for p in ("vv", "nvv")]


ORIGINAL_WORLDCOVER_MAP = "{10:1,20:2,30:3,40:4,50:5,60:6,70:7,80:8,90:9,95:10,100:11}"  # 0.1.7's map_values


def test_the_originals_class_remap_is_one_override(ee_client):  # noqa: F811
    from geetiles.sources.base import class_table

    config = compose([f"++labels.recipe.remap={ORIGINAL_WORLDCOVER_MAP}"]).labels
    remapped = OmegaConf.to_object(config.recipe)
    assert "Image.remap" in serialized_expression(recipe_definition(remapped))
    assert bands_of(recipe_definition(remapped)) == [("Map", "uint8")]
    table = class_table(remapped.classes, remapped.remap)
    assert [c["code"] for c in table] == list(range(1, 12)) and table[0]["name"] == "Tree cover"
    assert "Image.remap" not in serialized_expression(load_definition("esa-world-cover"))


S2 = dict(
    name="x", collection="COPERNICUS/S2_SR_HARMONIZED", start="2020-01-01", end="2021-01-01", select=["B4", "B3", "B2"]
)


@pytest.mark.parametrize(
    "values, expected",
    [
        (
            dict(mask="cloudscore_plus", cloud_score_threshold=0.65),
            [("B4", "uint16"), ("B3", "uint16"), ("B2", "uint16")],
        ),
        (dict(mask="qa60", reducer="mosaic"), [("B4", "uint16"), ("B3", "uint16"), ("B2", "uint16")]),
        (dict(reducer="mean", dtype="float32"), [("B4", "float32"), ("B3", "float32"), ("B2", "float32")]),
        (dict(reducer="max", rename=["r", "g", "b"]), [("r", "uint16"), ("g", "uint16"), ("b", "uint16")]),
        (dict(reducer="count", select=["B8"], dtype="uint8"), [("B8", "uint8")]),
        (
            dict(select=["B8"], visualize={"min": 0, "max": 3000, "palette": ["000000", "00ff00"]}),
            [("vis-red", "uint8"), ("vis-green", "uint8"), ("vis-blue", "uint8")],
        ),
        (
            dict(stack="monthly", year=2021, select=["B8"], valid_range=[1, 10000], dtype="int16"),
            [(f"{m:02d}_B8", "int16") for m in range(1, 13)],
        ),
    ],
)
def test_recipe_features_compile_to_bands_the_server_accepts(ee_client, values, expected):  # noqa: F811
    from geetiles.sources.ee_datasets import recipe_definition

    built = recipe_definition(recipe(**{**S2, **values}))
    assert bands_of(built) == expected
    if "mask" in values:
        assert {"cloudscore_plus": "Image.linkCollection", "qa60": "Image.bitwiseAnd"}[
            values["mask"]
        ] in serialized_expression(built)
