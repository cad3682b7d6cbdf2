import json

import pytest
from omegaconf import OmegaConf

from geetiles.cli.compose import compose
from geetiles.config import RecipeConfig
from geetiles.sources.catalog import find_recipe
from geetiles.sources.ee_datasets import load_definition, serialized_expression
from geetiles.sources.ee_recipe import periods
from tests.fake_ee.expressions import infer_bands
from tests.fake_ee.fixtures import ee_client, fake_ee  # noqa: F401


def recipe(**values):
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(RecipeConfig), values))


def bands_of(definition):
    return [(name, str(dtype)) for name, dtype in infer_bands(json.loads(serialized_expression(definition)))]


def test_seasons_and_months_windows():
    seasonal = periods(recipe(name="x", collection="c", year=2021, stack="seasonal"))
    assert seasonal == [("winter", "2020-12-01", "2021-03-01"), ("spring", "2021-03-01", "2021-06-01"),
                        ("summer", "2021-06-01", "2021-09-01"), ("fall", "2021-09-01", "2021-12-01")]
    monthly = periods(recipe(name="x", collection="c", year=2021, stack="monthly"))
    assert monthly[0] == ("01", "2021-01-01", "2021-02-01") and monthly[11] == ("12", "2021-12-01", "2022-01-01")
    single = periods(recipe(name="x", collection="c", year=2019, start="{year}-01-01", end="{next_year}-01-01"))
    assert single == [("", "2019-01-01", "2020-01-01")]


def test_packaged_builtins_compile_to_the_originals_bands(ee_client):  # noqa: F811
    assert bands_of(load_definition("sentinel2-rgb-median-2020")) == [("vis-red", "uint8"), ("vis-green", "uint8"), ("vis-blue", "uint8")]
    assert bands_of(load_definition("esa-world-cover")) == [("Map", "uint8")]
    classes = find_recipe("esa-world-cover").classes
    assert [c.code for c in classes] == [10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100]
    assert classes[0].name == "Tree cover" and classes[0].color == "#006400"


def test_seasonal_stack_names_bands_from_the_template(ee_client):  # noqa: F811
    from geetiles.sources.ee_datasets import recipe_definition

    stacked = recipe(name="rgb-{year}", collection="COPERNICUS/S2_SR_HARMONIZED", year=2020, stack="seasonal",
                     mask="qa60", select=["B4", "B3", "B2"], rename=["red", "green", "blue"], divide=10000,
                     dtype="float32")
    names = [n for n, _ in bands_of(recipe_definition(stacked))]
    assert names == [f"{s}_{b}" for s in ("winter", "spring", "summer", "fall") for b in ("red", "green", "blue")]


def test_cast_clamps_instead_of_wrapping(ee_client):  # noqa: F811
    from geetiles.sources.ee_datasets import recipe_definition

    text = serialized_expression(recipe_definition(recipe(name="db", collection="FAKE/FLOAT", reducer="first", dtype="uint16")))
    assert "Image.clamp" in text and "Image.toUint16" in text


@pytest.mark.parametrize("override, key", [
    ("source.recipe.reducer=middle", "reducer"), ("source.recipe.mask=clouds", "mask"),
    ("source.recipe.dtype=uint12", "dtype"), ("source.recipe.stack=weekly", "stack"),
])
def test_bad_recipes_fail_when_composed(override, key):
    with pytest.raises(Exception) as raised:
        compose([override])
    assert key in str(raised.value) + str(raised.value.__cause__)


def test_names_with_a_year_find_their_recipe():
    assert find_recipe("sentinel2-rgb-median-2020").collection == "COPERNICUS/S2_SR_HARMONIZED"
    assert find_recipe("no-such-dataset") is None


SEASONS = ("winter", "spring", "summer", "fall")
S2_BANDS = ("B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12")
ORIGINAL_CATALOG = {  # names, band order and dtypes of geetiles 0.1.7 (docs/original-catalog.md)
    "s2rgbm-2021": ([f"{m:02d}_{b}" for m in range(1, 13) for b in ("red", "green", "blue")], "uint8"),
    "s2rgb-2019": ([f"{s}_{b}" for s in SEASONS for b in ("red", "green", "blue")], "uint8"),
    "s2-2020": ([f"{s}_{b}" for s in SEASONS for b in S2_BANDS], "uint8"),
    "s2_raw-2020": ([f"{s}_{b}" for s in SEASONS for b in S2_BANDS], "float32"),
    "esaworldcover-2020": (["Map"], "uint8"),
    "esaworldcover-2021": (["Map"], "uint8"),
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
