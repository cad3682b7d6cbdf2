"""The ``legacy_zip`` format (``geet zip.dataset``) against the zips geetiles 0.1.7 wrote on the same
chips (tests/data/original017/files/zip/tokyo, CASES.md): the same names, members, pickle keys,
Python types and values, except where 0.1.7 was wrong (int16 cast, biased centre, splits.csv not
filtered, working directory, no labels, stale files), which the module docstring lists."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from geetiles.errors import UserInputError
from geetiles.export import legacy_zip
from geetiles.export.inputs import DatasetInfo, ExportInput
from geetiles.export.legacy_zip import apply_map, value_map, write_legacy_zip
from tests.conftest import geet_cmd, run_cli

ORIGINAL = Path(__file__).resolve().parents[1] / "data" / "original017" / "files"
CASE = ORIGINAL / "zip" / "tokyo"
CHIPS = "tokyo_partitions_aschips_0425f1f89eea7"  # 246 chips of 1 km (0.1.7's grid)
RANDOM5K = "tokyo_partitions_5k_2b30fd879770a"  # 0.1.7's random pieces, with lp.compute's proportions
IMAGES, LABELS = "sentinel2-rgb-median-2020", "esa-world-cover"
FOLDER = f"tokyo_{IMAGES}_{LABELS}"
REF_PYTHON = Path("/work/ref017/venv/bin/python")  # 0.1.7's throw-away venv (numpy 1.26), where it exists


def _gz_json(path: Path):
    return json.loads(gzip.decompress(path.read_bytes()))


@pytest.fixture(scope="module")
def original() -> dict:
    """What 0.1.7's zips held: members per case, and per case and chip a summary of its pickle."""
    return {"members": _gz_json(CASE / "members.json.gz"), **_gz_json(CASE / "pickles.json.gz")}


def build_case(folder: Path, case: str = "tokyo", complete: bool = False) -> Path:
    """The inputs 0.1.7's run saw: the tiles file after its lp.compute and split (and, for
    ``tokyo-foreign``, lp.from_foreign), the splits csv, the foreign file, the readme, and the chips
    as GeoTIFFs (6 chips without image; for ``tokyo-foreign`` 3 more without label). ``complete``
    writes every chip."""
    import rasterio

    folder.mkdir(parents=True, exist_ok=True)
    source = CASE / (f"input_foreign_{CHIPS}.geojson.gz" if case == "tokyo-foreign" else f"input_{CHIPS}.geojson.gz")
    (folder / f"{CHIPS}.geojson").write_bytes(gzip.decompress(source.read_bytes()))
    shutil.copy(CASE / f"input_{CHIPS}_splits.csv", folder / f"{CHIPS}_splits.csv")
    foreign = ORIGINAL / "proportions" / "tokyo" / f"lp_compute_{RANDOM5K}.geojson.gz"
    (folder / f"{RANDOM5K}.geojson").write_bytes(gzip.decompress(foreign.read_bytes()))
    shutil.copy(CASE / "README.txt", folder / "README.txt")
    chips = np.load(CASE / "chips.npz")
    absent = {IMAGES: set() if complete else set(chips["no_image"].tolist()),
              LABELS: set(chips["no_label"].tolist()) if case == "tokyo-foreign" and not complete else set()}
    for name, arrays in ((IMAGES, chips["images"]), (LABELS, chips["labels"][:, None])):
        target = folder / CHIPS / name
        target.mkdir(parents=True, exist_ok=True)
        for identifier, values, transform in zip(chips["ids"].tolist(), arrays, chips["transforms"]):
            if identifier in absent[name]:
                continue
            with rasterio.open(target / f"{identifier}.tif", "w", driver="GTiff", width=values.shape[2],
                               height=values.shape[1], count=values.shape[0], dtype=values.dtype, crs="EPSG:4326",
                               transform=rasterio.Affine.from_gdal(*transform)) as out:
                out.write(values)
    return folder / f"{CHIPS}.geojson"


def export_input(tiles: Path, labels: bool = True, classes: tuple = ()) -> ExportInput:
    """What the export stage hands the format: the chips whose image exists (0.1.7's folders have no
    download record, so no classes: the packaged esa-world-cover recipe gives them)."""
    from geetiles.tiles_file import load_tiles

    frame = load_tiles(tiles)
    base = tiles.with_suffix("")
    images = DatasetInfo(IMAGES, base / IMAGES, ("vis-red", "vis-green", "vis-blue"), "uint8", None, (), {})
    label_info = DatasetInfo(LABELS, base / LABELS, ("Map",), "uint8", None, classes, {}) if labels else None
    keep = np.array([images.path(i).exists() for i in frame["identifier"]])
    frame = frame[keep].reset_index(drop=True)
    identifiers = frame["identifier"].astype(str).to_numpy()
    return ExportInput(tiles, frame, identifiers, np.full(len(identifiers), "all", dtype=object), images, label_info,
                       "tokyo", 0, {})


def read_zip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}


def pickles(members: dict[str, bytes]) -> dict[str, dict]:
    return {Path(name).stem: pickle.loads(data) for name, data in members.items() if name.endswith(".pkl")}


def digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def type_name(value) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


@pytest.fixture(scope="module", params=["tokyo", "tokyo-foreign"])
def made(request, tmp_path_factory):
    """(case, tiles file, our zip) on 0.1.7's inputs of that case."""
    case = request.param
    tiles = build_case(tmp_path_factory.mktemp(case), case)
    foreign = tiles.with_name(f"{RANDOM5K}.geojson") if case == "tokyo-foreign" else None
    readme = tiles.with_name("README.txt") if case == "tokyo-foreign" else None
    return case, tiles, write_legacy_zip(export_input(tiles), foreign, readme)


def test_same_zip_folder_and_member_names_as_the_original(made, original):
    case, tiles, zip_path = made
    members = original["members"][case]
    assert zip_path == tiles.parent / f"{FOLDER}.zip"
    assert (tiles.parent / FOLDER / "data").is_dir()
    ours = read_zip(zip_path)
    assert set(ours) == {m["name"] for m in members}
    assert {Path(n).parent.as_posix() for n in ours} == {FOLDER, f"{FOLDER}/data"}
    with zipfile.ZipFile(zip_path) as archive:
        assert {i.compress_type for i in archive.infolist()} == {m["compress_type"] for m in members} == {zipfile.ZIP_DEFLATED}
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    # the folder beside the zip holds exactly the zip's members, and the marker that lets a rerun replace it
    on_disk = {f"{FOLDER}/{p.relative_to(tiles.parent / FOLDER).as_posix()}": p.read_bytes()
               for p in (tiles.parent / FOLDER).rglob("*") if p.is_file() and p.name != ".geetiles-made"}
    assert on_disk == ours
    assert (tiles.parent / FOLDER / ".geetiles-made").is_file()
    with zipfile.ZipFile(zip_path) as archive:
        assert archive.comment == b"made by geetiles: legacy_zip"


def test_pickles_have_the_original_keys_types_and_values(made, original):
    """Keys in 0.1.7's order and its Python types; arrays of the same shape and values (ours in the
    chips' uint8, 0.1.7's cast to int16), labels mapped to 1..9 as 0.1.7's map_values did, corners
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
                expected_dtype = "uint8" if key in ("chip", "label") else described["dtype"]
                assert str(record[key].dtype) == expected_dtype, (identifier, key)
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
                    assert list(got[key]) == list(value) and all(type(k) is str and type(v) is float for k, v in got[key].items())
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
    """The pickles 0.1.7 wrote, loaded as they are: same structure, element types and values."""
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
                assert value.dtype == np.int16 and record[key].dtype == np.uint8
                assert np.array_equal(record[key].astype(np.int16), value)
            elif key == "center_latlon":
                assert type(record[key]) is type(value) and record[key].dtype == value.dtype
            elif key == "corners":
                assert {k: v.tolist() for k, v in record[key].items()} == {k: v.tolist() for k, v in value.items()}
            else:
                assert record[key] == value


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
            theirs = {f["properties"]["identifier"]: f for f in _gz_json(CASE / "meta" / f"foreign_{name}.gz")["features"]}
            mine = {f["properties"]["identifier"]: f for f in json.loads(ours[f"{FOLDER}/{name}"])["features"]}
            assert mine.keys() == theirs.keys() == packed
            for identifier, feature in theirs.items():
                got = mine[identifier]["properties"]
                want = feature["properties"]
                assert list(got) == list(want), name
                assert got["area_km2"] == pytest.approx(want["area_km2"], rel=1e-9)  # 0.1.7 recomputed it
                assert {k: v for k, v in got.items() if k != "area_km2"} == {k: v for k, v in want.items() if k != "area_km2"}
                assert np.allclose(mine[identifier]["geometry"]["coordinates"], feature["geometry"]["coordinates"],
                                   rtol=0, atol=1e-12)


def test_geometries_of_the_tiles_copy_are_the_tiles_files(made):
    _, tiles, zip_path = made
    ours = read_zip(zip_path)
    source = {f["properties"]["identifier"]: f["geometry"] for f in json.loads(tiles.read_bytes())["features"]}
    copy = json.loads(ours[f"{FOLDER}/tokyo_partitions_aschips.geojson"])
    assert copy["crs"] == json.loads(tiles.read_bytes())["crs"]
    for feature in copy["features"]:
        assert feature["geometry"] == source[feature["properties"]["identifier"]]


def test_a_rerun_gives_the_same_bytes(made):
    case, tiles, zip_path = made
    before = zip_path.read_bytes()
    foreign = tiles.with_name(f"{RANDOM5K}.geojson") if case == "tokyo-foreign" else None
    readme = tiles.with_name("README.txt") if case == "tokyo-foreign" else None
    assert write_legacy_zip(export_input(tiles), foreign, readme, workers=2) == zip_path  # worker processes too
    assert zip_path.read_bytes() == before


@pytest.mark.skipif(not REF_PYTHON.exists(), reason="0.1.7's throw-away venv (numpy 1.26) is not on this machine")
def test_the_pickles_load_under_numpy_1(made):
    _, _, zip_path = made
    script = ("import sys, zipfile, pickle, warnings; warnings.simplefilter('error'); z = zipfile.ZipFile(sys.argv[1]); "
              "print(sum(type(pickle.loads(z.read(n))['chip']).__name__ == 'ndarray' for n in z.namelist() if n.endswith('.pkl')))")
    result = subprocess.run([str(REF_PYTHON), "-c", script, str(zip_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["240"]


def test_the_pickles_name_numpys_constructors_as_numpy_1_does():
    import io
    import pickletools

    record = {"chip": np.arange(12, dtype=np.uint8).reshape(2, 2, 3), "center_latlon": np.array([1.5, -2.5]),
              "big": np.arange(40000, dtype=np.uint16), "scalar": np.float64(0.5), "corners": {"nw": np.zeros(2)}}
    data = legacy_zip.dumps(record)
    pickletools.dis(data, out=io.StringIO())  # well formed: every memo entry defined before it is used
    strings = [arg for op, arg, _ in pickletools.genops(data) if isinstance(arg, str)]
    assert "numpy.core.multiarray" in strings and not any(s.startswith("numpy._core") for s in strings)
    loaded = pickle.loads(data)
    assert loaded.keys() == record.keys() and type(loaded["scalar"]) is np.float64 and loaded["scalar"] == 0.5
    for key in ("chip", "center_latlon", "big"):
        assert loaded[key].dtype == record[key].dtype and np.array_equal(loaded[key], record[key])
        assert loaded[key].flags.writeable
    assert legacy_zip.dumps(record) == data


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


def test_a_rerun_without_a_chip_leaves_no_stale_pickle_and_nothing_else_changes(tmp_path):
    tiles = build_case(tmp_path)
    zip_path = write_legacy_zip(export_input(tiles))
    outputs = {zip_path, tiles.parent / FOLDER}

    def snapshot():
        return {p: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest()) for p in tmp_path.rglob("*")
                if p.is_file() and not any(o == p or o in p.parents for o in outputs)}

    before = snapshot()
    inp = export_input(tiles)
    gone = inp.identifiers[0]
    keep = inp.identifiers != gone
    inp.frame, inp.identifiers, inp.splits = inp.frame[keep].reset_index(drop=True), inp.identifiers[keep], inp.splits[keep]
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
    with pytest.raises(Exception):
        write_legacy_zip(inp)
    assert zip_path.read_bytes() == before
    assert sorted(p.relative_to(tmp_path) for p in (tiles.parent / FOLDER).rglob("*")) == folder_files
    assert sorted(p.name for p in tiles.parent.iterdir() if p.name.startswith(".")) == []


def test_native_dtypes_are_kept(tmp_path):
    """0.1.7 cast to int16 (float32 truncated, uint16 above 32767 wrapped)."""
    import rasterio

    folder = tmp_path / "f"
    tiles = build_case(folder)
    inp = export_input(tiles, labels=False)
    values = {"f": np.linspace(0.25, 2.75, 2 * 20 * 20, dtype=np.float32).reshape(2, 20, 20),
              "u": np.full((1, 20, 20), 60000, dtype=np.uint16)}
    for name, array in values.items():
        chip_folder = tiles.with_suffix("") / name
        chip_folder.mkdir()
        with rasterio.open(chip_folder / f"{inp.identifiers[0]}.tif", "w", driver="GTiff", width=20, height=20,
                           count=array.shape[0], dtype=array.dtype, crs="EPSG:4326",
                           transform=rasterio.Affine(0.05, 0, 0, 0, -0.05, 1)) as out:
            out.write(array)
        one = ExportInput(tiles, inp.frame.iloc[:1].reset_index(drop=True), inp.identifiers[:1], inp.splits[:1],
                          DatasetInfo(name, chip_folder, (), str(array.dtype), None, (), {}), None, "t", 0, {})
        record = pickles(read_zip(write_legacy_zip(one)))[inp.identifiers[0]]
        expected = array[0] if array.shape[0] == 1 else np.moveaxis(array, 0, -1)
        assert record["chip"].dtype == array.dtype and np.array_equal(record["chip"], expected)


def test_class_keys_and_ranges_map_pixel_values_as_0_1_7_did():
    worldcover = value_map(DatasetInfo(LABELS, Path("."), ("Map",), "uint8", 0.0, (), {}))  # the packaged recipe
    pixels = np.array([[0, 10, 20], [95, 100, 15]], dtype=np.uint8)
    mapped = apply_map(pixels, worldcover)
    assert mapped.dtype == np.uint8 and mapped.tolist() == [[0, 1, 2], [10, 11, 0]]
    ranges = value_map(DatasetInfo("t", Path("."), ("b",), "uint8", None,
                                   ({"code": 0, "min": None, "max": 51.0}, {"code": 1, "min": 51.0, "max": None}), {}))
    assert apply_map(np.array([0, 50, 51, 255], dtype=np.uint8), ranges).tolist() == [0, 0, 1, 1]
    wide = value_map(DatasetInfo("t", Path("."), ("b",), "uint8", None, ({"code": 1, "key": 1000},), {}))
    assert apply_map(np.array([1, 2], dtype=np.uint8), wide).dtype == np.uint16
    signed = value_map(DatasetInfo("t", Path("."), ("b",), "int16", -1.0, ({"code": -5, "key": 1}, {"code": 300, "key": 2}), {}))
    assert apply_map(np.array([-5, 300, -1, 7], dtype=np.int16), signed).tolist() == [1, 2, 0, 0]
    assert apply_map(np.array([300.0, np.nan], dtype=np.float32), signed).tolist() == [2, 0]
    plain = DatasetInfo("t", Path("."), ("b",), "uint8", None, ({"code": 3}, {"code": 7}), {})
    assert value_map(plain) is None  # 0.1.7's identity map_values: pixels untouched
    assert value_map(DatasetInfo(IMAGES, Path("."), ("r",), "uint8", None, (), {})) is None


def test_names_follow_0_1_7():
    assert legacy_zip.hashless_name(Path(f"/x/{CHIPS}.geojson")) == "tokyo_partitions_aschips.geojson"
    assert legacy_zip.foreign_name(Path(f"/a_b/{RANDOM5K}.geojson")) == "5k"
    with pytest.raises(UserInputError):
        legacy_zip.foreign_name(Path("/x/communes.geojson"))


def test_zip64_fields_are_read_back(tmp_path, monkeypatch):
    """Sizes and offsets past the ZIP64 limit (lowered here) go in ZIP64 fields that readers accept."""
    import zlib

    monkeypatch.setattr(legacy_zip, "ZIP64_LIMIT", 100)
    payloads = {f"f/{i}.bin": os.urandom(150) for i in range(4)}
    with open(tmp_path / "t.zip", "wb") as file:
        writer = legacy_zip.ZipWriter(file)
        for name, data in payloads.items():
            compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
            writer.add(name, zlib.crc32(data), len(data), compressor.compress(data) + compressor.flush())
        writer.close()
    assert read_zip(tmp_path / "t.zip") == payloads


# --- geet zip.dataset, end to end -------------------------------------------------------------------

def test_geet_zip_dataset_from_another_directory(tmp_path, original):
    """Relative paths from the parent folder (0.1.7 packaged 0 chips and overwrote its metadata);
    with every chip present: 0.1.7's 240 chips plus the 6 it had no image for."""
    tiles = build_case(tmp_path / "case", "tokyo-foreign", complete=True)
    result = run_cli(geet_cmd("zip.dataset", "--tiles_file", f"case/{tiles.name}", "--images_dataset_def", IMAGES,
                              "--labels_dataset_def", LABELS, "--foreign_tiles_file", f"case/{RANDOM5K}.geojson",
                              "--readme_file", "case/README.txt"), tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    members = read_zip(tmp_path / "case" / f"{FOLDER}.zip")
    records = pickles(members)
    assert len(records) == 246 and set(original["tokyo-foreign"]) < set(records)
    assert {n for n in members if not n.endswith(".pkl")} == \
        {m["name"] for m in original["members"]["tokyo-foreign"] if not m["name"].endswith(".pkl")}
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
    result = run_cli(geet_cmd("zip.dataset", "--tiles_file", tiles.name, "--images_dataset_def", IMAGES), tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    records = pickles(read_zip(tmp_path / f"tokyo_{IMAGES}.zip"))
    assert len(records) == 246 and all("label" not in r for r in records.values())


def test_geet_zip_dataset_missing_chips_refused_or_skipped_as_0_1_7(tmp_path, original):
    """0.1.7 silently left out the 6 chips without an image; by default they refuse the export
    (nothing written), and --skip_missing leaves them out as 0.1.7 did, saying so (exit 1)."""
    tiles = build_case(tmp_path)
    args = ("zip.dataset", "--tiles_file", tiles.name, "--images_dataset_def", IMAGES, "--labels_dataset_def", LABELS)
    refused = run_cli(geet_cmd(*args), tmp_path)
    assert refused.returncode != 0 and "missing" in refused.stderr
    assert not (tmp_path / f"{FOLDER}.zip").exists()
    skipped = run_cli(geet_cmd(*args, "--skip_missing"), tmp_path)
    assert skipped.returncode == 1 and "6 chips" in skipped.stderr
    members = read_zip(tmp_path / f"{FOLDER}.zip")
    assert set(members) == {m["name"] for m in original["members"]["tokyo"]}
