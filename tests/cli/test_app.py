"""``python -m geetiles`` as a user runs it, from a fresh folder: in this process (``run_in_process``), and in a
child process (``run_cli``) where what a process alone shows is under test."""

import pytest
import yaml

from geetiles import __version__
from tests.conftest import files_under, geetiles_cmd, run_cli
from tests.in_process import run_in_process, run_main


def tiles_files(root):
    return sorted((root / "outputs" / "data").glob("*_partitions_*.geojson"))


def test_default_experiment_writes_tiles_aoi_and_records(workdir):
    result = run_in_process(geetiles_cmd("stages=[aoi,tiling]"), workdir)
    assert result.returncode == 0, result.stderr
    [tiles] = tiles_files(workdir)
    assert tiles.name.startswith("lux_partitions_aschips_")
    assert tiles.with_suffix(".parquet").exists()
    assert (workdir / "outputs" / "data" / "lux.wkt").exists()
    record = yaml.safe_load(tiles.with_name(tiles.stem + ".geetiles.yaml").read_text())
    assert record["geetiles_version"] == __version__
    assert record["command"] == "python -m geetiles 'stages=[aoi,tiling]'"
    assert {k: record["config"]["tiling"][k] for k in ("kind", "chip_size_m", "max_chips")} == {
        "kind": "grid",
        "chip_size_m": 1000.0,
        "max_chips": 20_000_000,
    }
    assert record["config"]["foreign"]["kind"] == "none" and record["config"]["split"]["kind"] == "blocks"
    assert record["config"]["aoi"]["country"] == "Luxembourg"
    assert "hydra" not in record["config"]
    assert list((workdir / "outputs" / "runs").glob("*/*/.hydra/config.yaml"))


def test_luxembourg_wkt_gives_the_originals_file(workdir, luxembourg_wkt):
    result = run_in_process(
        geetiles_cmd("aoi=wkt", f"aoi.wkt_file={luxembourg_wkt}", "aoi.name=lux", "data_dir=out", "stages=[tiling]"),
        workdir,
    )
    assert result.returncode == 0, result.stderr
    assert (workdir / "out" / "lux_partitions_aschips_14c55eb7d417f.geojson").exists()


def test_multirun_writes_one_tiles_file_per_value_each_with_its_record(workdir):
    result = run_in_process(geetiles_cmd("-m", "tiling.chip_size_m=2000,5000", "stages=[tiling]"), workdir)
    assert result.returncode == 0, result.stderr
    files = tiles_files(workdir)
    assert len(files) == 2
    sizes = sorted(
        yaml.safe_load(f.with_name(f.stem + ".geetiles.yaml").read_text())["config"]["tiling"]["chip_size_m"]
        for f in files
    )
    assert sizes == [2000.0, 5000.0]
    assert len(list((workdir / "outputs" / "multirun").glob("*/*/*/.hydra"))) == 2


def test_experiment_from_a_users_config_dir(workdir):
    (workdir / "my_configs" / "experiment").mkdir(parents=True)
    (workdir / "my_configs" / "aoi").mkdir()
    (workdir / "my_configs" / "aoi" / "valley.yaml").write_text("name: valley\nbbox: [6.0, 49.6, 6.2, 49.8]\n")
    (workdir / "my_configs" / "experiment" / "valley-utm.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /aoi: valley\n  - override /tiling: utm\n"
        "  - override /source: none\n  - override /labels: none\n"
        "tiling:\n  chip_size_m: 2500\ndata_dir: datasets\n"
    )
    result = run_in_process(geetiles_cmd("--config-dir", "my_configs", "experiment=valley-utm"), workdir)
    assert result.returncode == 0, result.stderr
    [tiles] = (workdir / "datasets").glob("valley_partitions_utmchips_*.geojson")
    record = yaml.safe_load(tiles.with_name(tiles.stem + ".geetiles.yaml").read_text())
    assert record["config"]["tiling"]["chip_size_m"] == 2500.0
    assert record["config"]["aoi"]["bbox"] == [6.0, 49.6, 6.2, 49.8]


def isolated_home(workdir):
    """No Earth Engine or gcloud credentials, whatever the machine running the tests has."""
    home = workdir / "home"
    home.mkdir()
    return {"HOME": str(home), "CLOUDSDK_CONFIG": str(home / "gcloud"), "GOOGLE_APPLICATION_CREDENTIALS": ""}


@pytest.mark.slow  # a child process: exit status 2 and one line on its stderr after two stages ran (fast exit)
def test_default_experiment_is_the_originals_example_and_needs_earth_engine(workdir):
    result = run_cli(geetiles_cmd("ee.project=some-project"), workdir, env=isolated_home(workdir))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "no Earth Engine credentials found" in line and "experiment=demo" in line
    [tiles] = tiles_files(workdir)  # the stages before the download ran and are complete
    record = yaml.safe_load(tiles.with_name(tiles.stem + ".geetiles.yaml").read_text())
    assert record["config"]["source"]["dataset"] == "sentinel2-rgb-median-2020"
    assert record["config"]["labels"]["dataset"] == "esa-world-cover"
    assert record["config"]["source"]["pixels_lonlat"] == [100, 100]


@pytest.mark.long
@pytest.mark.slow  # the README's command as typed, in a child process that starts its own Ray
def test_quickstart_runs_the_example_offline_with_demo_sources(workdir):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = re.search(r"## Quickstart\n.*?```bash\n(.*?)```", readme, re.S).group(1)
    [command] = [line for line in block.splitlines() if line.startswith("python -m geetiles")]
    result = run_cli(geetiles_cmd(*command.split()[3:]), workdir, timeout=300, env=isolated_home(workdir))
    assert result.returncode == 0, result.stderr[-2000:]
    [tiles] = tiles_files(workdir)
    chips = yaml.safe_load(tiles.with_name(tiles.stem + ".geetiles.yaml").read_text())["chips"]
    for dataset in ("demo-imagery", "demo-landcover"):
        folder = tiles.with_suffix("") / dataset
        assert len(list(folder.glob("*.tif"))) == chips
        assert (folder / "manifest.geetiles.yaml").exists()
    assert "SYNTHETIC" in result.stdout + result.stderr  # the demo says so in the log


def test_help_lists_groups_quickly(workdir):
    result = run_in_process(geetiles_cmd("--help"), workdir)
    assert result.returncode == 0
    assert "tiling: grid, majortom, random, select, utm" in result.stdout
    assert "foreign: file, grid, none, random, select, utm" in result.stdout
    assert not (workdir / "outputs").exists()


BAD_INPUTS = [
    (["tiling.chip_size_m=abc"], "tiling.chip_size_m"),
    (["tiling.chip_size_m=-5"], "must be a positive number"),
    (["tiling.chip_size_m=0"], "must be a positive number"),
    (["tiling.chp_size_m=5"], "chp_size_m"),
    (["tiling=hexagons"], "hexagons"),
    (["tiling.kind=hex"], "tiling.kind"),
    (["aoi.name=my_lux"], "contains '_'"),
    (["aoi.name=luxpartitions"], "contains 'partitions'"),
    (["aoi=wkt", "aoi.wkt_file=bad.wkt"], "not valid WKT"),
    (["aoi=wkt", "aoi.wkt_file=missing.wkt"], "no such file"),
    (["aoi=wkt"], "no AOI given"),
    (["aoi=bbox", "aoi.bbox=[5,120,6,121]"], "look like lat/lon"),
    (["aoi=bbox", "aoi.bbox=[185,10,186,11]"], "outside lon/lat range"),
    (["aoi.country=Atlantis"], "Atlantis"),
    (["aoi.bbox=[6.0,49.6,6.2,49.8]"], "several AOI sources"),
    (["stages=[zip]"], "stages"),
    (["source=nosuchsource"], "nosuchsource"),
    (["download.max_in_flight=many"], "download.max_in_flight"),
    (["download.coalesce=sometimes"], "download.coalesce='sometimes' is not auto, off or a block side"),
    (["download.coalesce=-5"], "download.coalesce='-5' is not auto, off or a block side"),
    (["download.coalesce=2.5"], "download.coalesce='2.5' is not auto, off or a block side"),
    (["source.recipe.reducer=middle"], "reducer"),
    (["labels.recipe.dtype=uint12"], "dtype"),
    (["source=s1grdm", "source.recipe.orbit=sideways"], "source.recipe.orbit"),
    (["source=s1grdm", "source.recipe.orbit=null"], "set recipe.orbit to asc or des"),  # before the tiling runs
    (["labels=firecci51", "labels.recipe.stack=none"], "recipe.years needs stack: yearly"),
    (["labels.recipe.remap={10:1}"], "add entries with a ++ prefix, e.g. ++labels.recipe.remap="),
]


@pytest.mark.parametrize("args, fragment", BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(workdir, args, fragment):
    (workdir / "bad.wkt").write_text("POLYGON ((6 49, 7 49")
    result = run_in_process(geetiles_cmd(*args), workdir)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("geetiles: error: "), result.stderr
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert files_under(workdir / "outputs") == []


def test_typo_inside_a_users_experiment_file_fails_at_start(workdir):
    (workdir / "conf" / "experiment").mkdir(parents=True)
    (workdir / "conf" / "experiment" / "typo.yaml").write_text("# @package _global_\ntiling:\n  chipsize: 5\n")
    result = run_in_process(geetiles_cmd("--config-dir", "conf", "experiment=typo"), workdir)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "chipsize" in result.stderr
    assert files_under(workdir / "outputs") == []


@pytest.mark.long
def test_readme_experiment_example_runs_verbatim(workdir, ray_session):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    body = re.search(r"Save this as `(my_configs/experiment/[\w-]+\.yaml)`.*?```yaml\n(.*?)```", readme, re.S)
    path = workdir / body.group(1)
    path.parent.mkdir(parents=True)
    path.write_text(body.group(2))
    command = re.search(r"```bash\n(python -m geetiles --config-dir [^\n]+)\n```", readme).group(1).split()
    result = run_in_process(geetiles_cmd(*command[3:]), workdir)
    assert result.returncode == 0, result.stderr
    assert list((workdir / "datasets").glob(f"{path.stem.split('-')[0]}_partitions_utmchips_*.geojson"))


RING_THE_LONG_WAY = "POLYGON ((179 0, -179 0, -179 1, 179 1, 179 0))"  # meant: 2° across the antimeridian
DEGENERATE = [  # issue 21: each ran for minutes, or was refused with the wrong reason
    (
        ["aoi=bbox", "aoi.bbox=[-180,-85,180,85]", "tiling=random", "tiling.max_size_m=10"],
        "tiling=random cuts the AOI in one UTM zone",
        "spans all 360° of longitude",
    ),
    (
        ["aoi=bbox", "aoi.bbox=[-180,-85,180,85]", "tiling=grid"],
        "gives no chips with tiling=grid (grid, 1000 m chips): 0.1.7's grid projects the whole AOI into one UTM zone",
        "",
    ),
    (
        ["aoi=wkt", "aoi.wkt_file=ring.wkt", "tiling=utm", "tiling.max_chips=1000000"],
        "candidate chips, more than tiling.max_chips=1,000,000",
        "spans 358° of longitude (-179 eastwards to 179)",
    ),
    (["aoi=bbox", "aoi.bbox=[175,-20,-175,-10]", "tiling=random"], "cannot cut across the antimeridian", ""),
    (["split.fractions=[nan,0.5,0.5]"], "split.fractions[0]=nan is NaN (not a number); give train, val, test", ""),
    (["split.fractions=[0.5,inf,0.5]"], "split.fractions[1]=inf is infinite", ""),
    (["tiling=random", "tiling.max_size_m=nan"], "tiling.max_size_m=nan is NaN (not a number)", ""),
    (["tiling.chip_size_m=inf"], "tiling.chip_size_m=inf is infinite", ""),
    (["download.max_requests_per_s=inf"], "download.max_requests_per_s=inf is infinite", ""),
    (["export.shard_size_mb=nan"], "export.shard_size_mb=nan is NaN", ""),
    (["split=blocks", "split.block_size_m=-inf"], "split.block_size_m=-inf is infinite", ""),
]


@pytest.mark.parametrize("args, fragment, warning", DEGENERATE, ids=[" ".join(a) for a, _, _ in DEGENERATE])
def test_degenerate_input_is_one_line_exit_2_in_seconds(workdir, capsys, args, fragment, warning):
    (workdir / "ring.wkt").write_text(RING_THE_LONG_WAY)
    status, out, err, seconds = run_main(capsys, *args, "data_dir=out", "stages=[tiling]")
    assert status == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("geetiles: error: ") and fragment in lines[0], err
    assert "smaller size" not in lines[0]
    assert warning in out
    assert "Traceback" not in out + err
    assert seconds < 10
    assert files_under(workdir / "out") == []


def test_a_ring_drawn_the_long_way_is_tiled_with_a_warning_and_its_bbox_advice_works(workdir, capsys):
    (workdir / "ring.wkt").write_text("POLYGON ((179 0, -179 0, -179 0.05, 179 0.05, 179 0))")
    status, out, err, _ = run_main(
        capsys, "aoi=wkt", "aoi.wkt_file=ring.wkt", "tiling=majortom", "data_dir=long", "stages=[tiling]"
    )
    assert status == 0, err
    assert "the AOI spans 358° of longitude" in out and "aoi.bbox=[179,0,-179,0.05]" in out
    advice = out.split("e.g. ")[1].split(",", 4)
    status, out, err, _ = run_main(
        capsys, "aoi=bbox", ",".join(advice[:4]), "tiling=majortom", "data_dir=short", "stages=[tiling]"
    )
    assert status == 0, err
    assert "spans" not in out
    long_chips = yaml.safe_load(next((workdir / "long").glob("*.geetiles.yaml")).read_text())["chips"]
    short_chips = yaml.safe_load(next((workdir / "short").glob("*.geetiles.yaml")).read_text())["chips"]
    assert 0 < 100 * short_chips < long_chips  # 2° of cells instead of 358°
