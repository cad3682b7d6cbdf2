"""A composition from the memo is Hydra's own: the same tree, the same errors, afresh after any change
to the config files or the schemas, and never shared with the caller."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from geetiles.cli import compose as compose_module
from geetiles.cli.compose import _hydra_compose, _top_groups, quote
from geetiles.cli.composition_memo import CompositionMemo, apply_value_overrides, split_overrides
from geetiles.config import register

PACKAGE_CONF = Path(compose_module.__file__).resolve().parents[1] / "conf"
AWKWARD = "/tmp/dir with spaces, commas=and 'quotes'/t.geojson"


class CountingMemo:
    """A fresh memo over the package's config files, counting Hydra's compositions."""

    def __init__(self, config_dir: Path | None = None) -> None:
        register()
        self.memo, self.config_dir, self.hydra_calls = CompositionMemo(), config_dir, []

    def __call__(self, overrides: list[str]):
        folders = [PACKAGE_CONF] if self.config_dir is None else [self.config_dir, PACKAGE_CONF]
        return self.memo.compose(
            overrides, folders, compose=self._hydra, list_groups=lambda: _top_groups(self.config_dir)
        )

    def _hydra(self, overrides: list[str]):
        self.hydra_calls.append(list(overrides))
        return _hydra_compose(overrides, self.config_dir)


def same_tree(ours, theirs) -> None:
    assert OmegaConf.to_yaml(ours) == OmegaConf.to_yaml(theirs)
    for key in theirs:  # the typed schema survives the copy: a wrong type is still refused
        assert OmegaConf.get_type(ours, key) is OmegaConf.get_type(theirs, key)
    assert OmegaConf.is_struct(ours) == OmegaConf.is_struct(theirs)


OVERRIDE_SETS = [
    [],
    ["experiment=demo"],
    ["experiment=demo", "tiling.chip_size_m=2000", "aoi=bbox", "aoi.bbox=[6.0,49.6,6.06,49.64]", "aoi.name=t"],
    ["tiling=utm", f"download.tiles_file={quote(AWKWARD)}", "data_dir=/tmp/x", "report.tiles_file=null"],
    [
        "source=none",
        "labels=none",
        "stages=[report]",
        "split.fractions=[0.6,0.2,0.2]",
        "report.tiles_file='${data_dir}'",
    ],
    ["aoi.name=first", "aoi.name=second", "experiment=demo"],  # values in their order, choices anywhere
]


@pytest.mark.parametrize("overrides", OVERRIDE_SETS, ids=range(len(OVERRIDE_SETS)))
def test_a_memo_composition_equals_hydras_once_composed_and_again(overrides):
    memo = CountingMemo()
    first, second, theirs = memo(overrides), memo(overrides), _hydra_compose(overrides, None)
    for ours in (first, second):
        same_tree(ours, theirs)


def test_only_plain_values_reuse_a_composition_and_a_caller_cannot_change_the_kept_one():
    memo = CountingMemo()
    a = memo(["experiment=demo", "data_dir=/tmp/a"])
    a.aoi.name = "changed by the caller"
    b = memo(["data_dir=/tmp/b", "experiment=demo", "tiling.chip_size_m=1234"])
    assert memo.hydra_calls == [["experiment=demo"]]
    assert (a.data_dir, b.data_dir, b.tiling.chip_size_m) == ("/tmp/a", "/tmp/b", 1234)
    assert b.aoi.name == _hydra_compose(["experiment=demo"], None).aoi.name
    memo(["experiment=demo", "tiling=utm"])  # another choice of config files: composed
    assert memo.hydra_calls[-1] == ["experiment=demo", "tiling=utm"]


@pytest.mark.parametrize(
    "overrides",
    [
        ["+extra_key=1"],
        ["++data_dir=/tmp/forced"],
        ["~report"],
        ["hydra.job.name=other"],
        ["hydra/job_logging=disabled"],
        ["tiling@foreign=grid"],
        ["aoi.name=x", "aoi={name: y}"],  # a dict given to a group is a value, set in its order
    ],
)
def test_anything_but_choices_and_plain_values_is_composed_in_full_every_time(overrides):
    memo = CountingMemo()
    try:
        theirs = _hydra_compose(overrides, None)
    except Exception as error:
        for _ in range(2):
            with pytest.raises(type(error)) as ours:
                memo(overrides)
            assert str(ours.value) == str(error)
    else:
        for _ in range(2):
            same_tree(memo(overrides), theirs)
    assert memo.hydra_calls == [overrides, overrides]


@pytest.mark.parametrize(
    "overrides",
    [
        ["aoi.path=/tmp/x.wkt"],  # no such key
        ["experiment=demo", "tiling.chip_size_m=not-a-number"],  # a typed key
        ["tiling=no_such_tiling", "data_dir=/tmp/x"],  # no such config file
        ["tiling.chip_size_m=1,2"],  # a sweep where one run is composed
        ["aoi.name=[unclosed"],  # does not parse
    ],
)
def test_bad_overrides_raise_hydras_own_error_from_the_memo_too(overrides):
    memo = CountingMemo()
    with pytest.raises(Exception) as theirs:
        _hydra_compose(overrides, None)
    for _ in range(2):  # the second time from a kept composition, where there is one
        with pytest.raises(type(theirs.value)) as ours:
            memo(overrides)
        assert str(ours.value) == str(theirs.value)


def test_a_changed_config_file_or_folder_is_read_again(tmp_path):
    config_dir = tmp_path / "my configs"
    (config_dir / "experiment").mkdir(parents=True)
    experiment = config_dir / "experiment" / "mine.yaml"
    experiment.write_text("# @package _global_\naoi:\n  name: one\n")
    memo = CountingMemo(config_dir)
    assert memo(["experiment=mine", "data_dir=/tmp/a"]).aoi.name == "one"
    before = experiment.stat()
    time.sleep(0.01)
    experiment.write_text("# @package _global_\naoi:\n  name: two\n")  # in place, the same size ...
    os.utime(experiment, ns=(before.st_atime_ns, before.st_mtime_ns))  # ... and the same modification time
    assert memo(["experiment=mine", "data_dir=/tmp/b"]).aoi.name == "two"
    (config_dir / "tiling").mkdir()  # a new config group of the user's
    (config_dir / "tiling" / "mine.yaml").write_text("defaults:\n  - grid\n  - _self_\nchip_size_m: 777\n")
    assert memo(["tiling=mine"]).tiling.chip_size_m == 777
    assert len(memo.hydra_calls) == 3


def test_a_schema_added_to_hydras_store_is_composed_afresh():
    memo = CountingMemo()
    memo(["experiment=demo"])
    ConfigStore.instance().store(group="memo_test_group", name="extra", node={"x": 1})
    try:
        memo(["experiment=demo"])
    finally:
        ConfigStore.instance().repo.pop("memo_test_group", None)
    assert len(memo.hydra_calls) == 2


def test_the_memo_keeps_a_bounded_number_of_compositions(monkeypatch):
    monkeypatch.setattr("geetiles.cli.composition_memo.KEPT", 3)
    memo = CountingMemo()
    names = sorted(path.stem for path in (PACKAGE_CONF / "tiling").glob("*.yaml"))
    for name in names:
        memo([f"tiling={name}"])
    assert len(names) > 3 and len(memo.memo._trees) == 3
    memo([f"tiling={names[-1]}"])  # the most recent is kept
    memo([f"tiling={names[0]}"])  # the oldest was dropped
    assert len(memo.hydra_calls) == len(names) + 1


def test_a_config_dir_too_large_to_check_is_composed_in_full_each_time(tmp_path, monkeypatch):
    monkeypatch.setattr("geetiles.cli.composition_memo.MAX_CONFIG_FILES", 3)
    for index in range(4):
        (tmp_path / f"note{index}.txt").write_text("not a config")
    memo = CountingMemo(tmp_path)
    memo(["data_dir=/tmp/a"])
    memo(["data_dir=/tmp/b"])
    assert len(memo.hydra_calls) == 2


def test_split_tells_choices_from_values_and_refuses_the_rest():
    groups = frozenset({"aoi", "tiling", "hydra"})
    choices, values = split_overrides(["tiling=utm", "tiling.chip_size_m=5", "data_dir=x"], groups)
    assert choices == ("tiling=utm",) and [v.key_or_group for v in values] == ["tiling.chip_size_m", "data_dir"]
    refused_sets = (["+a=1"], ["~aoi"], ["a=1,2"], ["hydra.run.dir=x"], ["aoi/sub=x"], ["aoi@tiling=x"], ["a=[1"])
    for refused in (*refused_sets, ["aoi.name=x", "aoi={name: y}"]):
        assert split_overrides(refused, groups) is None, refused


def test_the_private_hydra_step_sets_values_in_order_with_hydras_errors():
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import ConfigCompositionException

    tree = _hydra_compose([], None)
    parse = OverridesParser.create().parse_overrides
    apply_value_overrides(tree, parse(["aoi.name=a", "aoi.name=b", "tiling.chip_size_m=9"]))
    assert (tree.aoi.name, tree.tiling.chip_size_m) == ("b", 9)
    with pytest.raises(ConfigCompositionException, match=r"Could not override 'aoi\.nope'"):
        apply_value_overrides(tree, parse(["aoi.nope=1"]))


def test_the_command_lines_compose_through_one_memo(monkeypatch):
    """geet and geetiles.compose share the process's memo: the same choices twice compose once."""
    calls = []
    monkeypatch.setattr(compose_module, "_MEMO", CompositionMemo())
    monkeypatch.setattr(
        compose_module,
        "_hydra_compose",
        lambda overrides, config_dir: calls.append(overrides) or _hydra_compose(overrides, config_dir),
    )
    compose_module.compose(["experiment=demo", "data_dir=/tmp/a"])
    compose_module.compose(["experiment=demo", "data_dir=/tmp/b"])
    assert calls == [["experiment=demo"]]
