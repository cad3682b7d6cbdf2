"""Every path derived from a tiles file's name comes from geetiles.layout."""

from pathlib import Path

import pytest

from geetiles import layout
from geetiles.names import UnsafePathError

TILES = Path("/data/lux_partitions_aschips_14c55eb7d417f.geojson")


def test_the_paths_beside_a_tiles_file():
    assert layout.twin_path(TILES) == Path("/data/lux_partitions_aschips_14c55eb7d417f.parquet")
    assert layout.geojson_path(layout.twin_path(TILES)) == TILES and layout.geojson_path(TILES) == TILES
    assert layout.lock_path(TILES).name == "lux_partitions_aschips_14c55eb7d417f.lock"
    assert layout.chips_root(TILES) == Path("/data/lux_partitions_aschips_14c55eb7d417f")
    assert layout.chips_folder(TILES, "esa-world-cover") == Path(
        "/data/lux_partitions_aschips_14c55eb7d417f/esa-world-cover"
    )
    assert layout.splits_csv(TILES).name == "lux_partitions_aschips_14c55eb7d417f_splits.csv"  # 0.1.7's name
    assert layout.splits_report(TILES).name == "lux_partitions_aschips_14c55eb7d417f_splits_report.json"
    assert layout.default_dataset_folder(TILES).name == "lux_partitions_aschips_14c55eb7d417f_dataset"
    assert layout.default_report_folder(TILES).name == "lux_partitions_aschips_14c55eb7d417f_report"
    assert layout.column_output(TILES, "split").name == "lux_partitions_aschips_14c55eb7d417f.split.geojson"
    assert (
        layout.column_record(TILES, "foreignid_x").name
        == "lux_partitions_aschips_14c55eb7d417f.foreignid_x.geetiles.yaml"
    )
    assert (
        layout.failed_listing(TILES, "lc_proportions").name
        == "lux_partitions_aschips_14c55eb7d417f.lc_proportions.failed.csv"
    )
    assert layout.column_record(TILES, "x").match(layout.records_glob(TILES))


def test_the_record_path_of_a_column_output_is_its_record():
    from geetiles.record import record_path

    assert record_path(layout.column_output(TILES, "split")) == layout.column_record(TILES, "split")


@pytest.mark.parametrize("hostile", ["../evil", "/etc/passwd", "a/b", "..", "", "x" * 200])
def test_names_from_users_or_data_never_leave_the_folder(hostile):
    for build in (
        layout.chips_folder,
        layout.column_output,
        layout.column_record,
        layout.failed_listing,
    ):
        with pytest.raises(UnsafePathError):
            build(TILES, hostile)
