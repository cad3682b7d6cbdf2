"""The metadata files of the legacy zip against 0.1.7's: hash-less names, splits.csv filtered to the
packaged chips, the tiles copy's geometries, other label datasets' proportions dropped."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from geetiles.export.legacy_zip import write_legacy_zip
from tests.export.legacy_zip.case import CASE, CHIPS, FOLDER, LABELS, build_case, export_input, gz_json, read_zip


def test_metadata_files_as_the_original_with_splits_filtered(made, original):
    case, tiles, zip_path = made
    ours = read_zip(zip_path)
    members = {m["name"]: m for m in original["members"][case]}
    packed = {Path(n).stem for n in ours if n.endswith(".pkl")}
    # splits.csv: 0.1.7 copied all 246 rows; here only the packaged chips, lines otherwise unchanged
    source_lines = (tiles.with_name(f"{CHIPS}_splits.csv")).read_text().splitlines(keepends=True)
    theirs_csv = members[f"{FOLDER}/splits.csv"]
    assert theirs_csv["sha256"] == hashlib.sha256("".join(source_lines).encode()).hexdigest()
    ours_lines = ours[f"{FOLDER}/splits.csv"].decode().splitlines(keepends=True)
    assert ours_lines == [source_lines[0]] + [line for line in source_lines[1:] if line.split(",")[0] in packed]
    assert len(ours_lines) - 1 == len(packed) == 240 < len(source_lines) - 1
    if case == "tokyo-foreign":
        for name in ("tokyo_partitions_5k.geojson", "README.txt"):  # byte copies, as 0.1.7
            assert hashlib.sha256(ours[f"{FOLDER}/{name}"]).hexdigest() == members[f"{FOLDER}/{name}"]["sha256"]
        for name in ("tokyo_partitions_aschips.geojson", "tokyo_partitions_aschips_expanded.geojson"):
            theirs = {
                f["properties"]["identifier"]: f for f in gz_json(CASE / "meta" / f"foreign_{name}.gz")["features"]
            }
            mine = {f["properties"]["identifier"]: f for f in json.loads(ours[f"{FOLDER}/{name}"])["features"]}
            assert mine.keys() == theirs.keys() == packed
            for identifier, feature in theirs.items():
                got = mine[identifier]["properties"]
                want = feature["properties"]
                assert list(got) == list(want), name
                assert got["area_km2"] == pytest.approx(want["area_km2"], rel=1e-9)  # 0.1.7 recomputed it
                assert {k: v for k, v in got.items() if k != "area_km2"} == {
                    k: v for k, v in want.items() if k != "area_km2"
                }
                assert np.allclose(
                    mine[identifier]["geometry"]["coordinates"], feature["geometry"]["coordinates"], rtol=0, atol=1e-12
                )


def test_geometries_of_the_tiles_copy_are_the_tiles_files(made):
    _, tiles, zip_path = made
    ours = read_zip(zip_path)
    source = {f["properties"]["identifier"]: f["geometry"] for f in json.loads(tiles.read_bytes())["features"]}
    copy = json.loads(ours[f"{FOLDER}/tokyo_partitions_aschips.geojson"])
    assert copy["crs"] == json.loads(tiles.read_bytes())["crs"]
    for feature in copy["features"]:
        assert feature["geometry"] == source[feature["properties"]["identifier"]]


def test_other_label_datasets_proportions_are_dropped_from_the_tiles_copy_only(tmp_path):
    tiles = build_case(tmp_path)
    data = json.loads(tiles.read_bytes())
    for feature in data["features"]:
        feature["properties"]["treecover2020_proportions"] = {"1": 1.0}
    tiles.write_text(json.dumps(data))
    members = read_zip(write_legacy_zip(export_input(tiles)))
    copy = json.loads(members[f"{FOLDER}/tokyo_partitions_aschips.geojson"])["features"][0]["properties"]
    expanded = json.loads(members[f"{FOLDER}/tokyo_partitions_aschips_expanded.geojson"])["features"][0]["properties"]
    assert "treecover2020_proportions" not in copy and f"{LABELS}_proportions" in copy
    assert "treecover2020_proportions__1" in expanded  # 0.1.7 expanded every proportions column
