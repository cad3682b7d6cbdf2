"""The download engine end to end, in-process, against the fake Earth Engine server, on the
session's local Ray: georeferencing, quotas, retries, splitting, failures, resume."""

import csv

import numpy as np
import pytest
import rasterio
import yaml

from geetiles.download.grids import plan_grids
from geetiles.errors import RunFailed, UserInputError
from geetiles.tiles import load_tiles
from tests.download.helpers import assert_chip_matches_server, credentials_file, dataset_dir, download, make_tiles
from tests.fake_ee.fixtures import fake_ee  # noqa: F401
from tests.fake_ee.pixels import pixel_values


@pytest.fixture
def setup(tmp_path, fake_ee, ray_session):  # noqa: F811
    return tmp_path, fake_ee, credentials_file(tmp_path, fake_ee)


def manifest_rows(directory):
    with open(directory / "manifest.csv") as f:
        return {row["identifier"]: row for row in csv.DictReader(f)}


def test_every_chip_is_georeferenced_and_has_the_servers_pixels(setup):
    folder, server, credentials = setup
    tiles = make_tiles(folder)
    download(tiles, server, credentials, "download.max_in_flight=7")
    chips = load_tiles(tiles)
    directory = dataset_dir(tiles)
    grids = plan_grids(chips, [100, 100], None)
    for identifier, grid in zip(chips["identifier"], grids):
        path = directory / f"{identifier}.tif"
        with rasterio.open(path) as chip:
            assert (chip.width, chip.height) == (100, 100)
            assert chip.crs.to_epsg() == 4326
            assert tuple(chip.transform)[:6] == grid.transform  # exactly the requested grid
            assert chip.nodata == 0 and chip.profile["tiled"] and chip.profile["compress"] == "deflate"
        assert_chip_matches_server(path)
    rows = manifest_rows(directory)
    assert set(rows) == set(chips["identifier"]) and {r["status"] for r in rows.values()} == {"done"}
    assert server.max_in_flight <= 7
    assert (directory / "manifest.geetiles.yaml").exists()
    assert (directory / "failures.csv").read_text().strip() == "identifier,attempts,error"


def test_utm_chips_are_requested_in_their_zone_with_square_pixels(setup):
    folder, server, credentials = setup
    tiles = make_tiles(folder, (5.95, 49.6, 6.05, 49.65), "tiling=utm", "tiling.chip_size_m=1000")
    download(tiles, server, credentials, "source.pixels_lonlat=null", "source.meters_per_pixel=10")
    chips = load_tiles(tiles)
    assert set(chips["epsg"]) == {32631, 32632}
    for identifier, epsg, x, y in zip(chips["identifier"], chips["epsg"], chips["utm_x"], chips["utm_y"]):
        path = dataset_dir(tiles) / f"{identifier}.tif"
        with rasterio.open(path) as chip:
            assert chip.crs.to_epsg() == epsg
            assert tuple(chip.transform)[:6] == (10.0, 0.0, x, 0.0, -10.0, y + 1000.0)
            assert (chip.width, chip.height) == (100, 100)
        assert_chip_matches_server(path)


def test_injected_429_and_503_are_retried_until_every_chip_is_delivered(setup):
    folder, server, credentials = setup
    tiles = make_tiles(folder)
    server.error_rate = 0.3
    context = download(tiles, server, credentials)
    chips = load_tiles(tiles)
    rows = manifest_rows(dataset_dir(tiles))
    assert {r["status"] for r in rows.values()} == {"done"} and len(rows) == len(chips)
    assert server.errors_injected > 0
    attempts = sum(int(r["attempts"]) for r in rows.values())
    probe_errors = server.compute_pixels_calls - attempts - 1  # the probe retries too, then succeeds once
    retried = attempts - len(rows)
    assert retried + probe_errors == server.errors_injected  # every injected error was a counted retry
    record = yaml.safe_load((dataset_dir(tiles) / "manifest.geetiles.yaml").read_text())
    assert record["summary"]["retries"] == retried and record["summary"]["failed"] == 0
    for identifier in chips["identifier"]:
        assert_chip_matches_server(dataset_dir(tiles) / f"{identifier}.tif")
    assert context.outputs[-1] == dataset_dir(tiles)


def test_oversize_chips_are_split_and_stitched(setup):
    folder, server, credentials = setup
    tiles = make_tiles(folder, (6.0, 49.6, 6.03, 49.62))
    server.max_request_bytes = 100 * 100 * 6 // 3  # a third of a 100x100 3-band uint8 chip
    # the engine's own limit is higher, so the first split comes from the server's 400
    download(tiles, server, credentials)
    chips = load_tiles(tiles)
    for identifier in chips["identifier"]:
        assert_chip_matches_server(dataset_dir(tiles) / f"{identifier}.tif")
    sizes = {(w, h) for (_, _, _, w, h) in server.calls_by_grid}
    assert (100, 100) not in sizes and max(w * h for w, h in sizes) * 6 <= server.max_request_bytes


def test_engine_splits_before_sending_when_its_limit_says_so(setup):
    folder, server, credentials = setup
    tiles = make_tiles(folder, (6.0, 49.6, 6.03, 49.62))
    download(
        tiles,
        server,
        credentials,
        f"download.max_request_bytes={100 * 100 * 6 // 4}",
        "download.max_pixels_per_side=60",
    )
    assert server.compute_pixels_calls == sum(server.calls_by_grid.values())  # no 400 was needed
    assert all(w <= 60 and h <= 60 for (_, _, _, w, h) in server.calls_by_grid)
    for identifier in load_tiles(tiles)["identifier"]:
        assert_chip_matches_server(dataset_dir(tiles) / f"{identifier}.tif")


def test_deterministic_400_fails_the_chip_once_with_the_servers_message(setup):
    folder, server, credentials = setup
    tiles = make_tiles(folder)
    chips = load_tiles(tiles)
    grids = plan_grids(chips, [100, 100], None)
    bad = {chips["identifier"][1]: grids[1], chips["identifier"][3]: grids[3]}
    server.fail_grid_keys = {(g.crs, g.transform[2], g.transform[5], g.width, g.height) for g in bad.values()}
    with pytest.raises(RunFailed, match="2 of .* chips failed"):
        download(tiles, server, credentials)
    directory = dataset_dir(tiles)
    rows = manifest_rows(directory)
    for identifier in bad:
        assert rows[identifier]["status"] == "failed" and rows[identifier]["attempts"] == "1"
        assert "User memory limit exceeded" in rows[identifier]["error"]
        assert not (directory / f"{identifier}.tif").exists()
    with open(directory / "failures.csv") as f:
        assert {r["identifier"] for r in csv.DictReader(f)} == set(bad)
    assert sum(1 for r in rows.values() if r["status"] == "done") == len(chips) - 2


def test_resume_sends_no_request_for_valid_chips_and_refetches_corrupt_ones(setup):
    folder, server, credentials = setup
    tiles = make_tiles(folder)
    download(tiles, server, credentials)
    directory = dataset_dir(tiles)
    chips = load_tiles(tiles)
    server.reset_counters()
    download(tiles, server, credentials)
    assert server.compute_pixels_calls == 1  # the probe only
    victims = list(chips["identifier"][:3])
    (directory / f"{victims[0]}.tif").write_bytes((directory / f"{victims[0]}.tif").read_bytes()[:500])  # truncated
    (directory / f"{victims[1]}.tif").unlink()  # missing
    victim = directory / f"{victims[2]}.tif"
    with rasterio.open(victim, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as chip:  # rewritten in place: not as requested
        chip.transform = rasterio.Affine(0.5, 0, 0, 0, -0.5, 0)
    server.reset_counters()
    download(tiles, server, credentials)
    assert server.compute_pixels_calls == 1 + 3
    for identifier in victims:
        assert_chip_matches_server(directory / f"{identifier}.tif")


def test_without_manifest_existing_files_are_still_validated_not_refetched(setup):
    folder, server, credentials = setup
    tiles = make_tiles(folder)
    download(tiles, server, credentials)
    (dataset_dir(tiles) / "manifest.csv").unlink()
    server.reset_counters()
    download(tiles, server, credentials)
    assert server.compute_pixels_calls == 1


def test_driver_writes_when_workers_have_no_shared_disk(setup):
    folder, server, credentials = setup
    tiles = make_tiles(folder)
    download(tiles, server, credentials, "download.write_on=driver")
    for identifier in load_tiles(tiles)["identifier"]:
        assert_chip_matches_server(dataset_dir(tiles) / f"{identifier}.tif")


def test_irregular_chips_are_nodata_outside_their_polygon(setup):
    import geopandas as gpd
    import shapely

    from geetiles.tiles import write_tiles

    folder, server, credentials = setup
    triangle = shapely.Polygon([(6.0, 49.6), (6.02, 49.6), (6.0, 49.62)])
    frame = gpd.GeoDataFrame({"identifier": ["0000000000abc"], "area_km2": [1.0]}, geometry=[triangle], crs=4326)
    tiles = write_tiles(frame, folder / "tri_partitions_communes_0000000000abc.geojson")
    download(tiles, server, credentials)
    with rasterio.open(dataset_dir(tiles) / "0000000000abc.tif") as chip:
        pixels = chip.read(1)
        transform = tuple(chip.transform)[:6]
    rows, cols = np.mgrid[0:100, 0:100]
    lon = transform[2] + (cols + 0.5) * transform[0]
    lat = transform[5] + (rows + 0.5) * transform[4]
    position = (lon - 6.0) / 0.02 + (lat - 49.6) / 0.02  # < 1 inside the triangle; centres on the edge are ties
    inside, outside = position < 0.99, position > 1.01
    expected = pixel_values("EPSG:4326", transform, 100, 100, 0, np.dtype("uint8"))
    assert (pixels[outside] == 0).all()
    assert np.array_equal(pixels[inside], expected[inside])
    assert 0.4 < inside.mean() < 0.6


def test_max_downloads_shuffle_and_groups(setup):
    import geopandas as gpd

    from geetiles.tiles import write_tiles

    folder, server, credentials = setup
    tiles = make_tiles(folder)
    chips = load_tiles(tiles)
    chips["group"] = ["a" if i % 2 else "b" for i in range(len(chips))]
    write_tiles(gpd.GeoDataFrame(chips, crs=4326), tiles)
    download(
        tiles,
        server,
        credentials,
        "download.groups=[a]",
        "download.max_downloads=3",
        "download.shuffle=true",
        "download.seed=5",
    )
    written = {p.stem for p in dataset_dir(tiles).glob("*.tif")}
    in_a = set(chips.loc[chips["group"] == "a", "identifier"])
    assert len(written) == 3 and written <= in_a
    first_three = set(list(chips.loc[chips["group"] == "a", "identifier"])[:3])
    assert written != first_three  # shuffled (seeded: same seed, same choice)
    with pytest.raises(UserInputError, match="no 'group' column"):
        download(make_tiles(folder / "other"), server, credentials, "download.groups=[a]")


def test_max_downloads_takes_the_next_chips_in_file_order(setup):
    """Without shuffle, max_downloads=N fetches the first N chips still missing, in the tiles
    file's order: a second run continues where the first stopped."""
    folder, server, credentials = setup
    tiles = make_tiles(folder)
    order = list(load_tiles(tiles)["identifier"])
    download(tiles, server, credentials, "download.max_downloads=3")
    assert {p.stem for p in dataset_dir(tiles).glob("*.tif")} == set(order[:3])
    download(tiles, server, credentials, "download.max_downloads=3")
    assert {p.stem for p in dataset_dir(tiles).glob("*.tif")} == set(order[:6])


def test_unknown_band_fails_fast_with_one_line(setup, tmp_path):
    folder, server, credentials = setup
    tiles = make_tiles(folder)
    definition = tmp_path / "badband.py"
    definition.write_text(
        "import ee\n\ndef get_ee_image():\n    return ee.Image('ESA/WorldCover/v100').select('NoSuchBand')\n"
    )
    with pytest.raises(UserInputError, match="NoSuchBand") as raised:
        download(tiles, server, credentials, f"source.dataset={definition}")
    assert "\n" not in str(raised.value)
    assert server.compute_pixels_calls == 1  # the probe, and no retry of a deterministic error


def test_user_dataset_file_is_copied_beside_the_chips(setup, tmp_path):
    folder, server, credentials = setup
    tiles = make_tiles(folder, (6.0, 49.6, 6.02, 49.62))
    definition = tmp_path / "mine.py"
    definition.write_text(
        "import ee\n\ndef get_dataset_name():\n    return 'worldcover-mine'\n\n"
        "def get_ee_image():\n    return ee.Image('ESA/WorldCover/v100').select('Map')\n"
    )
    download(tiles, server, credentials, f"source.dataset={definition}")
    directory = dataset_dir(tiles, "worldcover-mine")
    assert (directory / "dataset_def.py").read_text() == definition.read_text()
    for path in directory.glob("*.tif"):
        assert_chip_matches_server(path, bands=("Map",), dtype=np.uint8)


def test_bad_credentials_fail_fast(setup):
    import time

    folder, server, _ = setup
    tiles = make_tiles(folder)
    started = time.monotonic()
    with pytest.raises(UserInputError, match="credentials were rejected"):
        download(tiles, server, credentials_file(folder, server, valid=False))
    with pytest.raises(UserInputError, match="neither auto, persistent"):
        download(tiles, server, folder / "missing-key.json")
    with pytest.raises(UserInputError, match="Earth Engine rejected the credentials"):
        download(tiles, server, "none")  # the server wants a token
    assert time.monotonic() - started < 10
    assert server.compute_pixels_calls == 0


def test_label_classes_are_recorded_beside_the_chips(setup):
    folder, server, credentials = setup
    tiles = make_tiles(folder, (6.0, 49.6, 6.02, 49.62))
    download(tiles, server, credentials, "source=worldcover", "download.max_downloads=1")
    record = yaml.safe_load((dataset_dir(tiles, "esa-world-cover") / "manifest.geetiles.yaml").read_text())
    assert record["bands"] == ["Map"] and record["dtype"] == "uint8"
    assert [c["code"] for c in record["classes"]] == [10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100]
    assert record["classes"][0] == {"code": 10, "name": "Tree cover", "color": "#006400", "key": 1}  # 0.1.7 keyed it 1


def test_bootstrap_stops_when_ray_cannot_start_and_its_chips_are_kept(setup, monkeypatch):
    """If Ray fails after the driver began fetching on its own, that fetching stops too, and every
    chip it finished is on disk and in the manifest, so a rerun resumes."""
    import csv
    import threading

    from geetiles.download.ray_cluster import RayCluster

    folder, server, credentials = setup
    tiles = make_tiles(folder)
    server.latency_s = 0.2  # with 2 in flight, the ~40 chips would take 4 s: work is left when Ray fails
    monkeypatch.setattr(RayCluster, "will_start_local", lambda self: True)  # as if starting a local Ray
    monkeypatch.setattr(RayCluster, "launch", lambda self: None)

    def fail(self, salvage=None):
        time_to_fetch = threading.Event()
        time_to_fetch.wait(1.0)  # the bootstrap is fetching meanwhile
        raise RunFailed("the local Ray did not start within ray.start_timeout_s=1 s (test)")

    monkeypatch.setattr(RayCluster, "connect", fail)
    with pytest.raises(RunFailed, match="Ray"):
        download(tiles, server, credentials, "download.max_in_flight=2")
    calls = server.compute_pixels_calls
    assert calls > 1  # the probe and some bootstrap requests went out
    threading.Event().wait(0.8)
    assert server.compute_pixels_calls == calls  # and nothing after the run ended
    assert not [t for t in threading.enumerate() if t.name == "bootstrap"]
    with open(dataset_dir(tiles) / "manifest.csv") as f:
        journaled = {r["identifier"] for r in csv.DictReader(f) if r["status"] == "done"}
    on_disk = {p.stem for p in dataset_dir(tiles).glob("*.tif")}
    assert journaled and journaled == on_disk

    monkeypatch.undo()
    server.latency_s = 0.0
    server.reset_counters()
    download(tiles, server, credentials)  # the rerun fetches only what is missing
    assert server.compute_pixels_calls == 1 + len(load_tiles(tiles)) - len(journaled)


def test_a_yearly_catalog_recipe_downloads_into_its_named_folder(setup):
    folder, server, credentials = setup
    tiles = make_tiles(folder, (6.0, 49.6, 6.02, 49.62))
    download(tiles, server, credentials, "source=s2rgb", "source.recipe.year=2019", "download.max_downloads=2")
    directory = dataset_dir(tiles, "s2rgb-2019")
    chips = sorted(directory.glob("*.tif"))
    assert len(chips) == 2
    seasons = ("winter", "spring", "summer", "fall")
    assert_chip_matches_server(chips[0], bands=tuple(f"{s}_{b}" for s in seasons for b in ("red", "green", "blue")))


def test_a_catalog_name_with_year_and_orbit_downloads_its_recipe(setup):
    folder, server, credentials = setup
    tiles = make_tiles(folder, (6.0, 49.6, 6.02, 49.62))
    download(tiles, server, credentials, "source.dataset=s1grdm-2019-des", "download.max_downloads=1")
    chips = sorted(dataset_dir(tiles, "s1grdm-2019-des").glob("*.tif"))
    assert len(chips) == 1
    assert_chip_matches_server(
        chips[0], bands=tuple(f"{m:02d}_{p}" for m in range(1, 13) for p in ("vv", "vh")), dtype=np.uint16
    )


def test_range_map_classes_are_recorded_with_their_value_ranges(setup):
    """humanpop-2015 (the original's folder name) finds the humanpop2015 recipe; the record says which
    population counts make each class, so later stages need no code of their own for it."""
    folder, server, credentials = setup
    tiles = make_tiles(folder, (6.0, 49.6, 6.02, 49.62))
    download(tiles, server, credentials, "source.dataset=humanpop-2015", "download.max_downloads=1")
    record = yaml.safe_load((dataset_dir(tiles, "humanpop2015") / "manifest.geetiles.yaml").read_text())
    assert record["bands"] == ["population_count"] and record["dtype"] == "uint16"
    classes = record["classes"]
    assert len(classes) == 31 and [c["code"] for c in classes] == list(range(31))
    assert classes[0]["min"] is None and classes[0]["max"] == 1
    assert classes[1]["min"] == 1 and classes[1]["max"] == 11 and classes[1]["name"] == "1 to 11"
    assert classes[30]["min"] == 291 and classes[30]["max"] is None
