"""The export (geotiff, webdataset, legacy zip) refuses identifiers and split values that would put files
outside the dataset's folder: one line, exit 2, nothing written (tests/hostile.py). In depth, the writers
themselves build no path outside their folder even when handed such an identifier."""

from __future__ import annotations

import numpy as np
import pytest

from geetiles.cli import geet
from geetiles.cli.compose import compose, quote
from geetiles.errors import UserInputError
from geetiles.experiment import Experiment
from geetiles.names import UnsafePathError
from geetiles.runner import run_experiment
from tests.composing import compose_with
from tests.hostile import (
    PLAIN,
    TRAVERSAL,
    assert_one_line_refusal,
    hostile_tiles,
    identifier_for,
    snapshot,
)


def _export(tiles, fmt: str, *extra: str):
    cfg = compose_with(
        [
            "stages=[export]",
            "export.images=img",
            "source=none",
            "labels=none",
            f"export.formats=[{fmt}]",
            "download.progress=none",
            *extra,
        ],
        {"export.tiles_file": str(tiles), "data_dir": str(tiles.parent)},
    )
    return run_experiment(Experiment.from_config(cfg, command="test"))


def _zip_dataset(tiles, capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as ended:
        geet.main(["zip.dataset", "--tiles_file", str(tiles), "--images_dataset_def", "img"])
    return ended.value.code, capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["geotiff", "webdataset", "legacy_zip"])
def test_plain_identifiers_export(tmp_path, fmt):
    """The fixture is exportable as it is: the refusals below are the identifiers' doing."""
    tiles = hostile_tiles(tmp_path, "3a1b2c3d4e5f6")
    _export(tiles, fmt)
    if fmt == "legacy_zip":
        assert (tiles.parent / "t_img" / "data" / "3a1b2c3d4e5f6.pkl").is_file()
    else:
        dataset = tiles.parent / f"{tiles.stem}_dataset"
        assert (dataset / "images" / "3a1b2c3d4e5f6.tif").is_file() or (dataset / "webdataset").is_dir()


@pytest.mark.parametrize("fmt", ["geotiff", "webdataset"])
@pytest.mark.parametrize("template", TRAVERSAL)
def test_the_export_refuses_unsafe_identifiers_and_writes_nothing(tmp_path, fmt, template):
    identifier = identifier_for(template, tmp_path)
    tiles = hostile_tiles(tmp_path, identifier)
    before = snapshot(tmp_path)
    with pytest.raises(UserInputError) as refused:
        _export(tiles, fmt)
    assert_one_line_refusal(str(refused.value), identifier)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("template", TRAVERSAL)
def test_geet_zip_dataset_refuses_unsafe_identifiers_in_one_line(tmp_path, capsys, template):
    identifier = identifier_for(template, tmp_path)
    tiles = hostile_tiles(tmp_path, identifier)
    before = snapshot(tmp_path)
    code, err = _zip_dataset(tiles, capsys)
    assert code == 2
    [line] = err.strip().splitlines()
    assert line.startswith("geetiles: error: ")
    assert_one_line_refusal(line, identifier)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("identifier, why", [("3a1b.2c3d", "sample keys"), (PLAIN[0], "repeat")])
def test_webdataset_keys_are_refused_in_one_line_before_anything_is_written(tmp_path, identifier, why):
    """Identifiers that follow the rule but cannot be WebDataset keys (a '.', a repeat): one line, not a traceback."""
    tiles = hostile_tiles(tmp_path, identifier)
    before = snapshot(tmp_path)
    with pytest.raises(UserInputError, match=why) as refused:
        _export(tiles, "webdataset")
    assert "\n" not in str(refused.value) and repr(identifier) in str(refused.value)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("split", ["../../x", "a/b", "", "."])
def test_split_values_that_would_name_files_outside_are_refused(tmp_path, split):
    tiles = hostile_tiles(tmp_path, "3a1b2c3d4e5f6", split=["train", "val", "test", split])
    before = snapshot(tmp_path)
    with pytest.raises(UserInputError, match=r"split value\(s\) that break the rule") as refused:
        _export(tiles, "geotiff")
    assert repr(split) in str(refused.value)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("key", ["export.name=a/b", "export.images=../img", "export.labels=/tmp/x"])
def test_export_names_are_refused_before_any_stage(tmp_path, key):
    tiles = hostile_tiles(tmp_path, "3a1b2c3d4e5f6")
    with pytest.raises(UserInputError, match=key.split("=")[0].replace(".", r"\.") + "=") as refused:
        Experiment.from_config(compose(["stages=[export]", f"export.tiles_file={quote(tiles)}", key]), command="test")
    assert "letters, digits" in str(refused.value)


# --- in depth: the writers themselves -------------------------------------------------------------------

HANDED = ["../../evil", "/abs/path/victim", "a/b", "", ".."]


def _info(folder):
    from geetiles.export.inputs import DatasetInfo

    return DatasetInfo("img", folder, ("r", "g", "b"), "uint8", None, (), {})


@pytest.mark.parametrize("identifier", HANDED)
def test_the_geotiff_writer_builds_no_path_outside(tmp_path, identifier):
    from geetiles.export.geotiff import _write_batch

    before = snapshot(tmp_path)
    with pytest.raises(UnsafePathError):
        _write_batch((_info(tmp_path / "chips"), None, None, tmp_path / "dest"), np.array([identifier], dtype=object))
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("identifier", HANDED)
def test_the_legacy_zip_writer_builds_no_path_outside(tmp_path, identifier):
    from geetiles.export.legacy_zip.pickles import pickle_batch

    data = tmp_path / "work" / "data"
    data.mkdir(parents=True)
    before = snapshot(tmp_path)
    record = {"chip_id": identifier, "center_latlon": np.zeros(2), "corners": {}, "label_proportions": None}
    with pytest.raises(UnsafePathError):
        pickle_batch((_info(tmp_path / "chips"), None, None, None, data), [record])
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("key", ["../x", "a/b", "", "a.b", "/abs"])
def test_the_webdataset_writer_refuses_keys_that_are_not_plain(key):
    from geetiles.export.webdataset.tar import sample_bytes

    with pytest.raises(UnsafePathError):
        sample_bytes(key, [("json", b"{}")])
