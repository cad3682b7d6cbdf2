"""A composition from the memo is Hydra's own: the same tree (its ``hydra`` node included), the same
errors, afresh after any change to the config files or the schemas, and never shared with the caller."""

from __future__ import annotations

import functools
import os
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from hydra import initialize_config_dir, initialize_config_module
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode
from omegaconf import OmegaConf

from geetiles.cli import composition_memo
from geetiles.cli.compose import compose, quote
from geetiles.config import register

AWKWARD = "/tmp/dir with spaces, commas=and 'quotes'/t.geojson"
KEY = ("config", RunMode.RUN, True, True)


@pytest.fixture(autouse=True)
def installed():
    register()
    composition_memo.install()


@pytest.fixture
def fresh_memo():
    """For the tests that count Hydra's compositions: nothing kept from an earlier test."""
    composition_memo.forget()
    yield
    composition_memo.forget()


@contextmanager
def hydra_started(config_dir: Path | None = None):
    GlobalHydra.instance().clear()
    if config_dir is None:
        with initialize_config_module(config_module="geetiles.conf", version_base="1.3"):
            yield GlobalHydra.instance().hydra
    else:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            yield GlobalHydra.instance().hydra


@functools.cache
def hydras(overrides: tuple[str, ...]):
    """Hydra's own composition (no memo) of the package's configs, made once per test session."""
    return composed(list(overrides), memo=False)


def composed(overrides: list[str], memo: bool = True, config_dir: Path | None = None):
    """The whole tree (``hydra`` node included) as ``python -m geetiles <overrides>`` composes it."""
    original = ConfigLoaderImpl._load_configuration_impl
    if not memo:
        ConfigLoaderImpl._load_configuration_impl = original.__wrapped__
    try:
        with hydra_started(config_dir) as hydra:
            return hydra.compose_config("config", overrides, run_mode=RunMode.RUN, from_shell=True)
    finally:
        ConfigLoaderImpl._load_configuration_impl = original


class Counting:
    """The memo over a real search path, counting Hydra's own compositions."""

    def __init__(self, config_dir: Path | None = None) -> None:
        self.config_dir, self.hydra_calls = config_dir, []

    def __call__(self, overrides: list[str]):
        with hydra_started(self.config_dir) as hydra:
            loader = hydra.config_loader
            original = ConfigLoaderImpl._load_configuration_impl.__wrapped__

            def hydra_compose(chosen: list[str]):
                self.hydra_calls.append(list(chosen))
                return original(loader, "config", chosen, RunMode.RUN, True, True)

            return composition_memo.remembered(overrides, loader.repository, KEY, hydra_compose)


def same_tree(ours, theirs) -> None:
    assert OmegaConf.to_yaml(ours) == OmegaConf.to_yaml(theirs)
    for key in theirs:  # the typed schema survives the copy: a wrong type is still refused
        assert OmegaConf.get_type(ours, key) is OmegaConf.get_type(theirs, key)
    assert OmegaConf.is_struct(ours) == OmegaConf.is_struct(theirs)


OVERRIDE_SETS = [
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
    ["experiment=demo", "hydra.run.dir=run", "hydra.mode=RUN", "hydra.job.chdir=true"],  # as a run has them
    [  # no choice at all; what the hydra node records, read after the values are set
        "hydra.job.config.override_dirname.exclude_keys=[data_dir]",
        "data_dir=/x",
        "hydra.job.env_copy=[HOME]",
        "aoi.name=y",
    ],
]


@pytest.mark.parametrize("overrides", OVERRIDE_SETS, ids=range(len(OVERRIDE_SETS)))
def test_a_memo_composition_equals_hydras_hydra_node_included_once_composed_and_again(overrides):
    theirs = hydras(tuple(overrides))
    for _ in range(2):  # the second from the kept tree
        same_tree(composed(overrides), theirs)


def test_only_plain_values_reuse_a_composition_and_a_caller_cannot_change_the_kept_one(fresh_memo):
    memo = Counting()
    a = memo(["experiment=demo", "data_dir=/tmp/a"])
    a.aoi.name = "changed by the caller"
    b = memo(["data_dir=/tmp/b", "experiment=demo", "tiling.chip_size_m=1234"])
    assert memo.hydra_calls == [["experiment=demo"]]
    assert (a.data_dir, b.data_dir, b.tiling.chip_size_m) == ("/tmp/a", "/tmp/b", 1234)
    assert b.aoi.name == hydras(("experiment=demo",)).aoi.name
    assert list(b.hydra.overrides.task) == ["data_dir=/tmp/b", "experiment=demo", "tiling.chip_size_m=1234"]
    memo(["experiment=demo", "tiling=utm"])  # another choice of config files: composed
    assert memo.hydra_calls[-1] == ["experiment=demo", "tiling=utm"]


def test_a_tree_pickle_cannot_hold_is_composed_in_full_every_time(fresh_memo, monkeypatch):
    def refuse(*args, **kwargs):
        raise TypeError("cannot pickle this")

    monkeypatch.setattr(composition_memo.pickle, "dumps", refuse)
    memo = Counting()
    first = memo(["experiment=demo", "data_dir=/tmp/a"])
    second = memo(["experiment=demo", "data_dir=/tmp/b"])
    assert memo.hydra_calls == [
        ["experiment=demo"],
        ["experiment=demo", "data_dir=/tmp/a"],
        ["experiment=demo", "data_dir=/tmp/b"],
    ]
    assert (first.data_dir, second.data_dir) == ("/tmp/a", "/tmp/b")


def test_the_run_records_of_the_hydra_node_follow_the_call_not_the_kept_tree(tmp_path, monkeypatch):
    composed(["experiment=demo"])
    monkeypatch.chdir(tmp_path)
    ours = composed(["experiment=demo", "aoi.name=b", "data_dir=/tmp/z"])
    assert ours.hydra.runtime.cwd == str(tmp_path)
    assert ours.hydra.job.override_dirname == "aoi.name=b,data_dir=/tmp/z,experiment=demo"
    same_tree(ours, composed(["experiment=demo", "aoi.name=b", "data_dir=/tmp/z"], memo=False))


def test_anything_but_choices_and_plain_values_is_composed_in_full_every_time(fresh_memo):
    memo = Counting()
    for _ in range(2):
        memo(["+extra_key=1", "data_dir=/tmp/a"])
    assert memo.hydra_calls == [["+extra_key=1", "data_dir=/tmp/a"]] * 2


@pytest.mark.parametrize(
    "overrides",
    [
        ["aoi.path=/tmp/x.wkt"],  # no such key
        ["experiment=demo", "tiling.chip_size_m=not-a-number"],  # a typed key
        ["tiling=no_such_tiling", "data_dir=/tmp/x"],  # no such config file
    ],
)
def test_bad_overrides_raise_hydras_own_error_from_the_memo_too(overrides):
    with pytest.raises(Exception) as theirs:
        composed(overrides, memo=False)
    for _ in range(2):  # the second time from a kept composition, where there is one
        with pytest.raises(type(theirs.value)) as ours:
            composed(overrides)
        assert str(ours.value) == str(theirs.value)


def test_a_changed_config_file_or_folder_is_read_again(fresh_memo, tmp_path):
    config_dir = tmp_path / "my configs"
    (config_dir / "experiment").mkdir(parents=True)
    (config_dir / "config.yaml").write_text("defaults:\n  - experiment: mine\n  - _self_\nname: x\n")
    experiment = config_dir / "experiment" / "mine.yaml"
    experiment.write_text("# @package _global_\nvalue: one\n")
    memo = Counting(config_dir)
    assert memo(["name=a"]).value == "one"
    before = experiment.stat()
    time.sleep(0.01)
    experiment.write_text("# @package _global_\nvalue: two\n")  # in place, the same size ...
    os.utime(experiment, ns=(before.st_atime_ns, before.st_mtime_ns))  # ... and the same modification time
    assert memo(["name=b"]).value == "two"
    (config_dir / "extra").mkdir()  # a new config group: composed again
    (config_dir / "extra" / "more.yaml").write_text("n: 7\n")
    memo(["name=c"])
    memo(["name=d"])  # nothing changed since: from the kept tree
    assert memo.hydra_calls == [[], [], []]


def test_a_schema_added_to_hydras_store_is_composed_afresh(fresh_memo):
    memo = Counting()
    memo(["experiment=demo"])
    ConfigStore.instance().store(group="memo_test_group", name="extra", node={"x": 1})
    try:
        memo(["experiment=demo"])
    finally:
        ConfigStore.instance().repo.pop("memo_test_group", None)
    assert len(memo.hydra_calls) == 2


def test_the_memo_keeps_a_bounded_number_of_compositions(fresh_memo, monkeypatch):
    monkeypatch.setattr(composition_memo, "KEPT", 1)
    memo = Counting()
    for name in ("grid", "utm"):
        memo([f"tiling={name}"])
    assert len(composition_memo._TREES) == 1
    memo(["tiling=utm"])  # the most recent is kept
    memo(["tiling=grid"])  # the oldest was dropped
    assert len(memo.hydra_calls) == 3


def test_a_search_path_too_large_to_check_is_composed_in_full_each_time(fresh_memo, monkeypatch):
    monkeypatch.setattr(composition_memo, "MAX_CONFIG_FILES", 3)
    memo = Counting()
    memo(["data_dir=/tmp/a"])
    memo(["data_dir=/tmp/b"])
    assert memo.hydra_calls == [["data_dir=/tmp/a"], ["data_dir=/tmp/b"]]


def test_split_tells_choices_from_values_and_refuses_the_rest():
    groups = {"aoi", "tiling", "hydra"}
    choices, values, parsed = composition_memo.split_overrides(
        ["tiling=utm", "tiling.chip_size_m=5", "data_dir=x"], groups.__contains__
    )
    assert choices == ("tiling=utm",) and [v.key_or_group for v in values] == ["tiling.chip_size_m", "data_dir"]
    assert len(parsed) == 3
    assert (
        composition_memo.split_overrides(["hydra.run.dir=x"], groups.__contains__)[1][0].key_or_group == "hydra.run.dir"
    )
    refused_sets = [
        ["+extra_key=1"],
        ["++data_dir=/tmp/forced"],
        ["~report"],
        ["tiling.chip_size_m=1,2"],  # a sweep
        ["aoi.name=[unclosed"],  # does not parse (Hydra's composition words the error)
        ["hydra.searchpath=[pkg://geetiles.conf]"],
        ["hydra.runtime.cwd=/elsewhere"],
        ["hydra.overrides.task=[]"],
        ["hydra/job_logging=disabled"],
        ["aoi/sub=x"],
        ["tiling@foreign=grid"],
        ["aoi.name=x", "aoi={name: y}"],  # a dict given to a group is a value, set in its order
    ]
    for refused in refused_sets:
        assert composition_memo.split_overrides(refused, groups.__contains__) is None, refused


def test_every_composition_of_the_process_goes_through_one_memo(fresh_memo):
    """geet's and geetiles.compose's compositions and python -m geetiles' run share the memo."""
    first = compose(["experiment=demo", "data_dir=/tmp/a"])
    assert len(composition_memo._TREES) == 1
    second = compose(["experiment=demo", "data_dir=/tmp/b"])
    run = composed(["experiment=demo", "data_dir=/tmp/c"])
    assert len(composition_memo._TREES) == 2  # the run composes with from_shell=True: its own key
    assert (first.data_dir, second.data_dir, run.data_dir) == ("/tmp/a", "/tmp/b", "/tmp/c")
    assert "hydra" not in second and "hydra" in run
    install_again = ConfigLoaderImpl._load_configuration_impl
    composition_memo.install()
    assert ConfigLoaderImpl._load_configuration_impl.__wrapped__ is install_again.__wrapped__


def test_environment_copied_into_the_job_is_read_at_each_call(tmp_path, monkeypatch):
    (tmp_path / "config.yaml").write_text("hydra:\n  job:\n    env_copy: [GEETILES_MEMO_TEST]\nname: x\n")
    monkeypatch.setenv("GEETILES_MEMO_TEST", "first")
    composed(["name=a"], config_dir=tmp_path)
    monkeypatch.setenv("GEETILES_MEMO_TEST", "second")
    ours = composed(["name=b"], config_dir=tmp_path)
    assert ours.hydra.job.env_set.GEETILES_MEMO_TEST == "second"
    same_tree(ours, composed(["name=b"], memo=False, config_dir=tmp_path))


def test_a_config_that_extends_its_search_path_is_composed_in_full_every_time(fresh_memo, tmp_path):
    """Its extra folder is not among those the memo watches: a kept tree could go stale unseen."""
    extra, config_dir = tmp_path / "extra", tmp_path / "configs"
    (extra / "more").mkdir(parents=True)
    (extra / "more" / "x.yaml").write_text("n: 1\n")
    config_dir.mkdir()
    (config_dir / "config.yaml").write_text(
        f"defaults:\n  - more: x\n  - _self_\nhydra:\n  searchpath: ['file://{extra}']\nname: a\n"
    )
    memo = Counting(config_dir)
    assert memo(["name=b"]).more.n == 1
    (extra / "more" / "x.yaml").write_text("n: 2\n")
    assert memo(["name=c"]).more.n == 2
    assert memo.hydra_calls == [[], ["name=b"], ["name=c"]]  # the choices once (then never kept), each call in full


def test_a_new_choice_reads_only_the_files_not_read_before_and_composes_hydras_tree(fresh_memo):
    composed(["tiling=utm"])
    read_before = {path for _, path in composition_memo._READS}
    ours = composed(["tiling=grid"])
    new = {path for _, path in composition_memo._READS} - read_before
    assert "tiling/grid" in new and "tiling/grid" not in read_before and len(new) < len(read_before) / 2
    same_tree(ours, hydras(("tiling=grid",)))


class FakeSource:
    def __init__(self, path: str) -> None:
        self.path = path

    def scheme(self) -> str:
        return "file"


class FakeRepository:
    def __init__(self, *paths: str) -> None:
        self.sources = [FakeSource(path) for path in paths]

    def get_sources(self) -> list:
        return self.sources


def test_a_read_is_kept_per_state_as_a_copy_and_not_once_the_sources_change(fresh_memo, monkeypatch):
    calls = []

    def load(repository, path):
        calls.append(path)
        return {"defaults": ["x"], "path": path}

    repository = FakeRepository("/configs")
    read = functools.partial(composition_memo.read_once, repository, "c", load)
    monkeypatch.setattr(composition_memo._COMPOSING, "checked", (("state",), composition_memo._sources(repository)))
    first = read()
    first.pop("defaults")  # as Hydra takes the defaults out of what it read
    assert read() == {"defaults": ["x"], "path": "c"} and calls == ["c"]  # kept, and the caller's change is not
    repository.sources.append(FakeSource("/extra"))  # a config extended the search path mid-composition
    read(), read()
    assert calls == ["c"] * 3
    monkeypatch.setattr(composition_memo._COMPOSING, "checked", (("changed",), composition_memo._sources(repository)))
    read(), read()
    assert calls == ["c"] * 4  # another state: read again, then kept under it
    monkeypatch.setattr(composition_memo._COMPOSING, "checked", None)
    read()
    assert calls == ["c"] * 5  # outside the memo's compositions: always read


def test_the_memo_keeps_a_bounded_number_of_reads(fresh_memo, monkeypatch):
    monkeypatch.setattr(composition_memo, "KEPT_READS", 3)
    composed(["tiling=utm"])
    assert len(composition_memo._READS) == 3
