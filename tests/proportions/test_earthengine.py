"""The Earth Engine proportions engine against the fake server: reduceRegions with a frequency
histogram agrees with the local engine on the same pixels, batches, retries, splits and failures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from shapely.geometry import MultiPolygon, Polygon

from geetiles.classes import LabelTable
from geetiles.cli.compose import quote
from geetiles.errors import UserInputError
from geetiles.experiment import Experiment
from geetiles.proportions.counting import Counts
from geetiles.proportions.coverage import count_classes
from geetiles.proportions.earthengine import count_units
from geetiles.proportions.ee_request import MASKED_FILL, ROW, fill_value, histogram_counts
from geetiles.tiff import read_chip
from tests.composing import compose_with
from tests.download.helpers import credentials_file
from tests.fake_ee.fixtures import fake_ee  # noqa: F401
from tests.fake_ee.pixels import pixel_values
from tests.fake_ee.reduce_regions import METRES_PER_DEGREE
from tests.fake_ee.server import REDUCE_REGIONS

NATIVE = 0.001  # the fake's native pixel, degrees
FAST = ["download.backoff_initial_s=0.001", "download.backoff_max_s=0.01", "download.progress=none"]

TRIANGLE = Polygon([(6.10037, 49.60011), (6.12391, 49.60473), (6.10815, 49.61927)])
WITH_HOLE = Polygon(
    [(6.13012, 49.62008), (6.15533, 49.61871), (6.15702, 49.64119), (6.12894, 49.63966)],
    [[(6.13791, 49.62755), (6.14832, 49.62703), (6.14377, 49.63489)]],
)
MULTI = MultiPolygon(
    [
        Polygon([(5.98021, 49.50123), (5.99314, 49.50277), (5.98733, 49.51562)]),
        Polygon([(6.00407, 49.50516), (6.01969, 49.50388), (6.01825, 49.51803), (6.00611, 49.51341)]),
    ]
)


def code_table(codes=range(251), nodata: float | None = 0.0) -> LabelTable:
    return LabelTable.from_classes("labels", [{"code": c, "name": str(c)} for c in codes], nodata)


@pytest.fixture
def setup(tmp_path, fake_ee):  # noqa: F811
    return tmp_path, fake_ee, credentials_file(tmp_path, fake_ee)


def experiment(setup, *extra: str) -> Experiment:
    folder, server, key = setup
    cfg = compose_with(
        ["labels=worldcover", "proportions=earthengine", *FAST, *extra],
        {"data_dir": str(folder), "ee.url": server.url, "ee.credentials": str(key)},
    )
    return Experiment.from_config(cfg, command="test")


def run(setup, geometries, table: LabelTable, *extra: str, progress=None) -> Counts:
    exp = experiment(setup, *extra)
    return count_units(exp, exp.config.labels, np.asarray(geometries, dtype=object), table, progress)


def native_geotiff(path, geometry, step: float = NATIVE):
    """The fake's pixels (WorldCover: band 0, uint8) on its grid of ``step`` degrees aligned on 0, over the
    geometry's bbox."""
    minx, miny, maxx, maxy = geometry.bounds
    col0, row_top = math.floor(minx / step), math.ceil(maxy / step)
    width, height = math.ceil(maxx / step) - col0, row_top - math.floor(miny / step)
    transform = (step, 0.0, col0 * step, 0.0, -step, row_top * step)
    values = pixel_values("EPSG:4326", transform, width, height, 0, np.uint8)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=1,
        dtype="uint8",
        crs="EPSG:4326",
        transform=Affine(*transform),
    ) as dst:
        dst.write(values, 1)
    return path


def local_counts(tmp_path, geometries, table: LabelTable, step: float = NATIVE) -> list:
    out = []
    for i, geometry in enumerate(geometries):
        raster = read_chip(native_geotiff(tmp_path / f"unit{i}.tif", geometry, step))
        out.append(count_classes(raster, geometry, table))
    return out


def assert_agree(counts: Counts, expected: list) -> None:
    """Within 1e-6 relative; a class holding only slivers of edge pixels may differ by up to a
    millionth of the unit's pixels (exactextract's coverage fractions are single precision)."""
    assert not counts.failed
    for row, local in enumerate(expected):
        slack = 1e-6 * local.inside
        np.testing.assert_allclose(counts.classes[row], local.classes, rtol=1e-6, atol=slack)
        assert counts.inside[row] == pytest.approx(local.inside, rel=1e-6)
        assert counts.unknown[row] == pytest.approx(local.unknown, rel=1e-6, abs=slack)


def test_agrees_with_the_local_engine_on_the_same_pixels(setup):
    tmp_path, server, _ = setup
    units = [TRIANGLE, WITH_HOLE, MULTI]
    table = code_table(range(200))  # values 200..250 are in no class: unknown; 0 is nodata
    counts = run(setup, units, table)
    expected = local_counts(tmp_path, units, table)
    assert_agree(counts, expected)
    for row, unit in enumerate(units):  # the exact area in native pixels, whatever the values
        assert counts.inside[row] == pytest.approx(unit.area / NATIVE**2, rel=1e-9)
        assert counts.unknown[row] > 0 and counts.classes[row].sum() < counts.inside[row]
    assert server.requests[REDUCE_REGIONS] == 1  # three units, one request (units_per_request=64)


def test_scale_m_reduces_on_a_grid_of_that_many_metres(setup):
    tmp_path, _, _ = setup
    table = code_table()
    counts = run(setup, [WITH_HOLE], table, "proportions.scale_m=250")
    step = 250 / METRES_PER_DEGREE
    assert_agree(counts, local_counts(tmp_path, [WITH_HOLE], table, step))
    assert counts.inside[0] == pytest.approx(WITH_HOLE.area / step**2, rel=1e-9)


def grid_units(n: int) -> list[Polygon]:
    """``n`` small irregular quadrilaterals side by side."""
    return [
        Polygon(
            [
                (6.0 + 0.004 * i + 0.0003, 49.7001),
                (6.0 + 0.004 * i + 0.0031, 49.7003),
                (6.0 + 0.004 * i + 0.0036, 49.7032),
                (6.0 + 0.004 * i + 0.0002, 49.7027),
            ]
        )
        for i in range(n)
    ]


class Progress:
    def __init__(self):
        self.done = self.failed = self.retries = 0

    def update(self, done, failed, retries):
        self.done, self.failed, self.retries = self.done + done, self.failed + failed, self.retries + retries


def test_units_are_batched_and_batches_run_in_parallel_within_the_cap(setup):
    _, server, _ = setup
    units, table = grid_units(23), code_table()
    server.latency_s = 0.05
    progress = Progress()
    counts = run(setup, units, table, "proportions.units_per_request=5", "download.max_in_flight=3", progress=progress)
    assert server.requests[REDUCE_REGIONS] == math.ceil(23 / 5)
    assert sorted(server.reduce_regions_sizes) == [3, 5, 5, 5, 5]
    assert 2 <= server.max_in_flight <= 3
    assert not counts.failed and (counts.inside > 0).all()
    assert (progress.done, progress.failed, progress.retries) == (23, 0, 0)
    # the same units one per request give the same counts
    server.reset_counters()
    server.latency_s = 0.0
    single = run(setup, units, table, "proportions.units_per_request=1")
    assert server.requests[REDUCE_REGIONS] == 23
    np.testing.assert_allclose(single.classes, counts.classes, rtol=1e-12)
    np.testing.assert_allclose(single.inside, counts.inside, rtol=1e-12)


def test_injected_503s_are_retried_and_change_nothing(setup):
    _, server, _ = setup
    units, table = grid_units(12), code_table()
    clean = run(setup, units, table, "proportions.units_per_request=3")
    server.error_statuses = (503,)
    server.error_rate = 0.4
    progress = Progress()
    noisy = run(setup, units, table, "proportions.units_per_request=3", "download.max_attempts=30", progress=progress)
    assert server.errors_injected > 0 and not noisy.failed
    np.testing.assert_array_equal(noisy.classes, clean.classes)
    np.testing.assert_array_equal(noisy.inside, clean.inside)
    assert progress.retries == server.errors_injected and progress.done == 12
    # 429 "Too many concurrent aggregations." also splits the batch: still the same counts
    server.error_statuses = (429, 503)
    split = run(setup, units, table, "proportions.units_per_request=4", "download.max_attempts=30")
    assert not split.failed
    np.testing.assert_array_equal(split.classes, clean.classes)


def test_a_unit_whose_request_keeps_failing_is_reported_and_the_others_are_counted(setup):
    _, server, _ = setup
    units, table = grid_units(8), code_table()
    clean = run(setup, units, table, "proportions.units_per_request=2")
    server.reset_counters()
    server.fail_features[(ROW, 5)] = (503, "The service is currently unavailable.")
    counts = run(setup, units, table, "proportions.units_per_request=2", "download.max_attempts=3")
    assert set(counts.failed) == {4, 5}  # the batch holding unit 5
    assert "gave up after 3 attempts" in counts.failed[5] and "503" in counts.failed[5]
    ok = [r for r in range(8) if r not in (4, 5)]
    np.testing.assert_array_equal(counts.classes[ok], clean.classes[ok])
    assert server.requests[REDUCE_REGIONS] == 3 + 3  # three batches once, the failing one three times


def test_a_deterministic_400_is_not_retried(setup):
    _, server, _ = setup
    server.fail_features[(ROW, 1)] = (400, "Invalid argument.")
    counts = run(setup, grid_units(3), code_table(), "proportions.units_per_request=1")
    assert set(counts.failed) == {1} and "HTTP 400: Invalid argument." in counts.failed[1]
    assert server.requests[REDUCE_REGIONS] == 3


def test_heavy_batches_are_split_until_the_culprit_is_alone(setup):
    _, server, _ = setup
    units, table = grid_units(8), code_table()
    clean = run(setup, units, table, "proportions.units_per_request=8")
    server.reset_counters()
    server.fail_features[(ROW, 6)] = (400, "User memory limit exceeded.")
    counts = run(setup, units, table, "proportions.units_per_request=8")
    assert set(counts.failed) == {6} and "User memory limit exceeded." in counts.failed[6]
    ok = [r for r in range(8) if r != 6]
    np.testing.assert_array_equal(counts.classes[ok], clean.classes[ok])
    # 8 -> 4+4 -> 2+2 -> 1+1: the lone unit is tried at each tileScale (1, 4, 16)
    assert sorted(server.reduce_regions_sizes) == sorted([8, 4, 4, 2, 2, 1, 1, 1, 1])


def test_too_large_answers_are_split(setup):
    _, server, _ = setup
    units, table = grid_units(8), code_table()
    clean = run(setup, units, table, "proportions.units_per_request=8")
    server.reset_counters()
    server.max_response_bytes = 1200  # about three units' histograms
    counts = run(setup, units, table, "proportions.units_per_request=8")
    assert not counts.failed
    np.testing.assert_array_equal(counts.classes, clean.classes)
    assert max(server.reduce_regions_sizes) == 8 and server.requests[REDUCE_REGIONS] > 1


def test_nodata_is_left_out_of_the_classes_but_counted_inside(setup):
    _, _, _ = setup
    table = code_table(range(1, 251), nodata=0.0)  # the fake's formula takes the value 0 too
    unit = Polygon([(6.2001, 49.8002), (6.2503, 49.8004), (6.2497, 49.8398), (6.2004, 49.8401)])
    counts = run(setup, [unit], table)
    minx, miny, maxx, maxy = unit.bounds
    col0, row_top = math.floor(minx / NATIVE), math.ceil(maxy / NATIVE)
    width, height = math.ceil(maxx / NATIVE) - col0, row_top - math.floor(miny / NATIVE)
    values = pixel_values(
        "EPSG:4326", (NATIVE, 0, col0 * NATIVE, 0, -NATIVE, row_top * NATIVE), width, height, 0, np.uint8
    )
    assert (values[1:-1, 1:-1] == 0).any()  # pixels wholly inside hold the nodata value
    assert counts.unknown[0] == 0
    assert counts.inside[0] == pytest.approx(unit.area / NATIVE**2, rel=1e-9)
    nodata_pixels = counts.inside[0] - counts.classes[0].sum()
    assert nodata_pixels >= (values[1:-1, 1:-1] == 0).sum() - 1e-9  # at least the whole nodata pixels
    assert nodata_pixels < counts.inside[0]


def test_histograms_become_counts_rows():
    table = code_table(range(1, 5), nodata=0.0)
    classes, inside, unknown = histogram_counts({"0": 2.5, "1": 1.0, "3": 0.25, "9": 0.5}, table, fill_value(table))
    assert classes.tolist() == [1.0, 0.0, 0.25, 0.0] and inside == 4.25 and unknown == 0.5
    floats = code_table(range(1, 5), nodata=None)
    assert fill_value(floats) == MASKED_FILL
    classes, inside, unknown = histogram_counts({repr(MASKED_FILL): 3.0, "2": 1.0}, floats, MASKED_FILL)
    assert classes.tolist() == [0.0, 1.0, 0.0, 0.0] and inside == 4.0 and unknown == 0.0
    assert histogram_counts({}, table, 0.0)[1] == 0.0


def test_empty_and_odd_geometries(setup):
    _, server, _ = setup
    flat = Polygon([(6.1, 49.6), (6.2, 49.6), (6.3, 49.6)])  # no area (invalid)
    counts = run(setup, [Polygon(), shapely.Point(6.1, 49.6), TRIANGLE, flat], code_table())
    assert set(counts.failed) == {1} and "Point" in counts.failed[1]
    assert counts.inside[0] == counts.inside[3] == 0 and counts.inside[2] > 0
    assert server.reduce_regions_sizes == [1]


def test_a_refused_dataset_stops_before_any_batch(setup):
    _, server, _ = setup
    with pytest.raises(UserInputError, match="refuses labels dataset"):
        run(setup, [TRIANGLE], code_table(), "labels.recipe.collection=NOT/A_DATASET")
    assert server.requests[REDUCE_REGIONS] == 0


def test_the_stage_computes_the_units_on_earth_engine_then_mixes_them_onto_the_chips(setup):
    """proportions=earthengine with from_foreign: the units' shares come from reduceRegions (nothing
    downloaded), the chips' own too, and each chip inside one unit gets that unit's shares."""
    from geetiles.runner import run_experiment
    from geetiles.tiles import load_tiles
    from tests.proportions.synthetic import tiles_file

    folder, server, _ = setup
    units = [shapely.box(6.0, 49.7, 6.02, 49.72), shapely.box(6.02, 49.7, 6.04, 49.72)]
    foreign = tiles_file(folder / "t_partitions_pieces_0000000000001.geojson", ["u1", "u2"], units)
    chips = [shapely.box(6.001, 49.701, 6.005, 49.705), shapely.box(6.018, 49.701, 6.022, 49.705)]
    path = tiles_file(folder / "t_partitions_aschips_0000000000002.geojson", ["c1", "c2"], chips)
    run_experiment(
        experiment(
            setup,
            "stages=[proportions]",
            f"proportions.tiles_file={quote(path)}",
            "proportions.from_foreign=true",
            f"proportions.foreign_file={quote(foreign)}",
        )
    )
    unit_frame, chip_frame = load_tiles(foreign), load_tiles(path)
    name = "esa-world-cover"
    assert server.requests[REDUCE_REGIONS] == 2  # the units, then the chips
    assert all(p for p in unit_frame[f"{name}_proportions"])
    mixed = chip_frame[f"{name}_proportions_at_pieces"].tolist()
    assert mixed[0] == pytest.approx(unit_frame[f"{name}_proportions"][0], abs=1e-12)
    assert chip_frame["foreignid_pieces"].tolist()[0] == "u1"
    assert set(mixed[1]) == set(unit_frame[f"{name}_proportions"][0]) | set(unit_frame[f"{name}_proportions"][1])
    assert all(
        isinstance(p, dict) for p in chip_frame[f"{name}_proportions"]
    )  # the fake's values are mostly in no class
    assert chip_frame[f"{name}_valid_frac"].between(0, 1).all()
