"""The ``legacy_zip`` format (``geet zip.dataset``) against the zips geetiles 0.1.7 wrote on the same
chips (tests/data/original017/files/zip/tokyo, CASES.md): the same names, members, pickle keys,
Python types, dtypes and values, except where 0.1.7 was wrong (int16 cast of data int16 does not hold,
biased centre, splits.csv not filtered, working directory, no labels, stale files), which the package
docstring lists."""

from __future__ import annotations

import hashlib
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from geetiles.export.inputs import DatasetInfo, ExportInput
from geetiles.export.legacy_zip import write_legacy_zip
from geetiles.tiff.reader import UnreadableChip
from tests.conftest import geet_cmd
from tests.export.legacy_zip.case import (
    CASE,
    CHIPS,
    FOLDER,
    IMAGES,
    LABELS,
    RANDOM5K,
    build_case,
    digest,
    export_input,
    pickles,
    read_zip,
    type_name,
)
from tests.in_process import run_in_process


def test_same_zip_folder_and_member_names_as_the_original(made, original):
    case, tiles, zip_path = made
    members = original["members"][case]
    assert zip_path == tiles.parent / f"{FOLDER}.zip"
    assert (tiles.parent / FOLDER / "data").is_dir()
    ours = read_zip(zip_path)
    assert set(ours) == {m["name"] for m in members}
    assert {Path(n).parent.as_posix() for n in ours} == {FOLDER, f"{FOLDER}/data"}
    with zipfile.ZipFile(zip_path) as archive:
        assert (
            {i.compress_type for i in archive.infolist()}
            == {m["compress_type"] for m in members}
            == {zipfile.ZIP_DEFLATED}
        )
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    # the folder beside the zip holds exactly the zip's members, and the marker that lets a rerun replace it
    on_disk = {
        f"{FOLDER}/{p.relative_to(tiles.parent / FOLDER).as_posix()}": p.read_bytes()
        for p in (tiles.parent / FOLDER).rglob("*")
        if p.is_file() and p.name != ".geetiles-made"
    }
    assert on_disk == ours
    assert (tiles.parent / FOLDER / ".geetiles-made").is_file()
    with zipfile.ZipFile(zip_path) as archive:
        assert archive.comment == b"made by geetiles: legacy_zip"


def test_pickles_have_the_original_keys_types_and_values(made, original):
    """Keys in 0.1.7's order and its Python types; arrays of the same shape, dtype (int16: the uint8
    chips as 0.1.7 stored them) and values, labels mapped to 1..9 as 0.1.7's map_values did, corners
    equal, label_proportions equal."""
    case, _, zip_path = made
    ours = pickles(read_zip(zip_path))
    theirs = original[case]
    assert ours.keys() == theirs.keys()
    for identifier, expected in theirs.items():
        record = ours[identifier]
        signature = original["signatures"][str(expected["signature"])]
        assert list(record) == signature["keys"], identifier
        for key, described in signature["types"].items():
            assert type_name(record[key]) == described["type"], (identifier, key)
            if "shape" in described:
                assert list(record[key].shape) == described["shape"], (identifier, key)
                assert str(record[key].dtype) == described["dtype"], (identifier, key)
                if key in ("chip", "label"):
                    assert described["dtype"] == "int16", (identifier, key)
        assert record["chip_id"] == identifier
        assert digest(record["chip"].astype(np.int16)) == expected["chip"], identifier
        if "label" in expected:
            assert digest(record["label"].astype(np.int16)) == expected["label"], identifier
            assert set(np.unique(record["label"]).tolist()) <= set(range(1, 10))
        for corner in ("nw", "se"):
            assert record["corners"][corner].tolist() == expected["corners"][corner]
        if "label_proportions" in expected:
            got, want = record["label_proportions"], expected["label_proportions"]
            assert list(got) == list(want)
            for key, value in want.items():
                if isinstance(value, dict):
                    assert list(got[key]) == list(value) and all(
                        type(k) is str and type(v) is float for k, v in got[key].items()
                    )
                    assert got[key] == pytest.approx(value, abs=1e-9), (identifier, key)
                else:
                    assert type(got[key]) is type(value) and got[key] == value
        described = signature["types"].get("label_proportions", {}).get("items", {})
        for key, types in described.items():
            if "key_types" in types:
                assert {type_name(k) for k in record["label_proportions"][key]} == set(types["key_types"])
                assert {type_name(v) for v in record["label_proportions"][key].values()} == set(types["value_types"])


def test_center_is_the_true_centre_and_differs_from_the_original_by_its_bias(made, original):
    """0.1.7 averaged the 5 ring points (the south-west corner twice): a tenth of the chip's extent
    south-west of the true centre."""
    case, _, zip_path = made
    ours = pickles(read_zip(zip_path))
    worst = 0.0
    for identifier, expected in original[case].items():
        (north, west), (south, east) = expected["corners"]["nw"], expected["corners"]["se"]
        centre = ours[identifier]["center_latlon"]
        assert centre.tolist() == pytest.approx([(north + south) / 2, (west + east) / 2], abs=1e-12)
        biased = centre - 0.1 * np.array([north - south, east - west])
        assert biased.tolist() == pytest.approx(expected["center_latlon"], abs=1e-9), identifier
        worst = max(worst, float(np.abs(centre - expected["center_latlon"]).max()))
    assert 1e-4 < worst < 2e-3  # about 100 m on a 1 km chip


def test_stored_original_pickles_compare_element_by_element(made):
    """The pickles 0.1.7 wrote, loaded as they are: same structure, element types, dtypes and values,
    so code written for them computes the same (``chip - 128`` is negative for dark pixels, as it was)."""
    case, _, zip_path = made
    ours = pickles(read_zip(zip_path))
    stored = sorted((CASE / "pkl" / case).glob("*.pkl"))
    assert stored
    for path in stored:
        theirs = pickle.loads(path.read_bytes())
        record = ours[path.stem]
        assert list(record) == list(theirs)
        for key, value in theirs.items():
            if key in ("chip", "label"):
                assert value.dtype == np.int16 and record[key].dtype == np.int16
                assert np.array_equal(record[key].astype(np.int16), value)
                assert np.array_equal(record[key], value) and np.array_equal(record[key] - 128, value - 128)
            elif key == "center_latlon":
                assert type(record[key]) is type(value) and record[key].dtype == value.dtype
            elif key == "corners":
                assert {k: v.tolist() for k, v in record[key].items()} == {k: v.tolist() for k, v in value.items()}
            else:
                assert record[key] == value
        assert (record["chip"] - 128).min() < 0 and (record["chip"] - 128).min() == (theirs["chip"] - 128).min()


@pytest.mark.slow  # the export's process pool
def test_a_rerun_gives_the_same_bytes(made):
    case, tiles, zip_path = made
    before = zip_path.read_bytes()
    foreign = tiles.with_name(f"{RANDOM5K}.geojson") if case == "tokyo-foreign" else None
    readme = tiles.with_name("README.txt") if case == "tokyo-foreign" else None
    assert write_legacy_zip(export_input(tiles), foreign, readme, workers=2) == zip_path  # worker processes too
    assert zip_path.read_bytes() == before


# --- 0.1.7's defects, fixed -------------------------------------------------------------------------


def test_without_labels(tmp_path):
    """0.1.7 crashed (UnboundLocalError); here: {aoi}_{images}.zip, pickles without label, and the
    tiles copy keeps every proportions column (none is another labels dataset's)."""
    tiles = build_case(tmp_path)
    zip_path = write_legacy_zip(export_input(tiles, labels=False))
    assert zip_path.name == f"tokyo_{IMAGES}.zip"
    members = read_zip(zip_path)
    records = pickles(members)
    assert len(records) == 240
    assert all(list(r) == ["chip", "chip_id", "center_latlon", "corners"] for r in records.values())
    copy = json.loads(members[f"tokyo_{IMAGES}/tokyo_partitions_aschips.geojson"])
    assert f"{LABELS}_proportions" in copy["features"][0]["properties"]


def test_a_rerun_without_a_chip_leaves_no_stale_pickle_and_nothing_else_changes(tmp_path):
    tiles = build_case(tmp_path)
    zip_path = write_legacy_zip(export_input(tiles))
    outputs = {zip_path, tiles.parent / FOLDER}

    def snapshot():
        return {
            p: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in tmp_path.rglob("*")
            if p.is_file() and not any(o == p or o in p.parents for o in outputs)
        }

    before = snapshot()
    inp = export_input(tiles)
    gone = inp.identifiers[0]
    keep = inp.identifiers != gone
    inp.frame, inp.identifiers, inp.splits = (
        inp.frame[keep].reset_index(drop=True),
        inp.identifiers[keep],
        inp.splits[keep],
    )
    write_legacy_zip(inp)
    assert snapshot() == before  # nothing beside the outputs written (0.1.7 wrote {tiles base}_expanded.geojson)
    assert not (tiles.parent / f"{CHIPS}_expanded.geojson").exists()
    data = tiles.parent / FOLDER / "data"
    assert not (data / f"{gone}.pkl").exists() and len(list(data.iterdir())) == 239
    members = read_zip(zip_path)
    assert f"{FOLDER}/data/{gone}.pkl" not in members and len(pickles(members)) == 239
    assert gone not in members[f"{FOLDER}/splits.csv"].decode()
    assert sorted(p.name for p in tiles.parent.iterdir() if p.name.startswith(".")) == []  # no temporary left


def test_a_failed_run_leaves_the_previous_outputs(tmp_path):
    tiles = build_case(tmp_path)
    zip_path = write_legacy_zip(export_input(tiles))
    before = zip_path.read_bytes()
    folder_files = sorted(p.relative_to(tmp_path) for p in (tiles.parent / FOLDER).rglob("*"))
    inp = export_input(tiles)
    inp.images.path(inp.identifiers[100]).write_bytes(b"not a tiff")
    with pytest.raises(UnreadableChip):
        write_legacy_zip(inp)
    assert zip_path.read_bytes() == before
    assert sorted(p.relative_to(tmp_path) for p in (tiles.parent / FOLDER).rglob("*")) == folder_files
    assert sorted(p.name for p in tiles.parent.iterdir() if p.name.startswith(".")) == []


def _one_chip_record(tiles, inp, name: str, array: np.ndarray) -> dict:
    """The pickle of the first chip, exported alone as dataset ``name`` whose chip file holds ``array``."""
    import rasterio

    chip_folder = tiles.with_suffix("") / name
    chip_folder.mkdir()
    with rasterio.open(
        chip_folder / f"{inp.identifiers[0]}.tif",
        "w",
        driver="GTiff",
        width=array.shape[2],
        height=array.shape[1],
        count=array.shape[0],
        dtype=array.dtype,
        crs="EPSG:4326",
        transform=rasterio.Affine(0.05, 0, 0, 0, -0.05, 1),
    ) as out:
        out.write(array)
    one = ExportInput(
        tiles,
        inp.frame.iloc[:1].reset_index(drop=True),
        inp.identifiers[:1],
        inp.splits[:1],
        DatasetInfo(name, chip_folder, (), str(array.dtype), None, (), {}),
        None,
        "t",
        0,
        {},
    )
    return pickles(read_zip(write_legacy_zip(one)))[inp.identifiers[0]]


def test_native_dtypes_are_kept(tmp_path):
    """0.1.7 cast to int16 (float32 truncated, uint16 above 32767 wrapped)."""
    folder = tmp_path / "f"
    tiles = build_case(folder)
    inp = export_input(tiles, labels=False)
    values = {
        "f": np.linspace(0.25, 2.75, 2 * 20 * 20, dtype=np.float32).reshape(2, 20, 20),
        "u": np.full((1, 20, 20), 60000, dtype=np.uint16),
    }
    for name, array in values.items():
        record = _one_chip_record(tiles, inp, name, array)
        expected = array[0] if array.shape[0] == 1 else np.moveaxis(array, 0, -1)
        assert record["chip"].dtype == array.dtype and np.array_equal(record["chip"], expected)


def test_chips_int16_holds_are_int16_as_0_1_7_stored_them(tmp_path):
    """uint8, int8 and int16 chips (every value of their dtype) come out int16 with the same values,
    so ``chip - 128`` is negative below 128 as with 0.1.7 (uint8 would wrap to 128..255); a uint16
    chip stays uint16 even when its values would fit (the dtype decides, for every chip alike)."""
    tiles = build_case(tmp_path / "f")
    inp = export_input(tiles, labels=False)
    full = {np.uint8: np.arange(256), np.int8: np.arange(-128, 128), np.int16: np.arange(-32768, 32768, 128)}
    for dtype, values in full.items():
        array = np.resize(values.astype(dtype), 2 * 16 * 16).reshape(2, 16, 16)
        record = _one_chip_record(tiles, inp, np.dtype(dtype).name, array)
        assert record["chip"].dtype == np.int16, dtype
        assert np.array_equal(record["chip"], np.moveaxis(array, 0, -1).astype(np.int16)), dtype
        assert sorted(set(record["chip"].ravel().tolist())) == sorted(set(values.tolist())), dtype
    dark = _one_chip_record(tiles, inp, "dark", np.full((1, 8, 8), 10, dtype=np.uint8))["chip"]
    assert dark.dtype == np.int16 and (dark - 128).tolist() == np.full((8, 8), -118).tolist()
    assert (np.full((8, 8), 10, dtype=np.uint8) - 128).min() > 0  # what the uint8 pickle gave: wrapped
    small = _one_chip_record(tiles, inp, "u16", np.full((1, 8, 8), 1000, dtype=np.uint16))["chip"]
    assert small.dtype == np.uint16 and (small == 1000).all()


# --- geet zip.dataset, end to end -------------------------------------------------------------------


def test_geet_zip_dataset_from_another_directory(tmp_path, original):
    """Relative paths from the parent folder (0.1.7 packaged 0 chips and overwrote its metadata);
    with every chip present: 0.1.7's 240 chips plus the 6 it had no image for."""
    tiles = build_case(tmp_path / "case", "tokyo-foreign", complete=True)
    result = run_in_process(
        geet_cmd(
            "zip.dataset",
            "--tiles_file",
            f"case/{tiles.name}",
            "--images_dataset_def",
            IMAGES,
            "--labels_dataset_def",
            LABELS,
            "--foreign_tiles_file",
            f"case/{RANDOM5K}.geojson",
            "--readme_file",
            "case/README.txt",
        ),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    members = read_zip(tmp_path / "case" / f"{FOLDER}.zip")
    records = pickles(members)
    assert len(records) == 246 and set(original["tokyo-foreign"]) < set(records)
    assert {n for n in members if not n.endswith(".pkl")} == {
        m["name"] for m in original["members"]["tokyo-foreign"] if not m["name"].endswith(".pkl")
    }
    for identifier, expected in original["tokyo-foreign"].items():
        assert digest(records[identifier]["chip"].astype(np.int16)) == expected["chip"]
        if "label_proportions" in expected:  # the 3 chips 0.1.7 had no label for have theirs here
            got, want = records[identifier]["label_proportions"], expected["label_proportions"]
            assert got.keys() == want.keys() and got["foreignid_5k"] == want["foreignid_5k"]
            for key in ("partitions_aschip", "partitions_5k"):
                assert got[key] == pytest.approx(want[key], abs=1e-9)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case"]


def test_geet_zip_dataset_without_labels(tmp_path):
    tiles = build_case(tmp_path, complete=True)
    result = run_in_process(
        geet_cmd("zip.dataset", "--tiles_file", tiles.name, "--images_dataset_def", IMAGES), tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    records = pickles(read_zip(tmp_path / f"tokyo_{IMAGES}.zip"))
    assert len(records) == 246 and all("label" not in r for r in records.values())


def test_geet_zip_dataset_missing_chips_refused_or_skipped_as_0_1_7(tmp_path, original):
    """0.1.7 silently left out the 6 chips without an image; by default they refuse the export
    (nothing written), and --skip_missing leaves them out as 0.1.7 did, saying so (exit 1)."""
    tiles = build_case(tmp_path)
    args = ("zip.dataset", "--tiles_file", tiles.name, "--images_dataset_def", IMAGES, "--labels_dataset_def", LABELS)
    refused = run_in_process(geet_cmd(*args), tmp_path)
    assert refused.returncode != 0 and "missing" in refused.stderr
    assert not (tmp_path / f"{FOLDER}.zip").exists()
    skipped = run_in_process(geet_cmd(*args, "--skip_missing"), tmp_path)
    assert skipped.returncode == 1 and "6 chips" in skipped.stderr
    members = read_zip(tmp_path / f"{FOLDER}.zip")
    assert set(members) == {m["name"] for m in original["members"]["tokyo"]}
