"""``geet``'s fast start: the cached composition must be Hydra's composition, value for value."""

from __future__ import annotations

import shutil

import pytest
from omegaconf import OmegaConf

from geetiles.cli import compose as compose_module
from geetiles.cli.compose import compose, compose_cached, quote

ODD_PATH = "/data/my aoi, v2/it's=here\\x ${oc.env:HOME}.wkt"

OVERRIDES = [
    # geet grid, with awkward values (spaces, comma, quote, '=', backslash, an interpolation)
    ["aoi=wkt", f"aoi.wkt_file={quote(ODD_PATH)}", f"aoi.name={quote('lux')}", "tiling=grid", "tiling.chip_size_m=1000",
     f"data_dir={quote('out dir')}", "stages=[tiling]"],
    ["aoi=wkt", "aoi.wkt_file='a.wkt'", "aoi.name='x'", "tiling=grid", "tiling.chip_size_m=2500.5", "data_dir='d'",
     "stages=[tiling]"],
    # other commands' shapes: another tiling group, booleans, lists, the download stage
    ["aoi=wkt", "aoi.wkt_file='a.wkt'", "aoi.name='x'", "tiling=utm", "tiling.chip_size_m=2000", "stages=[aoi,tiling]"],
    ["stages=[download]", "source=custom", "labels=none", "source.dataset='s2rgb-2020'", "download.tiles_file='t.geojson'",
     "download.skip_if_exists=True", "download.shuffle=False", "ee.credentials='none'", "download.max_downloads=5"],
    ["+tiling.extra=1", "aoi=wkt"],  # not a plain override: Hydra's path, same result
    [],
]


def _same(a, b) -> None:
    assert OmegaConf.to_container(a) == OmegaConf.to_container(b)
    assert OmegaConf.to_yaml(a) == OmegaConf.to_yaml(b)
    assert OmegaConf.to_object(a) == OmegaConf.to_object(b)
    assert OmegaConf.is_struct(a) == OmegaConf.is_struct(b)


@pytest.mark.parametrize("overrides", OVERRIDES, ids=range(len(OVERRIDES)))
def test_cached_composition_is_hydras(overrides, tmp_path, monkeypatch):
    monkeypatch.setenv("GEETILES_CACHE_DIR", str(tmp_path))
    expected = compose(overrides)
    _same(compose_cached(overrides), expected)  # composes and fills the cache
    plain = not any(o.startswith(("+", "~")) for o in overrides)
    assert len(list(tmp_path.glob("compose-*.pickle"))) == (1 if plain else 0)
    _same(compose_cached(overrides), expected)  # from the cache


def test_every_geet_grid_shares_one_cache_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("GEETILES_CACHE_DIR", str(tmp_path))
    for size, name in ((1000, "a"), (5000, "b"), (250, "c")):
        overrides = ["aoi=wkt", f"aoi.wkt_file='{name}.wkt'", f"aoi.name='{name}'", "tiling=grid",
                     f"tiling.chip_size_m={size}", f"data_dir='{name}'", "stages=[tiling]"]
        cfg = compose_cached(overrides)
        assert (cfg.aoi.name, cfg.tiling.chip_size_m, cfg.data_dir) == (name, size, name)
    assert len(list(tmp_path.glob("compose-*.pickle"))) == 1


@pytest.mark.parametrize("overrides", [
    ["tiling.chip_size_m=abc"],  # a value of the wrong type
    ["tiling.no_such_key=1"],  # an unknown key
    ["tiling=nosuchtiling"],  # an unknown group option
    ["tiling.chip_size_m=[1,"],  # not even an override
    ["~tiling.no_such_key"],  # not a plain override: Hydra's path
])
def test_errors_are_hydras_errors(overrides, tmp_path, monkeypatch):
    monkeypatch.setenv("GEETILES_CACHE_DIR", str(tmp_path))
    with pytest.raises(Exception) as hydra_error:
        compose(overrides)
    with pytest.raises(Exception) as cached_error:
        compose_cached(overrides)
    assert type(cached_error.value) is type(hydra_error.value)
    assert str(cached_error.value) == str(hydra_error.value)


def test_cache_can_be_turned_off_and_survives_a_corrupt_entry(tmp_path, monkeypatch):
    overrides = ["aoi=wkt", "aoi.wkt_file='a.wkt'", "tiling=grid"]
    monkeypatch.setenv("GEETILES_CACHE_DIR", "")
    assert compose_module.cache_dir() is None
    _same(compose_cached(overrides), compose(overrides))
    monkeypatch.setenv("GEETILES_CACHE_DIR", str(tmp_path))
    compose_cached(overrides)
    [entry] = tmp_path.glob("compose-*.pickle")
    entry.write_bytes(b"not a pickle")
    _same(compose_cached(overrides), compose(overrides))


def test_key_follows_the_config_files(tmp_path, monkeypatch):
    conf = tmp_path / "geetiles" / "conf"
    shutil.copytree(compose_module._CONF, conf)
    shutil.copy(compose_module._CONF.parent / "config.py", conf.parent / "config.py")
    monkeypatch.setattr(compose_module, "_CONF", conf)
    before = compose_module._cache_key(["tiling=grid"])
    assert compose_module._cache_key(["tiling=utm"]) != before
    (conf / "tiling" / "grid.yaml").write_text((conf / "tiling" / "grid.yaml").read_text() + "\n# edited\n")
    assert compose_module._cache_key(["tiling=grid"]) != before


PLAIN = [
    "aoi=wkt", "tiling=grid", "tiling.chip_size_m=1000", "tiling.chip_size_m=2500.5", "tiling.chip_size_m=1e+20",
    "tiling.chip_size_m=0.001", "tiling.chip_size_m=1.", "tiling.chip_size_m=.5", "tiling.chip_size_m=-3",
    "tiling.seed=0", "download.shuffle=True", "download.shuffle=false", "source.name=null", "x=inf", "x=-NaN",
    "stages=[tiling]", "stages=[aoi,tiling,download]", "stages=[]", "download.groups=['a','b c']", "x=[1,2.5,true,null]",
    f"aoi.wkt_file={quote('/data/my aoi, v2/here.wkt')}", f"aoi.name={quote('lux')}", "aoi.name=''",
    "x=" + quote('a=b:c,d[e]{f} (g) "h" é'), "source.dataset=s2rgb-2020", "a-b.c_d=x_y-z",
]
NOT_PLAIN = [  # each must be left to Hydra's parser
    f"aoi.wkt_file={quote(ODD_PATH)}", "x='it\\'s'", "x='${oc.env:HOME}'", "x=a b", "x=1_000", "x=01", "x=[a, b]",
    "x=[[a]]", "x={a:1}", "x=a,b", "+x=1", "~x", "x@y=1", "hydra/launcher=basic", "x=", "x=/abs/path", "x=\"dq\"",
    "x=choice(a,b)", "x=${y}", "1x=2",
]


@pytest.mark.parametrize("line", PLAIN)
def test_plain_overrides_read_as_hydra_reads_them(line):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    [override] = OverridesParser.create().parse_overrides([line])
    [(_, key, value)] = compose_module._parse_plain([line])
    assert key == override.key_or_group
    expected = override.value()
    assert value == expected or (value != value and expected != expected)  # nan
    assert type(value) is type(expected)
    if isinstance(value, list):
        assert [type(v) for v in value] == [type(v) for v in expected]


@pytest.mark.parametrize("line", NOT_PLAIN)
def test_other_overrides_are_left_to_hydra(line):
    assert compose_module._parse_plain([line]) is None


def test_geet_grid_needs_no_hydra_on_a_cache_hit(tmp_path):
    """With the composition cached, reading geet grid's overrides loads neither Hydra nor its parser."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from geetiles.cli.compose import _split_overrides\n"
        f"print(_split_overrides(['aoi=wkt', \"aoi.wkt_file='a b.wkt'\", \"aoi.name='lux'\", 'tiling=grid', "
        "'tiling.chip_size_m=1000', \"data_dir='out'\", 'stages=[tiling]']))\n"
        "print('hydra' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    assert lines[0] == ("(['aoi=wkt', 'tiling=grid'], [('aoi.wkt_file', 'a b.wkt'), ('aoi.name', 'lux'), "
                        "('tiling.chip_size_m', 1000), ('data_dir', 'out'), ('stages', ['tiling'])])")
    assert lines[1] == "False"
