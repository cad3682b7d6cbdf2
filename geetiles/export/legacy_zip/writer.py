"""The whole legacy zip: the records, the pickles (in worker processes from ``PARALLEL_FROM`` chips), the
metadata files meanwhile, then the zip, atomically, in the folder geetiles replaces wholesale."""

from __future__ import annotations

import itertools
import os
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from geetiles.errors import UserInputError
from geetiles.export.inputs import ExportInput
from geetiles.export.legacy_zip.metadata import write_metadata
from geetiles.export.legacy_zip.paths import foreign_name, names
from geetiles.export.legacy_zip.pickles import pickle_batch
from geetiles.export.legacy_zip.records import chip_records
from geetiles.export.legacy_zip.values import value_map
from geetiles.export.legacy_zip.zip_writer import ZipWriter, deflate
from geetiles.names import check_member, inside

BATCH = 250
PARALLEL_FROM = 2000  # chips from which pickles are made in worker processes (starting them takes a while)


def write_legacy_zip(
    inp: ExportInput,
    foreign_file: Path | None = None,
    readme_file: Path | None = None,
    *,
    workers: int | None = None,
    progress=None,
) -> Path:
    """Write ``{tiles dir}/{aoi}_{images}[_{labels}].zip`` and the folder of the same name beside it
    (see ``geetiles.export.legacy_zip``); return the zip's path."""
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
                archive.add(check_member(f"{folder_name}/{name}"), zlib.crc32(raw), len(raw), deflate(raw))
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
    batches = [records[start : start + BATCH] for start in range(0, len(records), BATCH)]
    workers = _workers(workers, len(records))
    if workers <= 1:
        for batch in batches:
            yield pickle_batch(spec, batch)
        return
    from geetiles.process_pool import process_pool

    with process_pool(workers) as pool:
        pending: deque = deque()
        queued = iter(batches)
        for batch in queued:
            pending.append(pool.submit(pickle_batch, spec, batch))
            if len(pending) >= 2 * workers:
                break
        while pending:
            done = pending.popleft().result()
            following = next(queued, None)
            if following is not None:
                pending.append(pool.submit(pickle_batch, spec, following))
            yield done


def _workers(workers: int | None, total: int) -> int:
    if workers is not None:
        return max(1, workers)
    return 1 if total < PARALLEL_FROM else max(1, min(os.cpu_count() or 1, total // BATCH))
