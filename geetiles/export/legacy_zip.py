"""The ``legacy_zip`` format: the zip of one pickle per chip that geetiles 0.1.7's ``geet zip.dataset``
made, so code written for 0.1.7's datasets reads it unchanged.

Beside the tiles file ``{dir}/{aoi}_partitions_{name}_{hash}.geojson`` it writes the folder
``{dir}/{aoi}_{images}[_{labels}]/`` and its zip ``{dir}/{aoi}_{images}[_{labels}].zip`` (members
named ``{aoi}_{images}[_{labels}]/...``, ZIP_DEFLATED), holding, as 0.1.7 did:

* ``data/{id}.pkl``: a dict per chip, keys in this order:
  ``chip`` (height, width, bands) array (height, width for one band); ``chip_id`` str;
  ``center_latlon`` float64 array [lat, lon]; ``corners`` {'nw': array [lat_max, lon_min],
  'se': array [lat_min, lon_max]}; with labels, where the chip's label file exists, ``label``
  (height, width) and ``label_proportions`` {'partitions_aschip': the row's ``{labels}_proportions``,
  'partitions_{F}': its ``{labels}_proportions_at_{F}``, 'foreignid_{F}': its ``foreignid_{F}``}
  (the foreign keys with a foreign file whose ``foreignid_{F}`` column exists; F is the token after
  ``_partitions_`` in the foreign file's name). Where the dataset's classes carry a proportions
  ``key`` (esa-world-cover: 10→1 ... 100→11) or are ranges, pixel values become those keys, as
  0.1.7's ``map_values`` made them (values in no class become 0).
* the metadata, hash removed from the names: ``{aoi}_partitions_{name}.geojson`` (the tiles file;
  with labels, without the ``_proportions`` columns of other label datasets),
  ``{aoi}_partitions_{name}_expanded.geojson`` (every ``*_proportions*`` column also spread into
  ``{col}__{key}`` columns, missing keys 0), ``{aoi}_partitions_{F}.geojson`` (the foreign file),
  ``splits.csv`` (``{tiles base}_splits.csv``) and ``README.txt`` (the readme file).

Differences from 0.1.7, on purpose (its defects, fixed):

* It works from any working directory: paths come from the tiles file's location (0.1.7 doubled a
  relative directory, packaged 0 chips and overwrote the previous metadata with empty files).
* It works without labels (0.1.7 crashed with UnboundLocalError).
* ``splits.csv`` and the tiles-file copies list the packaged chips only, whatever the tiles name
  (0.1.7 never filtered ``splits.csv``, and filtered only files whose name contains ``aschip``).
* A rerun replaces the folder wholesale (no stale ``.pkl`` of chips no longer packaged) and the zip
  atomically; a failed run leaves the previous outputs untouched. Nothing else is written: 0.1.7 also
  wrote ``{tiles base}_expanded.geojson`` beside the tiles file, overwriting any file of that name.
* Only a folder and zip geetiles made are replaced (its ``.geetiles-made`` file, its zip comment;
  0.1.7's and older ones by their layout): anything else at those names is refused before anything
  is written (``geetiles/destinations.py``); 0.1.7 added its files to whatever was there.
* Arrays keep the chips' native dtype (0.1.7 cast to int16, which wrecks float32 and uint16 above
  32767; the values of uint8 chips are unchanged). Mapped labels keep the label chips' dtype when
  the keys fit in it (uint8 for esa-world-cover).
* ``center_latlon`` is the true centre of the chip's bounding box. 0.1.7 averaged the five points of
  the closed envelope ring, counting its first corner (south-west) twice, so its centre lies a tenth
  of the chip's height south and a tenth of its width west of the true one: 0.1.7's value is
  ``[lat - (lat_max - lat_min) / 10, lon - (lon_max - lon_min) / 10]``.
* The zip is reproducible: fixed member dates (1980-01-01), metadata files first (sorted), then
  ``data/`` sorted by identifier, zlib level 6 (0.1.7: level 9, which made 100×100 Sentinel-2-like
  chips 0.03 % smaller and took a fifth longer; every unzip reads both). The same inputs give the
  same bytes.
* The pickles (protocol 4, as 0.1.7's) name numpy's constructors ``numpy.core.multiarray._reconstruct``
  and ``.scalar``, as numpy 1.x writes them, so every numpy (1.x and 2.x) loads them without a
  warning; numpy 2's own ``numpy._core`` names load in numpy >= 1.26 only.
* The expanded file keeps the tiles file's ``area_km2`` and ``identifier`` (0.1.7 recomputed them,
  differing in the last digits), and GeoJSON files rewritten (filtered or columns dropped) keep every
  value exactly (shortest round-trip floats); unchanged ones are byte copies, as in 0.1.7. When the
  foreign file's hash-less name would be the tiles file's (both ``aschips`` grids of one AOI), the
  foreign copy keeps its hash (0.1.7 overwrote the tiles-file copy with it).
* 0.1.7's ``include_chip_in_dataset`` veto (only its unusable ``humanpop2015`` definition had one)
  does not exist.

Chips are read, pickled, written and compressed in worker processes from 2,000 chips; the main
process writes the metadata and the zip. Luxembourg's 2,774 chips (100×100-pixel RGB images and
labels) take about 6 s on 2 cores (0.1.7: 72 s for 2,496), the creation of 2,774 files included.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import pickle
import shutil
import struct
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from geetiles.errors import UserInputError
from geetiles.export.inputs import DatasetInfo, ExportInput
from geetiles.names import check_member, child_path, inside
from geetiles.tiff import read_pixels

BATCH = 250
PARALLEL_FROM = 2000  # fewer chips are written faster in one process than after starting workers
LEVEL = 6  # zlib level of every member
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


# --- what goes in ---------------------------------------------------------------------------------

def names(inp: ExportInput) -> tuple[str, str]:
    """(AOI name, ``{aoi}_{images}[_{labels}]``): the folder and zip names 0.1.7 gives."""
    if inp.images is None:
        raise UserInputError("the legacy zip needs an images dataset (export.images=NAME or --images_dataset_def NAME)")
    aoi = Path(inp.tiles_path).name.split("_")[0]
    folder = f"{aoi}_{inp.images.name}" + (f"_{inp.labels.name}" if inp.labels is not None else "")
    return aoi, folder


def check_outputs(tiles_path: Path, images: str, labels: str | None) -> None:
    """Refuse (one line, nothing written) when the folder or zip this would replace is not one
    geetiles made (``geetiles/destinations.py``)."""
    from geetiles.destinations import LEGACY_ZIP, check_folder, check_zip

    folder = Path(tiles_path).resolve().parent / (f"{Path(tiles_path).name.split('_')[0]}_{images}"
                                                  + (f"_{labels}" if labels is not None else ""))
    check_folder(folder, LEGACY_ZIP)
    check_zip(folder.with_name(f"{folder.name}.zip"), LEGACY_ZIP, folder.name)


def hashless_name(path: Path) -> str:
    """``{aoi}_partitions_{name}_{hash}.geojson`` → ``{aoi}_partitions_{name}.geojson`` (as 0.1.7's
    remove_hash: everything up to the last ``_``); a name without ``_`` is kept."""
    stem, suffix = os.path.splitext(path.name)
    return ("_".join(stem.split("_")[:-1]) + suffix) if "_" in stem else path.name


def foreign_name(path: Path) -> str:
    """F of ``*_partitions_{F}_*``: the name 0.1.7 gives the foreign keys and columns."""
    name = Path(path).name
    if "_partitions_" not in name:
        raise UserInputError(f"foreign tiles file {name!r} is not named {{aoi}}_partitions_{{name}}_{{hash}}.geojson; its "
                             "name part gives the foreign columns (foreignid_{name}); give the foreign tiles file itself")
    from geetiles.names import check_name

    return check_name(f"the foreign name of {name!r}", name.split("_partitions_", 1)[1].split("_")[0],
                      "it names the pickles' foreign keys (rename the file)")


def value_map(info: DatasetInfo | None) -> ValueMap | None:
    """What turns a dataset's pixel values into its proportions keys, as 0.1.7's ``map_values`` did,
    or None where 0.1.7's map was the identity (no class keyed otherwise than by its code, no
    ranges). Chips without classes in their record (0.1.7's folders) take those of the packaged
    recipe of the same name."""
    if info is None:
        return None
    classes = list(info.classes)
    if not classes:
        from geetiles.sources.base import class_table
        from geetiles.sources.catalog import find_recipe

        recipe = find_recipe(info.name)
        if recipe is None or not recipe.classes and not recipe.range_map:
            return None
        classes = class_table(recipe.classes, recipe.remap, recipe.range_map, recipe.proportion_keys)
    if not any("key" in c or "min" in c or "max" in c for c in classes):
        return None
    from geetiles.proportions.classes import LabelTable

    return ValueMap(LabelTable.from_classes(info.name, classes, info.nodata))


class ValueMap:
    """Pixel values → their class's proportions key (values in no class, and nodata, → 0), in the
    values' dtype when every key fits in it, else the smallest integer type that holds them; one
    table lookup per chip for 8- and 16-bit integer chips."""

    def __init__(self, table) -> None:
        self.table = table
        self.keys = np.asarray([int(k) for k in table.keys], dtype=np.int64)
        self.low, self.high = min(0, int(self.keys.min())), max(0, int(self.keys.max()))
        self._lookup: dict = {}

    def dtype(self, dtype: np.dtype) -> np.dtype:
        if dtype.kind in "iu" and np.iinfo(dtype).min <= self.low and self.high <= np.iinfo(dtype).max:
            return dtype
        return np.result_type(np.min_scalar_type(self.low), np.min_scalar_type(self.high))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        if values.dtype.kind in "iu" and values.dtype.itemsize <= 2:
            if values.dtype not in self._lookup:
                info = np.iinfo(values.dtype)
                self._lookup[values.dtype] = self._map(np.arange(info.min, info.max + 1).astype(values.dtype))
            lookup = self._lookup[values.dtype]
            return lookup[values] if values.dtype.kind == "u" else lookup[values.astype(np.int32) - np.iinfo(values.dtype).min]
        return self._map(values)

    def _map(self, values: np.ndarray) -> np.ndarray:
        from geetiles.proportions.classes import NODATA, UNKNOWN

        index = self.table.class_index(values)
        out = np.where((index == NODATA) | (index == UNKNOWN), 0, self.keys[np.clip(index, 0, None)])
        return out.astype(self.dtype(values.dtype))


def apply_map(values: np.ndarray, mapping: ValueMap | None) -> np.ndarray:
    """``values`` through ``mapping`` (unchanged without one)."""
    return values if mapping is None else mapping(values)


def _plain(value):
    """A tiles-file value as 0.1.7's pickles hold it: Python types, not numpy scalars."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def chip_records(inp: ExportInput, foreign: str | None) -> list[dict]:
    """Per chip (in the frame's order), the pickle's dict without its arrays."""
    import shapely

    frame = inp.frame
    bounds = shapely.bounds(np.asarray(frame.geometry.values, dtype=object))
    columns = set(frame.columns)
    labels = inp.labels.name if inp.labels is not None else None
    here = f"{labels}_proportions" if labels else None
    there = f"{labels}_proportions_at_{foreign}" if labels and foreign else None
    foreign_id = f"foreignid_{foreign}" if foreign else None
    values = {c: frame[c].tolist() for c in (here, there, foreign_id) if c and c in columns}
    records = []
    for row, identifier in enumerate(inp.identifiers.tolist()):
        west, south, east, north = bounds[row].tolist()
        proportions = {}
        if here in values and not _missing(values[here][row]):
            proportions["partitions_aschip"] = _plain(values[here][row])
        if foreign_id in values:
            if there in values and not _missing(values[there][row]):
                proportions[f"partitions_{foreign}"] = _plain(values[there][row])
            proportions[f"foreignid_{foreign}"] = _plain(values[foreign_id][row])
        records.append({"chip_id": str(identifier),
                        "center_latlon": np.array([(south + north) / 2, (west + east) / 2]),
                        "corners": {"nw": np.array([north, west]), "se": np.array([south, east])},
                        "label_proportions": proportions or None})
    return records


# --- pickles ----------------------------------------------------------------------------------------

def _numpy1_constructors() -> dict:
    """numpy's pickle constructors → the (module, name) numpy 1.x writes for them."""
    reconstruct = np.zeros(1).__reduce__()[0]
    scalar = np.float64(0).__reduce__()[0]
    return {reconstruct: ("numpy.core.multiarray", "_reconstruct"), scalar: ("numpy.core.multiarray", "scalar")}


def _numpy1_prefix(constructors: dict) -> tuple[bytes, dict]:
    """Opcodes that put each constructor, by its numpy 1.x name, in the unpickler's memo (entries
    0, 1, ...), and the pickler memo that makes the pickler refer to those entries."""
    prefix = bytearray(pickle.PROTO + bytes([4]))
    for module, name in constructors.values():
        for text in (module, name):
            prefix += pickle.SHORT_BINUNICODE + bytes([len(text)]) + text.encode("ascii")
        prefix += pickle.STACK_GLOBAL + pickle.MEMOIZE + pickle.POP
    return bytes(prefix), {id(obj): (index, obj) for index, obj in enumerate(constructors)}


_PREFIX, _MEMO = _numpy1_prefix(_numpy1_constructors())


def dumps(record: dict) -> bytes:
    """``record`` pickled (protocol 4) naming numpy's constructors as numpy 1.x does.

    The (C) pickler starts with numpy's constructors in its memo, so it refers to them by memo
    index; the prefix, ahead of its output, defines those entries under their numpy 1.x names."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=4)
    pickler.memo = dict(_MEMO)
    pickler.dump(record)
    data = buffer.getvalue()
    if data[:2] != pickle.PROTO + bytes([4]):
        raise RuntimeError("unexpected pickle header")
    return _PREFIX + memoryview(data)[2:]


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _pixels(path: Path, table) -> np.ndarray:
    """A chip as 0.1.7's skimage read it: (height, width, bands), or (height, width) for one band."""
    pixels = read_pixels(path)
    pixels = pixels[0] if pixels.shape[0] == 1 else np.ascontiguousarray(np.moveaxis(pixels, 0, -1))
    return np.ascontiguousarray(apply_map(pixels, table))


def _pickle_batch(spec, records: list[dict]) -> list[tuple[str, int, int, bytes]]:
    """One batch, in a worker: write each chip's pickle into ``data`` and return (identifier, crc32,
    size, deflated bytes) for the zip."""
    images, labels, image_map, label_map, data = spec
    out = []
    for base in records:
        identifier = base["chip_id"]
        record = {"chip": _pixels(images.path(identifier), image_map), "chip_id": identifier,
                  "center_latlon": base["center_latlon"], "corners": base["corners"]}
        if labels is not None:
            label_path = labels.path(identifier)
            if label_path.exists():  # as 0.1.7: a chip without its label file is packaged without label
                record["label"] = _pixels(label_path, label_map)
                if base["label_proportions"] is not None:
                    record["label_proportions"] = base["label_proportions"]
        raw = dumps(record)
        child_path(data, identifier, ".pkl").write_bytes(raw)
        out.append((identifier, zlib.crc32(raw), len(raw), _deflate(raw)))
    return out


# --- metadata files ---------------------------------------------------------------------------------

_HEADER_ORDER = ("type", "name", "crs")


def _geojson_text(collection: dict, features: list[dict]) -> str:
    """A FeatureCollection laid out as GDAL writes it (one feature a line); floats as the shortest
    text that reads back as the same value."""
    members = [k for k in _HEADER_ORDER if k in collection] + \
              [k for k in collection if k not in _HEADER_ORDER and k != "features"]
    head = "".join(f"{json.dumps(k)}: {json.dumps(collection[k], ensure_ascii=False)},\n" for k in members)
    body = ",\n".join(json.dumps(f, ensure_ascii=False) for f in features)
    return "{\n" + head + '"features": [\n' + body + ("\n" if features else "") + "]\n}\n"


def expand(features: list[dict]) -> list[dict] | None:
    """0.1.7's expand_proportions: every property whose name contains ``_proportions`` (a dict per
    chip) also as ``{name}__{key}`` properties, keys in order of first appearance, missing ones 0;
    None when there is no such property."""
    columns: list[str] = []
    for feature in features:
        for name in feature.get("properties") or {}:
            if "_proportions" in name and name not in columns:
                columns.append(name)
    if not columns:
        return None
    keys = {c: {} for c in columns}
    for feature in features:
        props = feature.get("properties") or {}
        for c in columns:
            if isinstance(props.get(c), dict):
                keys[c].update(dict.fromkeys(props[c]))
    new = [(c, k, f"{c}__{k}") for c in columns for k in keys[c]]
    names = {n for _, _, n in new}
    out = []
    for feature in features:
        props = {k: v for k, v in (feature.get("properties") or {}).items() if k not in names}
        for column, key, name in new:
            shares = props.get(column)
            value = shares.get(key) if isinstance(shares, dict) else None
            props[name] = 0.0 if _missing(value) else value
        out.append({**feature, "properties": props})
    return out


def _filter_csv(text: str, keep: set[str]) -> str:
    """The rows of a ``splits.csv`` whose identifier is in ``keep``, lines otherwise untouched."""
    lines = text.splitlines(keepends=True)
    if not lines:
        return text
    header = next(csv.reader([lines[0]]))
    if "identifier" not in header:
        return text
    column = header.index("identifier")
    kept = [lines[0]]
    for line in lines[1:]:
        fields = next(csv.reader([line]), []) if '"' in line else line.rstrip("\r\n").split(",")
        if len(fields) > column and fields[column] in keep:
            kept.append(line)
    return "".join(kept)


def write_metadata(inp: ExportInput, work: Path, included: set[str], foreign_file: Path | None,
                   readme_file: Path | None) -> list[str]:
    """The metadata files into ``work``; returns their names."""
    tiles_path = Path(inp.tiles_path)
    tiles_copy = hashless_name(tiles_path)
    written = []
    source = tiles_path.read_bytes()
    collection = json.loads(source)
    features = collection.get("features") or []
    ids = [str((f.get("properties") or {}).get("identifier")) for f in features]
    labels = inp.labels.name if inp.labels is not None else None
    drop = {c for f in features for c in (f.get("properties") or {})
            if labels is not None and "_proportions" in c and labels not in c}
    selected = [f for f, i in zip(features, ids) if i in included]
    if len(selected) == len(features) and not drop:
        (work / tiles_copy).write_bytes(source)
    else:
        trimmed = [{**f, "properties": {k: v for k, v in (f.get("properties") or {}).items() if k not in drop}}
                   for f in selected]
        (work / tiles_copy).write_text(_geojson_text(collection, trimmed), encoding="utf-8")
    written.append(tiles_copy)
    spread = expand(features)
    if spread is not None:  # as 0.1.7: no expanded file without proportions
        stem, suffix = os.path.splitext(tiles_copy)
        expanded = f"{stem}_expanded{suffix}"
        (work / expanded).write_text(_geojson_text(collection, [f for f, i in zip(spread, ids) if i in included]),
                                     encoding="utf-8")
        written.append(expanded)
    if foreign_file is not None:
        name = hashless_name(foreign_file)
        if name in written:
            name = foreign_file.name
        shutil.copyfile(foreign_file, work / name)
        written.append(name)
    splits = tiles_path.with_name(f"{tiles_path.stem}_splits.csv")
    if splits.is_file():
        with open(splits, encoding="utf-8", newline="") as file:
            text = file.read()
        with open(work / "splits.csv", "w", encoding="utf-8", newline="") as file:
            file.write(_filter_csv(text, included))
        written.append("splits.csv")
    if readme_file is not None:
        shutil.copyfile(readme_file, work / "README.txt")
        written.append("README.txt")
    return sorted(written)


# --- the zip ----------------------------------------------------------------------------------------

ZIP64_LIMIT = (1 << 31) - 1  # as Python's zipfile: larger values go in ZIP64 fields
_FULL = 0xFFFFFFFF  # "see the ZIP64 field"
_DOS_TIME = 0
_DOS_DATE = ((ZIP_DATE[0] - 1980) << 9) | (ZIP_DATE[1] << 5) | ZIP_DATE[2]


class ZipWriter:
    """A zip written from members deflated elsewhere (raw deflate, with their CRC-32 and size), laid
    out as Python's zipfile writes one (made on Unix, rw-r--r--, no directory entries), with ZIP64
    fields where sizes, offsets or the member count need them."""

    def __init__(self, file) -> None:
        self.file = file
        self.offset = 0
        self.central: list[bytes] = []

    def add(self, name: str, crc: int, size: int, deflated: bytes) -> None:
        encoded = name.encode("utf-8")
        flags = 0 if name.isascii() else 0x800  # UTF-8 name
        packed = len(deflated)
        large = size > ZIP64_LIMIT or packed > ZIP64_LIMIT
        local_extra = struct.pack("<HHQQ", 1, 16, size, packed) if large else b""
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if large else 20, flags, 8, _DOS_TIME, _DOS_DATE, crc,
                             _FULL if large else packed, _FULL if large else size, len(encoded), len(local_extra))
        self.file.write(header + encoded + local_extra)
        self.file.write(deflated)
        wide = [(size, size > ZIP64_LIMIT), (packed, packed > ZIP64_LIMIT), (self.offset, self.offset > ZIP64_LIMIT)]
        fields = [value for value, needed in wide if needed]
        extra = struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields) if fields else b""
        version = 45 if fields else 20
        size32, packed32, offset32 = (_FULL if needed else value for value, needed in wide)
        self.central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | version, version, flags, 8,
                                        _DOS_TIME, _DOS_DATE, crc, packed32, size32, len(encoded), len(extra), 0, 0, 0,
                                        0o100644 << 16, offset32) + encoded + extra)
        self.offset += len(header) + len(encoded) + len(local_extra) + packed

    def close(self, comment: bytes = b"") -> None:
        start, count = self.offset, len(self.central)
        directory = b"".join(self.central)
        self.file.write(directory)
        if count >= 0xFFFF or start > ZIP64_LIMIT or len(directory) > ZIP64_LIMIT:
            self.file.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, (3 << 8) | 45, 45, 0, 0, count, count,
                                        len(directory), start))
            self.file.write(struct.pack("<IIQI", 0x07064B50, 0, start + len(directory), 1))
        self.file.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(count, 0xFFFF), min(count, 0xFFFF),
                                    min(len(directory), _FULL), min(start, _FULL), len(comment)) + comment)


# --- the whole ----------------------------------------------------------------------------------------

def write_legacy_zip(inp: ExportInput, foreign_file: Path | None = None, readme_file: Path | None = None, *,
                     workers: int | None = None, progress=None) -> Path:
    """Write ``{tiles dir}/{aoi}_{images}[_{labels}].zip`` and the folder of the same name beside it
    (see the module's docstring); return the zip's path."""
    from geetiles import destinations
    from geetiles.atomic import atomic_path

    _, folder_name = names(inp)
    tiles_path = Path(inp.tiles_path).resolve()
    for what, path in (("foreign tiles file", foreign_file), ("readme file", readme_file)):
        if path is not None and not Path(path).is_file():
            raise UserInputError(f"the {what} {str(path)!r} does not exist")
    foreign_file = Path(foreign_file).resolve() if foreign_file is not None else None
    readme_file = Path(readme_file).resolve() if readme_file is not None else None
    foreign = foreign_name(foreign_file) if foreign_file is not None else None
    records = chip_records(inp, foreign)
    unique: dict[str, dict] = {}
    for record in records:
        unique.setdefault(record["chip_id"], record)  # one pickle per identifier (same bbox, same id)
    records = [unique[i] for i in sorted(unique)]
    check_member(folder_name)  # one plain name (the AOI part comes from the tiles file's name)
    folder = inside(tiles_path.parent, folder_name)
    zip_path = inside(tiles_path.parent, f"{folder_name}.zip")
    destinations.check_zip(zip_path, destinations.LEGACY_ZIP, folder_name)
    destinations.remove_stale_temporary(zip_path)
    with destinations.building(folder, destinations.LEGACY_ZIP) as work:
        (work / "data").mkdir()
        spec = (inp.images, inp.labels, value_map(inp.images), value_map(inp.labels), work / "data")
        batches = _pickled(spec, records, workers)
        with ThreadPoolExecutor(1) as aside:  # the metadata while the first chips are pickled
            metadata = aside.submit(write_metadata, inp, work, set(unique), foreign_file, readme_file)
            first = list(itertools.islice(batches, 1))
            names_written = metadata.result()
        with atomic_path(zip_path) as tmp, open(tmp, "wb") as file:
            archive = ZipWriter(file)
            for name in names_written:
                raw = (work / name).read_bytes()
                archive.add(check_member(f"{folder_name}/{name}"), zlib.crc32(raw), len(raw), _deflate(raw))
            for batch in itertools.chain(first, batches):
                for identifier, crc, size, deflated in batch:
                    archive.add(check_member(f"{folder_name}/data/{identifier}.pkl"), crc, size, deflated)
                if progress is not None:
                    progress.update(len(batch), 0, 0)
            archive.close(destinations.zip_comment(destinations.LEGACY_ZIP))
    return zip_path


def _pickled(spec, records: list[dict], workers: int | None):
    """The batches' results in order, from worker processes for large datasets (a few batches in
    flight, so memory stays bounded)."""
    batches = [records[start:start + BATCH] for start in range(0, len(records), BATCH)]
    workers = _workers(workers, len(records))
    if workers <= 1:
        for batch in batches:
            yield _pickle_batch(spec, batch)
        return
    from geetiles.process_pool import process_pool

    with process_pool(workers) as pool:
        pending: deque = deque()
        queued = iter(batches)
        for batch in queued:
            pending.append(pool.submit(_pickle_batch, spec, batch))
            if len(pending) >= 2 * workers:
                break
        while pending:
            done = pending.popleft().result()
            following = next(queued, None)
            if following is not None:
                pending.append(pool.submit(_pickle_batch, spec, following))
            yield done


def _workers(workers: int | None, total: int) -> int:
    if workers is not None:
        return max(1, workers)
    return 1 if total < PARALLEL_FROM else max(1, min(os.cpu_count() or 1, total // BATCH))
