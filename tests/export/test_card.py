"""The dataset card quotes names from the user's files and settings: with hostile names (HTML, Markdown,
backticks, YAML document markers, newlines) its YAML header still parses to them, its prose and tables
render them as text, and its loading example is valid Python naming the folder."""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from geetiles.export.card import card, code, text
from geetiles.export.inputs import DatasetInfo, ExportInput

XSS = "<img src=x onerror=alert(1)>"
NAME = f"# {XSS}\n---\nlicense: evil *bold* [link](javascript:alert(1)) | `tick`"
SPLITS = ["train", "<b>val</b>", "te|st `x`"]
FOLDER = 'ds"`\n```\nimport os'


def one_line(value: str) -> str:
    return " ".join(value.split())


def rendered_text(markdown: str) -> str:
    """What a CommonMark renderer shows for text escaped by ``text``: backslash escapes and entities
    resolved."""
    return html.unescape(re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown))


def without_code_spans(line: str) -> str:
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", line)


@pytest.fixture
def hostile(tmp_path: Path) -> ExportInput:
    n = len(SPLITS)
    classes = ({"code": 1, "name": XSS, "color": "#fff|<i>"}, {"code": 2, "name": "a|b", "color": "#000000"})
    frame = pd.DataFrame({"lab_class_1": np.full(n, 0.25), "lab_class_2": np.full(n, 0.75)})
    recipe = {"collection": "A``B</code><img src=x>", "start": "<s>", "reducer": "*m*"}
    record = {"config": {"source": {"name": XSS, "kind": "earthengine", "recipe": recipe}}}
    images = DatasetInfo(XSS, tmp_path / "img", ("<script>alert(1)</script>", "b`1`", "x|y"), "uint8", None, (), record)
    labels = DatasetInfo("lab", tmp_path / "lab", ("Map",), "uint8", None, classes, {})
    config = {
        "aoi": {"name": "<svg onload=alert(1)>", "country": "`x` <b>"},
        "tiling": {"kind": "grid<i>"},
        "split": {"kind": "<b>blocks</b>", "fractions": [0.7, "<i>"]},
    }
    return ExportInput(
        tmp_path / "t_partitions_aschips_0123456789abc.geojson",
        frame,
        np.array(["a", "b", "c"]),
        np.array(SPLITS, dtype=object),
        images,
        labels,
        NAME,
        0,
        config,
    )


def split_card(document: str) -> tuple[dict, list[str]]:
    lines = document.split("\n")
    assert lines[0] == "---"
    end = lines.index("---", 1)
    return yaml.safe_load("\n".join(lines[1:end])), lines[end + 1 :]


def test_the_yaml_header_parses_to_the_names(hostile):
    header, _ = split_card(card(hostile, "cc-by-4.0", ["geotiff"], FOLDER))
    assert header["license"] == "cc-by-4.0"  # the name's "license: evil" stays inside its value
    assert header["pretty_name"] == one_line(NAME)
    assert [entry["split"] for entry in header["configs"][0]["data_files"]] == ["train", "<b>val</b>", "te|st `x`"]


def test_prose_and_tables_show_names_as_text_never_markup(hostile):
    _, body = split_card(card(hostile, "cc-by-4.0", ["geotiff", "webdataset"], FOLDER))
    fence = next(i for i, line in enumerate(body) if line.startswith("```") and "python" in line)
    prose = body[:fence]
    for line in prose:
        outside = without_code_spans(line)
        assert "<" not in outside and ">" not in outside, line  # no raw HTML anywhere outside code spans
    title = next(line for line in prose if line.startswith("# "))
    assert rendered_text(title[2:]) == one_line(NAME)
    assert not title[2:].startswith("#") and "---" not in title  # not a heading marker, not a rule
    rows = [line for line in prose if line.startswith("| ")]  # the header and a row per class
    cells = [re.split(r"(?<!\\)\|", row)[1:-1] for row in rows]
    assert len(rows) == 3 and {len(c) for c in cells} == {5}, rows  # a | in a name does not add a column
    assert [rendered_text(c[2].strip()) for c in cells[1:]] == [XSS, "a|b"]
    assert rendered_text(cells[1][3].strip()) == "#fff|<i>"
    counts = next(line for line in prose if "chips made with geetiles" in line)
    assert rendered_text(counts.split(": ", 1)[1]) == "1 train, 1 <b>val</b>, 1 te|st `x`."


def test_code_spans_hold_backticks_and_html_literally():
    for value in ("A``B</code><img src=x>", "`x`", "plain", "a`b"):
        span = code(value)
        fence = re.match(r"`+", span).group()
        inner = span[len(fence) : -len(fence)]
        assert span.endswith(fence) and inner
        assert inner.strip() == value and max(map(len, re.findall(r"`+", inner)), default=0) < len(fence)
    assert code("two\nlines") == "`two lines`"
    assert text("a\n\n# b") == "a \\# b"


def test_the_loading_example_is_valid_python_naming_the_folder(hostile):
    _, body = split_card(card(hostile, "other", ["geotiff"], FOLDER))
    start = next(i for i, line in enumerate(body) if line.startswith("```") and line.endswith("python"))
    fence = body[start][: -len("python")]
    end = body.index(fence, start + 1)
    tree = ast.parse("\n".join(body[start + 1 : end]))
    call = next(node for node in ast.walk(tree) if isinstance(node, ast.Call))
    assert ast.literal_eval(call.args[0]) == FOLDER
    assert ast.literal_eval(call.keywords[0].value) == "train"
    assert sum(isinstance(node, ast.Import) for node in ast.walk(tree)) == 0  # the name's "import os" stays a string


def test_the_card_says_which_tiling_suits_which_client_and_warns_of_grid_chips_for_torchgeo():
    from geetiles.export.card import _clients

    grid, utm = "\n".join(_clients({"kind": "grid"})), "\n".join(_clients({"kind": "utm"}))
    assert "tiling=utm" in utm and "TorchGeo" in utm and "Warning" not in utm
    assert "Warning (TorchGeo)" in grid and "pixel sizes vary" in grid


def test_the_card_warns_torchgeo_of_a_dataset_of_several_utm_zones():
    from geetiles.export.card import _clients

    two, one = "\n".join(_clients({"kind": "utm"}, [32631, 32632])), "\n".join(_clients({"kind": "utm"}, [32632]))
    assert "Warning (TorchGeo)" in two and "2 UTM zones (EPSG:32631, EPSG:32632)" in two
    assert 'index.crs == "EPSG:32632"' in two and "Warning" not in one


def test_the_card_of_a_dataset_of_several_zones_names_them(hostile):
    hostile.frame["epsg"] = [32632, 32631, 32632]
    hostile.resolved_config["tiling"] = {"kind": "utm", "chip_size_m": 1000}
    assert "2 UTM zones (EPSG:32631, EPSG:32632)" in card(hostile, "other", ["geotiff"], FOLDER)


def test_without_shards_the_card_says_hugging_face_gets_no_pixels_and_which_export_does(hostile):
    index_only = card(hostile, "other", ["geotiff"], FOLDER)
    assert "file paths without pixels" in index_only and "UnidentifiedImageError" in index_only  # 3 bands
    assert "export.formats=[geotiff,webdataset]" in index_only
    assert "without pixels" not in card(hostile, "other", ["geotiff", "webdataset"], FOLDER)


def test_pil_cannot_open_the_exports_multiband_cogs_but_reads_its_labels(tmp_path):
    """What the card says of Hugging Face's ``Image`` feature (PIL): our 3-band images (MINISBLACK with extra
    samples) are refused, so ``Image()`` columns over the COGs would fail; 1-band palette labels read exactly.
    If this starts failing, PIL (or our writer) changed: the card could then declare ``Image()`` columns."""
    image_module = pytest.importorskip("PIL.Image", reason="Pillow is not installed")
    from geetiles.tiff.cog import write_cog

    rng = np.random.default_rng(0)
    transform = (500000.0, 10.0, 0.0, 5500000.0, 0.0, -10.0)
    images = rng.integers(1, 255, (3, 64, 64), dtype=np.uint8)
    write_cog(tmp_path / "image.tif", images, "EPSG:32632", transform, ["red", "green", "blue"], 0)
    with pytest.raises(image_module.UnidentifiedImageError):
        image_module.open(tmp_path / "image.tif")
    labels = rng.choice(np.array([10, 40, 50], dtype=np.uint8), (64, 64))
    colors = {10: (0, 100, 0, 255), 40: (240, 150, 255, 255), 50: (250, 0, 0, 255)}
    write_cog(tmp_path / "label.tif", labels[None], "EPSG:32632", transform, ["Map"], 0, colormap=colors)
    with image_module.open(tmp_path / "label.tif") as label:
        assert label.mode == "P"
        np.testing.assert_array_equal(np.asarray(label), labels)
