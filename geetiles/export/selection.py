"""Which chips an export packages, and proof that their files are the ones the download wrote.

Every chip of the tiles file (the guard gap's aside) must have its image (and label) file, and each
file must hash to the checksum its download manifest recorded: a chip that is missing, truncated or
edited since is reported and, by default, refuses the export before anything is written.

Chips the download adopted from disk (after a lost manifest, a killed or disk-full run, or in a folder of
geetiles 0.1.7) carry the checksum of the file they were adopted from, so they pass as downloaded ones
do. A folder with no manifest at all (0.1.7's, never resumed by this geetiles) has nothing to check
against: every chip is decoded whole instead (its band count and dtype those of the folder), and the log
says that rerunning the download once records their checksums (it adopts valid chips without fetching).
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from geetiles.errors import UserInputError
from geetiles.export.inputs import ALL, DatasetInfo

log = logging.getLogger(__name__)

VERIFY_BATCH = 5000  # chips per message to a worker
VERIFY_PARALLEL_FROM = 20_000  # fewer chips are checked faster in one process than after starting workers


def dataset_info(tiles_path: Path, name: str, role: str) -> DatasetInfo:
    """The chip folder ``name`` of this tiles file, with what its download record says."""
    from geetiles.layout import chips_folder
    from geetiles.names import check_name
    from geetiles.record import read_download_record

    check_name(f"export.{role}", name, "it names a chip folder beside the tiles file")
    folder = chips_folder(tiles_path, name)
    if not folder.is_dir():
        raise UserInputError(
            f"{role} dataset folder {folder} does not exist: the download stage makes the chips "
            f"(python -m geetiles stages=[download] download.tiles_file={tiles_path} ..., or geet download "
            f"--tiles_file {tiles_path.name} --dataset_def {name}); set export.{role} to another dataset"
        )
    record = read_download_record(folder) or {}
    recorded_tiles = record.get("tiles_file")
    if recorded_tiles and Path(recorded_tiles).name != tiles_path.name:
        raise UserInputError(
            f"{role} dataset {folder} was downloaded for {Path(recorded_tiles).name}, not {tiles_path.name}; "
            "export the tiles file its chips belong to"
        )
    bands, dtype, nodata = record.get("bands"), record.get("dtype"), record.get("nodata")
    if bands is None or dtype is None:
        bands, dtype, nodata = _from_a_chip(folder)
    return DatasetInfo(
        name,
        folder,
        tuple(bands),
        str(dtype),
        None if nodata is None else float(nodata),
        tuple(record.get("classes") or ()),
        record,
    )


def _from_a_chip(folder: Path) -> tuple[list[str], str, float | None]:
    """Bands, dtype and nodata of a folder without a download record (0.1.7's), from one chip."""
    from geetiles.tiff import UnreadableChip, read_header

    for path in sorted(folder.glob("*.tif"))[:1]:
        try:
            header = read_header(path)
        except UnreadableChip as error:
            raise UserInputError(
                f"{path} is not a readable chip ({error}); run `geet cleanup --basedir {folder}` "
                "to remove unreadable chips, then download again"
            ) from None
        names = [*header.descriptions, *[None] * (header.count - len(header.descriptions))][: header.count]
        return [d or f"b{i + 1}" for i, d in enumerate(names)], header.dtype, header.nodata
    raise UserInputError(f"{folder} holds no chip (*.tif); download it first")


def split_of_chips(frame, column: str | None, explicit: bool) -> np.ndarray:
    """Each chip's split: the values of ``column``; everything in one split ("all") without one."""
    if column is None or column not in frame.columns:
        if explicit:
            available = [c for c in frame.columns if "split" in c] or ["none"]
            raise UserInputError(
                f"export.splits={column!r} is not a column of the tiles file (split columns: "
                f"{', '.join(available)}); run the split stage first or set export.splits=null"
            )
        return np.full(len(frame), ALL, dtype=object)
    values = np.array(frame[column].astype(object).to_numpy(), dtype=object)
    missing = np.array([v is None or (isinstance(v, float) and v != v) for v in values])
    values[missing] = ALL
    values = values.astype(str).astype(object)
    _check_split_names(np.unique(values.astype(str)), column)
    return values


def _check_split_names(splits: np.ndarray, column: str) -> None:
    """Split values name files (``splits/{split}.parquet``, shard folders): the rule for names."""
    from geetiles.names import RULE, shown, unsafe_identifiers

    count, bad = unsafe_identifiers(splits)
    if count:
        raise UserInputError(
            f"column {column!r} of the tiles file has {count} split value(s) that break the rule for "
            f"names ({RULE}): {', '.join(shown(v) for v in bad)}; split values name files of the "
            "dataset: rerun the split stage, or set export.splits to another column"
        )


def verify(info: DatasetInfo, identifiers: np.ndarray, workers: int | None = None) -> dict[str, str]:
    """Chips whose file is missing or differs from the checksum its manifest recorded: id → reason.
    In a folder without any manifest (0.1.7's) every chip is decoded instead (see the module's doc).
    Many chips are checked in worker processes (``workers``; None: one per core), in batches."""
    from geetiles.manifest import Manifest

    table = Manifest(info.folder).previous
    names = [str(i) for i in identifiers.tolist()]
    if len(table):
        statuses, sums = _recorded(table, names)
    else:
        statuses = sums = None
        log.info(
            "%s has no download manifest (a folder of geetiles 0.1.7, or its manifest was lost): its chips are "
            "decoded to check them, not compared with checksums; running the download once records them "
            "(it adopts valid chips without fetching them)",
            info.folder,
        )
    batches = [(start, min(start + VERIFY_BATCH, len(names))) for start in range(0, len(names), VERIFY_BATCH)]
    parts = [
        (info, names[a:b], None if statuses is None else statuses[a:b], None if sums is None else sums[a:b])
        for a, b in batches
    ]
    count = (workers or os.cpu_count() or 1) if len(names) >= VERIFY_PARALLEL_FROM else 1
    problems: dict[str, str] = {}
    if count <= 1 or len(parts) <= 1:
        for part in parts:
            problems.update(_verify_batch(*part))
        return problems
    from geetiles.process_pool import process_pool

    with process_pool(min(count, len(parts))) as pool:
        for found in pool.map(_verify_batch, *zip(*parts)):  # in order: the same dict order as one process
            problems.update(found)
    return problems


def _recorded(table, names: list[str]) -> tuple[list[str], list[str]]:
    """Each chip's status and checksum in the manifest ('' where it has none; the last row of an
    identifier recorded twice counts, as in a dict). Looked up in Arrow (a hash table of the manifest's
    identifiers), not as a Python string per row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    reversed_rows = pa.array(np.arange(len(table) - 1, -1, -1, dtype=np.int64))
    latest_first = table.select(["identifier", "status", "checksum"]).take(reversed_rows)  # the last row wins
    rows = pc.index_in(pa.array(names, type=pa.string()), value_set=latest_first.column("identifier"))
    statuses = pc.fill_null(latest_first.column("status").take(rows), "")
    sums = pc.fill_null(latest_first.column("checksum").take(rows), "")
    return statuses.to_pylist(), sums.to_pylist()


def _verify_batch(
    info: DatasetInfo, names: list[str], statuses: list[str] | None, sums: list[str] | None
) -> dict[str, str]:
    """One batch (in a worker for many chips): each file read once, hashed (or decoded without a
    manifest) and compared."""
    problems: dict[str, str] = {}
    for index, identifier in enumerate(names):
        data, reason = read_chip_bytes(info, identifier)
        if data is not None:
            if statuses is None:
                reason = _undecodable(data, info)
                reason = f"{info.name}: {reason}" if reason else ""
            else:
                reason = checksum_problem(info, data, statuses[index], sums[index])
        if reason:
            problems[identifier] = reason
    return problems


def read_chip_bytes(info: DatasetInfo, identifier: str) -> tuple[bytes | None, str]:
    """A chip file's bytes, or None and why not (``{dataset}: missing``, ``... unreadable (...)``)."""
    from geetiles.names import is_safe_name

    if is_safe_name(identifier):  # plain strings: pathlib cost more per chip than the checking
        path = os.path.join(os.fspath(info.folder), f"{identifier}.tif")
    else:
        path = info.path(identifier)  # raises, naming the rule
    try:
        with open(path, "rb") as file:
            return file.read(), ""
    except OSError as error:
        return None, unreadable_reason(info, error)


def unreadable_reason(info: DatasetInfo, error: OSError) -> str:
    """Why a chip file could not be read, as the export's checks report it."""
    return f"{info.name}: missing" if isinstance(error, FileNotFoundError) else f"{info.name}: unreadable ({error})"


def checksum_problem(info: DatasetInfo, data: bytes, status: str | None, expected: str | None) -> str:
    """Why a chip's bytes are not the ones its download manifest recorded ('' when they are)."""
    status, expected = status or "", expected or ""
    if status != "done" or not expected:
        return f"{info.name}: not in the download manifest as done ({status or 'absent'})"
    if hashlib.blake2b(data, digest_size=16).hexdigest() != expected:
        return f"{info.name}: corrupt (differs from the checksum the download recorded)"
    return ""


def recorded_checksums(info: DatasetInfo, identifiers: np.ndarray) -> tuple[list[str], list[str]] | None:
    """Each chip's status and checksum in its download manifest, or None for a folder without one."""
    from geetiles.manifest import JOURNAL, MANIFEST, Manifest
    from geetiles.manifest_rows import read_csv

    manifest = info.folder / MANIFEST
    if manifest.is_file() and not (info.folder / JOURNAL).exists():  # a finished download: three columns
        table = read_csv(manifest, ["identifier", "status", "checksum"])  # (_recorded takes each chip's last row)
    else:  # a download killed before its manifest was folded: its journal too
        table = Manifest(info.folder).previous
    return _recorded(table, [str(i) for i in identifiers.tolist()]) if len(table) else None


def merge_problems(image_problems: dict[str, str], label_problems: dict[str, str]) -> dict[str, str]:
    """One reason per chip, the image's first: each image problem in order, then the labels'."""
    problems = dict(image_problems)
    for identifier, reason in label_problems.items():
        problems[identifier] = f"{problems[identifier]}; {reason}" if identifier in problems else reason
    return problems


def _undecodable(data: bytes, info: DatasetInfo) -> str:
    """Why a chip of a folder without manifest cannot be exported ('' when every pixel decodes and it
    has the folder's band count and dtype)."""
    from geetiles.tiff import UnreadableChip, decode_pixels

    try:
        pixels = decode_pixels(data)
    except UnreadableChip:  # cut short, garbage: any decoding error
        return "corrupt (does not decode as a GeoTIFF)"
    if pixels.shape[0] != len(info.bands) or str(pixels.dtype) != info.dtype:
        return (
            f"not like the folder's other chips ({pixels.shape[0]} bands of {pixels.dtype}, "
            f"not {len(info.bands)} of {info.dtype})"
        )
    return ""
