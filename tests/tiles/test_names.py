"""Which tiles file a stage works on, and the one line when it has none."""

from pathlib import Path

import pytest

from geetiles.errors import UserInputError
from geetiles.tiles import stage_tiles_file


def test_the_run_s_own_file_wins_over_the_setting(tmp_path: Path) -> None:
    made = tmp_path / "made.geojson"
    assert stage_tiles_file(made, str(tmp_path / "missing.geojson"), "split") == made


def test_the_setting_names_an_existing_file_or_its_twin(tmp_path: Path) -> None:
    path = tmp_path / "lux_partitions_grid_abc.geojson"
    path.write_text("{}")
    assert stage_tiles_file(None, str(path), "export") == path
    assert stage_tiles_file(None, str(path.with_suffix(".parquet")), "export") == path


def test_a_missing_setting_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match=r"report\.tiles_file=.*does not exist"):
        stage_tiles_file(None, str(tmp_path / "../nowhere.geojson"), "report")


@pytest.mark.parametrize("value", [None, ""])
def test_no_file_at_all_says_how_to_give_one(value) -> None:
    with pytest.raises(UserInputError) as caught:
        stage_tiles_file(None, value, "intersect", "the chips' tiles file")
    assert str(caught.value) == (
        "the intersect stage needs the chips' tiles file: run the tiling stage first or set intersect.tiles_file=..."
    )
