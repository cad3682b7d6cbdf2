"""``geet download``: every option of the original, translated onto the same engine (in-process)."""

import csv

import pytest

from geetiles.cli.geet import main as geet
from geetiles.tiles import load_tiles
from tests.download.helpers import assert_chip_matches_server, credentials_file, dataset_dir, make_tiles
from tests.fake_ee.fixtures import fake_ee  # noqa: F401


@pytest.fixture
def setup(tmp_path, fake_ee, ray_session):  # noqa: F811
    return make_tiles(tmp_path), fake_ee, credentials_file(tmp_path, fake_ee)


SMALL_S2 = ["--dataset_def", "sentinel2-rgb-median-2020", "--pixels_lonlat", "[20,20]"]  # the quick chips


def run(tiles, server, credentials, *options):
    geet(
        ["download", "--tiles_file", str(tiles), "--ee_url", server.url, "--ee_credentials", str(credentials), *options]
    )


def test_download_with_the_originals_options(setup):
    tiles, server, credentials = setup
    run(
        tiles,
        server,
        credentials,
        "--dataset_def",
        "sentinel2-rgb-median-2020",
        "--pixels_lonlat",
        "[100,100]",
        "--skip_confirm",
        "--n_processes",
        "5",
        "--max_downloads",
        "4",
        "--shuffle",
        "--project",
        "my-project",
    )
    written = sorted(dataset_dir(tiles).glob("*.tif"))
    assert len(written) == 4 and server.max_in_flight <= 5
    for path in written:
        assert_chip_matches_server(path)
    # skip_if_exists: the four valid chips are not asked again
    server.reset_counters()
    run(
        tiles,
        server,
        credentials,
        "--gee_image_pycode",
        "sentinel2-rgb-median-2020",
        "--pixels_lonlat",
        "100,100",
        "--skip_confirm",
        "--skip_if_exists",
    )
    chips = load_tiles(tiles)
    assert server.compute_pixels_calls == 1 + len(chips) - 4


def test_meters_per_pixel_and_dataset_name(setup):
    tiles, server, credentials = setup
    run(
        tiles,
        server,
        credentials,
        "--dataset_def",
        "esa-world-cover",
        "--dataset_name",
        "landcover",
        "--meters_per_pixel",
        "20",
        "--skip_confirm",
        "--max_downloads",
        "2",
    )
    for path in dataset_dir(tiles, "landcover").glob("*.tif"):
        assert_chip_matches_server(path, bands=("Map",))


def test_aoi_filter_and_unknown_aoi(setup, capsys):
    tiles, server, credentials = setup
    run(
        tiles,
        server,
        credentials,
        *SMALL_S2,
        "--skip_confirm",
        "--aoi",
        "Luxembourg",
    )
    inside = len(list(dataset_dir(tiles).glob("*.tif")))
    assert 0 < inside <= len(load_tiles(tiles))
    with pytest.raises(SystemExit) as raised:
        run(
            tiles,
            server,
            credentials,
            *SMALL_S2,
            "--skip_confirm",
            "--aoi",
            "Atlantis",
        )
    assert raised.value.code == 2 and "Atlantis" in capsys.readouterr().err


def test_confirmation_is_asked_and_no_aborts(setup, monkeypatch, capsys):
    tiles, server, credentials = setup
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    with pytest.raises(SystemExit) as raised:
        run(tiles, server, credentials, *SMALL_S2)
    assert raised.value.code == 1 and "not confirmed" in capsys.readouterr().err
    assert server.compute_pixels_calls == 0 and not dataset_dir(tiles).exists()
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    run(
        tiles,
        server,
        credentials,
        *SMALL_S2,
        "--max_downloads",
        "1",
    )
    assert len(list(dataset_dir(tiles).glob("*.tif"))) == 1


@pytest.mark.parametrize(
    "options, fragment",
    [
        (["--pixels_lonlat", "[20,20]"], "--dataset_def"),
        (["--dataset_def", "sentinel2-rgb-median-2020"], "exactly one of --pixels_lonlat"),
        (["--dataset_def", "x", "--pixels_lonlat", "[20]"], "two positive integers"),
        (["--dataset_def", "nosuchdataset", "--pixels_lonlat", "[20,20]"], "neither a built-in dataset"),
        (
            ["--dataset_def", "sentinel2-rgb-median-2020", "--pixels_lonlat", "[20,20]", "--ee_auth_mode", "notebook"],
            "interactive",
        ),
    ],
)
def test_bad_options_are_one_line_exit_2(setup, capsys, options, fragment):
    tiles, server, credentials = setup
    with pytest.raises(SystemExit) as raised:
        run(tiles, server, credentials, "--skip_confirm", *options)
    err = capsys.readouterr().err.strip().splitlines()
    assert raised.value.code == 2 and len(err) == 1 and fragment in err[0]


def test_failed_chips_make_the_exit_status_non_zero(setup, capsys):
    from geetiles.download.grids import plan_grids

    tiles, server, credentials = setup
    chips = load_tiles(tiles)
    grid = plan_grids(chips, [20, 20], None)[2]
    server.fail_grid_keys = {(grid.crs, grid.transform[2], grid.transform[5], grid.width, grid.height)}
    with pytest.raises(SystemExit) as raised:
        run(
            tiles,
            server,
            credentials,
            *SMALL_S2,
            "--skip_confirm",
        )
    assert raised.value.code == 1
    assert "1 of" in capsys.readouterr().err
    with open(dataset_dir(tiles) / "failures.csv") as f:
        assert [r["identifier"] for r in csv.DictReader(f)] == [chips["identifier"][2]]
