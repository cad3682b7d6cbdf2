"""``geet``: the original's commands and options, on the same runner (in this process, and through the
installed console script in a child process for what only a process shows)."""

import pytest
import yaml

from tests.conftest import geet_cmd, run_cli
from tests.in_process import run_in_process


@pytest.mark.slow  # the installed console script, in a child process: exit status 0 after the fast exit
def test_grid_writes_the_originals_file_and_creates_dest_dir(workdir, luxembourg_wkt):
    args = [
        "grid",
        "--aoi_wkt_file",
        str(luxembourg_wkt),
        "--chip_size_meters",
        "1000",
        "--aoi_name",
        "lux",
        "--dest_dir",
        "new/dir",
    ]
    result = run_cli(geet_cmd(*args), workdir)
    assert result.returncode == 0, result.stderr
    out = workdir / "new" / "dir"
    assert sorted(p.name for p in out.iterdir()) == [
        "lux_partitions_aschips_14c55eb7d417f.geetiles.yaml",
        "lux_partitions_aschips_14c55eb7d417f.geojson",
        "lux_partitions_aschips_14c55eb7d417f.parquet",
    ]
    record = yaml.safe_load((out / "lux_partitions_aschips_14c55eb7d417f.geetiles.yaml").read_text())
    assert record["command"].startswith("geet grid --aoi_wkt_file")
    assert record["chips"] == 2774
    assert not (workdir / "outputs").exists()  # geet writes only where it is told


def bad_grid_options(luxembourg_wkt) -> list[tuple[list[str], str]]:
    """geet grid option lines that are refused, each with a fragment of its one-line message."""
    return [
        (
            [
                "grid",
                "--aoi_wkt_file",
                str(luxembourg_wkt),
                "--chip_size_meters",
                "abc",
                "--aoi_name",
                "lux",
                "--dest_dir",
                "d",
            ],
            "not a number",
        ),
        (
            [
                "grid",
                "--aoi_wkt_file",
                str(luxembourg_wkt),
                "--chip_size_meters",
                "-1",
                "--aoi_name",
                "lux",
                "--dest_dir",
                "d",
            ],
            "positive",
        ),
        (
            [
                "grid",
                "--aoi_wkt_file",
                str(luxembourg_wkt),
                "--chip_size_meters",
                "1000",
                "--aoi_name",
                "l_x",
                "--dest_dir",
                "d",
            ],
            "contains '_'",
        ),
        (
            [
                "grid",
                "--aoi_wkt_file",
                "nope.wkt",
                "--chip_size_meters",
                "1000",
                "--aoi_name",
                "lux",
                "--dest_dir",
                "d",
            ],
            "no such file",
        ),
        (["grid", "--chip_size_meters", "1000"], "required"),
        (["nosuchcommand"], "invalid choice"),
    ]


@pytest.mark.slow  # in child processes: one line on the real stderr and exit status 2, through the console script
def test_grid_bad_options_are_one_line_exit_2_through_the_console_script(workdir, luxembourg_wkt):
    cases = bad_grid_options(luxembourg_wkt)
    for args, fragment in (cases[0], cases[-1]):  # refused by geet's checks, and by argparse
        result = run_cli(geet_cmd(*args), workdir)
        assert result.returncode == 2, args
        assert len(result.stderr.strip().splitlines()) == 1 and fragment in result.stderr, result.stderr
        assert not (workdir / "d").exists()


def test_grid_bad_options_are_one_line_exit_2(workdir, luxembourg_wkt):
    for args, fragment in bad_grid_options(luxembourg_wkt):
        result = run_in_process(geet_cmd(*args), workdir)
        assert result.returncode == 2, args
        assert len(result.stderr.strip().splitlines()) == 1 and fragment in result.stderr, result.stderr
        assert not (workdir / "d").exists()


def test_aois_showall_and_extract(workdir):
    listing = run_in_process(geet_cmd("aois", "--showall"), workdir)
    assert listing.returncode == 0 and "LUX  Luxembourg" in listing.stdout
    extract = run_in_process(geet_cmd("aois", "--extract", "luxembourg", "--dest_dir", "aois"), workdir)
    assert extract.returncode == 0, extract.stderr
    wkt = (workdir / "aois" / "luxembourg.wkt").read_text()
    assert wkt.startswith("POLYGON")
    # the extracted file feeds `geet grid` directly
    grid = run_in_process(
        geet_cmd(
            "grid",
            "--aoi_wkt_file",
            "aois/luxembourg.wkt",
            "--chip_size_meters",
            "5000",
            "--aoi_name",
            "lux",
            "--dest_dir",
            "g",
        ),
        workdir,
    )
    assert grid.returncode == 0, grid.stderr
    unknown = run_in_process(geet_cmd("aois", "--extract", "Atlantis"), workdir)
    assert unknown.returncode == 2 and "Atlantis" in unknown.stderr


def test_help_lists_existing_commands(workdir):
    result = run_in_process(geet_cmd("--help"), workdir)
    assert result.returncode == 0
    assert "grid" in result.stdout and "aois" in result.stdout


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (
            [
                "split",
                "--tiles_file",
                "t.geojson",
                "--nbands",
                "8",
                "--angle",
                "0",
                "--train_pct",
                "nan",
                "--test_pct",
                ".3",
                "--val_pct",
                ".2",
            ],
            "argument --train_pct: 'nan' is NaN (not a number)",
        ),
        (
            [
                "split",
                "--tiles_file",
                "t.geojson",
                "--nbands",
                "8",
                "--angle",
                "inf",
                "--train_pct",
                ".5",
                "--test_pct",
                ".3",
                "--val_pct",
                ".2",
            ],
            "argument --angle: 'inf' is infinite",
        ),
        (
            ["grid", "--aoi_wkt_file", "a.wkt", "--chip_size_meters", "nan", "--aoi_name", "a", "--dest_dir", "d"],
            "argument --chip_size_meters: 'nan' is NaN",
        ),
    ],
)
def test_nan_and_infinite_options_are_named_so(workdir, capsys, argv, fragment):
    from geetiles.cli.geet import main

    with pytest.raises(SystemExit) as ended:
        main(argv)
    assert ended.value.code == 2
    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()
    assert fragment in line and "Traceback" not in captured.out + captured.err
    assert not (workdir / "d").exists()
