"""The report stage on synthetic inputs: every map and section when everything is there, sections left
out when inputs are missing, a self-contained page, and one-line refusals that write nothing."""

from __future__ import annotations

import json
import logging
import re

import numpy as np
import pytest

from geetiles.errors import UserInputError
from geetiles.runner import RunContext
from tests.conftest import files_under, geetiles_cmd
from tests.hostile import TRAVERSAL, assert_one_line_refusal, hostile_tiles, identifier_for, snapshot
from tests.in_process import run_in_process
from tests.report.conftest import IMAGES, LABELS, assert_self_contained, build, experiment


def report_of(tiles, *overrides, context=None):
    from geetiles.report import stage

    exp = experiment(tiles, *overrides)
    stage.check(exp)
    stage.run(exp, context or RunContext())
    return tiles.with_name(f"{tiles.stem}_report")


def sections(index) -> list[str]:
    return re.findall(r'<section id="([a-z]+)">', index.read_text(encoding="utf-8"))


def test_full_report(synthetic, caplog):
    with caplog.at_level(logging.INFO, logger="geetiles.report.stage"):
        dest = report_of(synthetic)
    index = dest / "index.html"
    assert caplog.records[-1].getMessage().endswith(str(index))  # the one line ends with the page's path
    names = {p.name for p in dest.iterdir()} - {".geetiles-made"}
    assert names == {
        "index.html",
        "map_aoi.png",
        "map_split.png",
        "map_classes.png",
        "map_foreign.png",
        "map_failures.png",
        "classes.png",
        "samples.png",
    }
    assert (dest / ".geetiles-made").is_file()  # the marker that lets a rerun replace it
    assert set(assert_self_contained(index)) == names - {"index.html"}
    assert sections(index) == ["overview", "maps", "downloads", "split", "classes", "samples", "config"]
    text = index.read_text(encoding="utf-8")
    assert "timeout after 300 s" in text and "HTTP 429 Too Many Requests" in text  # top failure reasons, counted
    assert re.search(r'<td class="num">2</td><td>timeout after 300 s</td>', text)
    assert "a &lt;warning&gt; to escape" in text and "<warning>" not in text
    assert "nearest val/test chip to a train chip" in text and "700 m" in text
    assert "Tree cover" in text and "Built-up" in text  # class names from the download record
    assert "blocks: 9 units" in text  # foreign units found through the intersect record
    for png in names - {"index.html"}:
        assert (dest / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(synthetic.parent.glob(".*building*"))  # built aside, swapped in


def test_without_split_labels_or_downloads(tmp_path):
    tiles = build(tmp_path / "data", split=False, labels=False, images=False)
    dest = report_of(tiles)
    index = dest / "index.html"
    assert sorted(p.name for p in dest.iterdir()) == [".geetiles-made", "index.html", "map_aoi.png"]
    assert assert_self_contained(index) == ["map_aoi.png"]
    assert sections(index) == ["overview", "maps", "config"]


def test_without_aoi_file_and_with_wide_class_columns(tmp_path):
    tiles = build(tmp_path / "data", wide=True, images=False)
    (tiles.parent / "s.wkt").unlink()
    dest = report_of(tiles)
    text = (dest / "index.html").read_text(encoding="utf-8")
    assert "AOI outline left out" in text
    assert {"map_classes.png", "classes.png"} <= {p.name for p in dest.iterdir()}
    assert "samples.png" not in {p.name for p in dest.iterdir()}  # no images: no sheet
    assert sections(dest / "index.html") == ["overview", "maps", "downloads", "split", "classes", "config"]


def test_labels_without_chips_only_proportions(tmp_path):
    """Proportions in the tiles file but no label chips: the class map and chart, a sheet of images alone."""
    import shutil

    tiles = build(tmp_path / "data")
    shutil.rmtree(tiles.with_suffix("") / LABELS)
    dest = report_of(tiles, f"report.labels={LABELS}", f"report.images={IMAGES}", "report.samples=5")
    assert {"map_classes.png", "classes.png", "samples.png"} <= {p.name for p in dest.iterdir()}
    assert "Dominant label class (lc)" in (dest / "index.html").read_text(encoding="utf-8")


def test_rerun_replaces_the_report_and_dest_is_honoured(synthetic, tmp_path):
    quick = ("report.samples=0", "report.max_polygons=0")  # what is replaced does not depend on the pictures
    dest = report_of(synthetic, *quick)
    (dest / "stale.txt").write_text("old")
    assert not (report_of(synthetic, *quick) / "stale.txt").exists()
    other = tmp_path / "elsewhere" / "rep"
    report_of(synthetic, f"report.dest={other}", "report.samples=0", "report.max_polygons=0")
    assert (other / "index.html").exists() and not (other / "samples.png").exists()
    assert "a raster of chip centres" in (other / "index.html").read_text(encoding="utf-8")


def test_disabled(synthetic):
    dest = report_of(synthetic, "report.enabled=false")
    assert not dest.exists()


def test_empty_tiles_file_is_refused_and_nothing_written(tmp_path):
    tiles = build(tmp_path / "data", empty=True, images=False, labels=False, split=False)
    before = files_under(tmp_path)
    with pytest.raises(UserInputError, match="has no chips"):
        report_of(tiles)
    assert files_under(tmp_path) == before


@pytest.mark.parametrize(
    "override, message",
    [
        ("report.samples=-1", "report.samples=-1 cannot be negative"),
        ("report.images=nope", "report.images='nope': no chip folder"),
        ("report.labels=nope", "report.labels='nope': no chip folder or nope_proportions column"),
        ("report.foreign_file=missing.geojson", "report.foreign_file='missing.geojson' does not exist"),
    ],
)
def test_bad_settings(synthetic, override, message):
    with pytest.raises(UserInputError, match=re.escape(message)):
        report_of(synthetic, override)
    assert not synthetic.with_name(f"{synthetic.stem}_report").exists()


def test_dest_never_the_chip_folders(synthetic):
    with pytest.raises(UserInputError, match="would overwrite the downloaded chips"):
        report_of(synthetic, f"report.dest={synthetic.with_suffix('')}")


def test_missing_tiles_file_exits_2_with_one_line(tmp_path):
    result = run_in_process(
        geetiles_cmd("stages=[report]", "report.tiles_file=missing.geojson", "source=demo", "labels=demo"), tmp_path
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "report.tiles_file='missing.geojson' does not exist" in lines[0]
    assert not [p for p in files_under(tmp_path) if "report" in p.name]


def test_no_tiles_file_at_all(tmp_path):
    from geetiles.cli.compose import compose
    from geetiles.experiment import Experiment
    from geetiles.report import stage

    exp = Experiment.from_config(compose(["stages=[report]"]), command="test")
    with pytest.raises(UserInputError, match="needs a tiles file"):
        stage.check(exp)


def test_chips_arrays_from_geojson_without_twin(tmp_path):
    """A tiles file without its GeoParquet twin (or with a stale one) is read through its GeoJSON."""
    from geetiles.report.chips import read_chips

    tiles = build(tmp_path / "data", images=False)
    fast = read_chips(tiles, LABELS, ("10", "40", "50"), geometry_up_to=100)
    tiles.with_suffix(".parquet").unlink()
    slow = read_chips(tiles, LABELS, ("10", "40", "50"), geometry_up_to=100)
    assert fast.identifiers.tolist() == slow.identifiers.tolist()
    assert np.allclose(fast.bounds, slow.bounds) and fast.keys == slow.keys
    assert np.allclose(fast.shares, slow.shares, equal_nan=True)
    assert fast.split.tolist() == slow.split.tolist()
    assert len(fast.geometry) == len(slow.geometry) == 25


def test_proportions_objects_parsed_in_bulk():
    import pyarrow as pa

    from geetiles.report.chips import _parse_json_column

    keys = ["10"]
    column = pa.array([json.dumps({"10": 0.5, "20": 0.5}), None, "{}", json.dumps({"30": 1.0}), ""])
    table = _parse_json_column(column, keys)
    assert keys == ["10", "20", "30"]
    assert np.allclose(table[0], [0.5, 0.5, 0]) and np.isnan(table[1]).all() and (table[2] == 0).all()
    assert np.allclose(table[3], [0, 0, 1]) and np.isnan(table[4]).all()


def _users_folder(path):
    (path / "photos").mkdir(parents=True)
    (path / "thesis.tex").write_text("years of work")
    (path / "photos" / "cat.jpg").write_bytes(b"\xff\xd8 a cat")
    return path


def test_a_users_folder_as_report_dest_is_refused_and_kept_whole(synthetic, tmp_path):
    mine = _users_folder(tmp_path / "mine")
    before = {p: p.read_bytes() for p in files_under(tmp_path)}
    with pytest.raises(UserInputError, match="did not make it.*choose another report.dest") as caught:
        report_of(synthetic, f"report.dest={mine}")
    assert str(mine) in str(caught.value) and "\n" not in str(caught.value)
    assert {p: p.read_bytes() for p in files_under(tmp_path)} == before


def test_a_dataset_folder_is_not_a_report_and_an_old_report_is_replaced(synthetic, tmp_path):
    dataset = tmp_path / "ds"
    dataset.mkdir()
    (dataset / ".geetiles-made").write_text('{"made_by": "geetiles", "kind": "dataset"}\n')
    (dataset / "chips.parquet").write_bytes(b"pq")
    with pytest.raises(UserInputError, match="is a geetiles dataset folder, not a report folder"):
        report_of(synthetic, f"report.dest={dataset}")
    assert (dataset / "chips.parquet").read_bytes() == b"pq"
    dest = report_of(synthetic, "report.samples=0", "report.max_polygons=0")
    (dest / ".geetiles-made").unlink()  # as geetiles wrote reports before markers
    again = report_of(synthetic, "report.samples=0", "report.max_polygons=0")
    assert again == dest and (dest / ".geetiles-made").is_file()


def test_report_dest_refusal_is_one_line_exit_2(synthetic, tmp_path):
    mine = _users_folder(tmp_path / "mine")
    before = {p: p.read_bytes() for p in files_under(tmp_path)}
    result = run_in_process(
        geetiles_cmd(
            "stages=[report]", f"report.tiles_file={synthetic}", "source=none", "labels=none", f"report.dest={mine}"
        ),
        tmp_path,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "geetiles will not replace it" in lines[0] and str(mine) in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert {p: p.read_bytes() for p in files_under(tmp_path)} == before


@pytest.mark.parametrize("twin", [True, False])
@pytest.mark.parametrize("template", TRAVERSAL)
def test_unsafe_identifiers_are_refused_in_one_line_and_nothing_written(tmp_path, template, twin):
    """The sample sheet names chip files by identifier: a tiles file with one outside the rule (a 300-character
    one used to crash the report) is refused before anything is drawn, from the twin or the GeoJSON."""
    if "\x00" in template and not twin:
        pytest.skip("GDAL ends a GeoJSON string at a NUL")
    identifier = identifier_for(template, tmp_path)
    tiles = hostile_tiles(tmp_path, identifier, twin=twin, datasets=(IMAGES,))
    before = snapshot(tmp_path)
    with pytest.raises(UserInputError) as refused:
        report_of(tiles, f"report.images={IMAGES}")
    assert_one_line_refusal(str(refused.value), identifier)
    assert snapshot(tmp_path) == before


def test_a_plain_identifier_of_the_same_file_is_reported(tmp_path):
    tiles = hostile_tiles(tmp_path, "3a1b2c3d4e5f6", datasets=(IMAGES,))
    dest = report_of(tiles, f"report.images={IMAGES}")
    assert (dest / "samples.png").is_file()


@pytest.mark.parametrize("key", ["report.images=../img", "report.labels=a/b"])
def test_report_names_are_refused_before_any_stage(synthetic, key):
    with pytest.raises(UserInputError, match=re.escape(key.split("=")[0]) + "=.*letters, digits"):
        experiment(synthetic, key)
