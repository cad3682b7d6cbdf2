import json

import pytest

from geetiles.errors import UserInputError
from geetiles.sources.ee_datasets import load_definition, serialized_expression
from tests.fake_ee.expressions import infer_bands
from tests.fake_ee.fixtures import ee_client, fake_ee  # noqa: F401


@pytest.mark.parametrize(
    "name, bands",
    [
        ("sentinel2-rgb-median-2020", [("vis-red", "uint8"), ("vis-green", "uint8"), ("vis-blue", "uint8")]),
        ("esa-world-cover", [("Map", "uint8")]),
    ],
)
def test_builtins_serialise_to_the_expected_bands(ee_client, name, bands):  # noqa: F811
    expression = json.loads(serialized_expression(load_definition(name)))
    assert [(n, str(d)) for n, d in infer_bands(expression)] == bands


def test_sentinel2_recipe_matches_the_original(ee_client):  # noqa: F811
    text = serialized_expression(load_definition("sentinel2-rgb-median-2020"))
    for fragment in (
        "COPERNICUS/S2_SR_HARMONIZED",
        "CLOUDY_PIXEL_PERCENTAGE",
        "QA60",
        "2020-01-01",
        "2020-12-31",
        "Image.visualize",
    ):
        assert fragment in text


def test_user_file_and_legacy_class(ee_client, tmp_path):  # noqa: F811
    modern = tmp_path / "modern.py"
    modern.write_text("import ee\ndef get_ee_image():\n    return ee.Image('FAKE/RGB')\n")
    assert load_definition(str(modern)).name == "modern"
    legacy = tmp_path / "legacy.py"
    legacy.write_text(
        "import ee\nclass DatasetDefinition:\n    def __init__(self, d):\n        pass\n"
        "    def get_dataset_name(self):\n        return 'old-style'\n"
        "    def get_gee_image(self):\n        return ee.Image('FAKE/RGB')\n"
    )
    definition = load_definition(str(legacy)[:-3])  # the original allowed leaving out .py
    assert definition.name == "old-style" and "FAKE/RGB" in serialized_expression(definition)


def test_broken_user_files_are_one_line_errors(ee_client, tmp_path):  # noqa: F811
    crash = tmp_path / "crash.py"
    crash.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(UserInputError, match="boom"):
        load_definition(str(crash))
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(UserInputError, match="get_ee_image"):
        load_definition(str(empty))
    wrong = tmp_path / "wrong.py"
    wrong.write_text("def get_ee_image():\n    return 42\n")
    with pytest.raises(UserInputError, match="must return an ee.Image"):
        serialized_expression(load_definition(str(wrong)))
