"""Names that become folder and file names are refused when the config is composed, before any stage
runs: one line naming the key, the rule and a name that would do."""

from __future__ import annotations

import pytest

from geetiles.cli import geet
from geetiles.cli.compose import compose
from geetiles.errors import UserInputError
from geetiles.experiment import Experiment
from geetiles.names import RULE

NAMES = [
    ("aoi.name", "../x"),
    ("aoi.name", "a b"),
    ("tiling.name", "a/b"),
    ("foreign.name", ".."),
    ("source.name", "/tmp/x"),
    ("labels.name", "..\\x"),
    ("export.name", "a/b"),
    ("export.images", "../img"),
    ("export.labels", "x" * 300),
    ("report.images", "."),
    ("report.labels", "a\tb"),
    ("proportions.dataset", "x/y"),
    ("split.foreign_name", "../units"),
]


@pytest.mark.parametrize("key, value", NAMES)
def test_a_name_outside_the_rule_is_refused_at_composition(key, value):
    with pytest.raises(UserInputError) as refused:
        Experiment.from_config(compose([f"{key}={value!r}"]), command="test")
    message = str(refused.value)
    assert message.startswith(f"{key}=") and RULE in message and "\n" not in message
    assert f"e.g. {key}=" in message


@pytest.mark.parametrize("key", [key for key, _ in NAMES])
def test_plain_names_pass(key):
    value = "units" if key in ("tiling.name", "foreign.name") else "my-name.v2"
    Experiment.from_config(compose([f"{key}={value}"]), command="test")


def test_a_recipes_own_name_is_checked_before_any_stage():
    """source.name unset: the chip folder is the recipe's name, checked by the download's check."""
    from geetiles.download.stage import check

    experiment = Experiment.from_config(
        compose(["source.dataset=null", "source.recipe.name='../s2-{year}'", "source.recipe.year=2020"]), command="test"
    )
    with pytest.raises(UserInputError, match=r"source\.name='\.\./s2-2020' holds '/'"):
        check(experiment)


@pytest.mark.parametrize(
    "argv",
    [
        ["grid", "--aoi_wkt_file", "{aoi}", "--aoi_name", "../x", "--chip_size_meters", "1000", "--dest_dir", "{dest}"],
        [
            "select",
            "--aoi_wkt_file",
            "{aoi}",
            "--aoi_name",
            "x",
            "--orig_shapefile",
            "{aoi}",
            "--tiles_name",
            "a/b",
            "--dest_dir",
            "{dest}",
        ],
    ],
)
def test_geet_refuses_the_name_in_one_line_and_writes_nothing(tmp_path, capsys, argv):
    aoi = tmp_path / "aoi.wkt"
    aoi.write_text("POLYGON ((6 49.6, 6.1 49.6, 6.1 49.7, 6 49.7, 6 49.6))\n")
    dest = tmp_path / "dest"
    with pytest.raises(SystemExit) as ended:
        geet.main([a.format(aoi=aoi, dest=dest) for a in argv])
    assert ended.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("geetiles: error: ") and RULE in line
    assert not dest.exists()
