"""The ``export`` stage (and ``geet zip.dataset``): package the downloaded chips as a dataset.

Formats (``export.formats``, several in one run): ``geotiff`` (a folder of Cloud-Optimised GeoTIFFs
with a GeoParquet index, a dataset card, the config and checksums), ``webdataset`` (tar shards per
split, under the same folder) and ``legacy_zip`` (geetiles 0.1.7's zip of pickles, beside the tiles
file). Every chip's files are checked against the download manifests: by the GeoTIFF writer as it reads
them when that is the only format (one read of each file), else before anything is written.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from geetiles import layout
from geetiles.config import ExportFormat, OnMissing, Stage
from geetiles.errors import RunFailed, UserInputError
from geetiles.tiles import existing_tiles_file, stage_tiles_file

log = logging.getLogger(__name__)


def check(experiment) -> None:
    """Settings that cannot work, refused before any stage runs."""
    config = experiment.config
    export = config.export
    if not export.formats:
        return
    if not export.shard_size_mb > 0:
        raise UserInputError(f"export.shard_size_mb={export.shard_size_mb:g} must be a positive number of MiB")
    if export.min_shards < 1:
        raise UserInputError(f"export.min_shards={export.min_shards} must be at least 1")
    if export.workers is not None and export.workers < 1:
        raise UserInputError(f"export.workers={export.workers} must be at least 1 (or null: one per core)")
    if export.zip and ExportFormat.geotiff not in export.formats and ExportFormat.webdataset not in export.formats:
        raise UserInputError(
            "export.zip=true packs the dataset folder, which only geotiff and webdataset write; "
            "legacy_zip is a zip already"
        )
    for key in ("foreign_file", "readme_file"):
        value = getattr(export, key)
        if value and not Path(value).expanduser().is_file():
            raise UserInputError(f"export.{key}={value!r} does not exist; give an existing file or leave it unset")
    if Stage.tiling in config.stages or not export.tiles_file:
        if export.dest and _folder_formats(config):  # the tiles file comes later, the destination is known now
            _check_dataset_destination(config, Path(export.dest).expanduser().resolve())
        return
    tiles_path = existing_tiles_file(export.tiles_file, "export.tiles_file")
    if Stage.download not in config.stages:
        from geetiles.export.selection import dataset_info

        images, labels = _names(config)
        if images is None:
            raise UserInputError(
                "the export needs an images dataset: set export.images=NAME (its chip folder) or source=..."
            )
        dataset_info(tiles_path, images, "images")
        if labels is not None:
            dataset_info(tiles_path, labels, "labels")
    if _folder_formats(config):
        _destination(config, tiles_path, _names(config)[0] or "images")
    images, labels = _names(config)
    if ExportFormat.legacy_zip in export.formats and images is not None:
        from geetiles.export.legacy_zip import check_outputs

        check_outputs(tiles_path, images, labels)


def run(experiment, context) -> None:
    config = experiment.config
    export = config.export
    if not export.formats:
        log.info("export.formats=[]: no dataset written")
        return
    tiles_path = stage_tiles_file(context.tiles_file, export.tiles_file, "export")
    images, labels = _names(config)
    if images is None:
        log.info("no images dataset (source=none and no export.images): nothing to export")
        return
    started = time.perf_counter()
    inp = build_input(experiment, tiles_path, images, labels)
    outputs = write_formats(experiment, inp)
    context.outputs.extend(outputs)
    log.info(
        "export: %d chips (%s) in %.1f s → %s",
        len(inp.identifiers),
        ", ".join(f"{(inp.splits == s).sum()} {s}" for s in inp.split_names()),
        time.perf_counter() - started,
        ", ".join(str(p) for p in outputs),
    )
    if inp.skipped:
        folder = any(f in (ExportFormat.geotiff, ExportFormat.webdataset) for f in export.formats)
        where = (
            f"listed in {outputs[0] / 'skipped.csv'}"
            if folder
            else "; ".join(f"{k}: {v}" for k, v in list(inp.skipped.items())[:5])
            + ("; ..." if len(inp.skipped) > 5 else "")
        )
        raise RunFailed(
            f"export: {len(inp.skipped)} chips were missing or corrupt and are left out (export.on_missing=skip; "
            f"{where}); download them again and rerun"
        )


def build_input(experiment, tiles_path: Path, images: str, labels: str | None):
    """The chips to export, verified; raises (nothing written) when chips are missing or corrupt and
    export.on_missing=refuse."""
    import numpy as np

    from geetiles.export.inputs import ExportInput
    from geetiles.export.selection import dataset_info, split_of_chips
    from geetiles.record import redact
    from geetiles.tiles import load_tiles

    export = experiment.config.export
    frame = load_tiles(tiles_path)
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    if "identifier" not in frame.columns or not len(frame):
        raise UserInputError(f"tiles file {tiles_path.name} has no chips (or no identifier column); nothing to export")
    image_info = dataset_info(tiles_path, images, "images")
    label_info = dataset_info(tiles_path, labels, "labels") if labels else None
    column = export.splits or ("split" if "split" in frame.columns else None)
    splits = split_of_chips(frame, column, explicit=export.splits is not None)
    keep = np.ones(len(frame), dtype=bool) if export.include_gap else splits != "gap"
    frame, splits = frame[keep].reset_index(drop=True), splits[keep]
    identifiers = frame["identifier"].astype(str).to_numpy()
    if ExportFormat.webdataset in export.formats:
        from geetiles.export.webdataset import check_keys

        check_keys(identifiers)  # sample keys: no '.', no repeats (refused before anything is written)
    checks = _checks_while_writing(export, image_info, label_info, identifiers)
    problems = {} if checks is not None else verify_both(image_info, label_info, identifiers, export.workers)
    from geetiles.names import suggest

    name = export.name or suggest(f"{tiles_path.name.split('_')[0]}-{images}")  # export.name: checked at start
    inp = ExportInput(
        tiles_path,
        frame,
        identifiers,
        splits.astype(str).astype(object),
        image_info,
        label_info,
        name,
        export.seed,
        redact(experiment.resolved),
        checks=checks,
    )
    leave_out(inp, problems, export.on_missing)
    return inp


def verify_both(image_info, label_info, identifiers, workers) -> dict[str, str]:
    """Every chip's image (and label) file checked against its download manifest: id → reasons."""
    from geetiles.export.selection import merge_problems, verify

    problems = verify(image_info, identifiers, workers)
    return merge_problems(problems, verify(label_info, identifiers, workers) if label_info is not None else {})


def _checks_while_writing(export, image_info, label_info, identifiers):
    """The recorded checksums, when the geotiff writer may check each chip as it reads it (one read of
    each file instead of two: reading two million small files is minutes on a busy disk): the geotiff
    format alone (the others read the chips again) and a download manifest for each dataset."""
    from geetiles.export.inputs import RecordedChecks
    from geetiles.export.selection import recorded_checksums

    if set(export.formats) != {ExportFormat.geotiff}:
        return None
    image = recorded_checksums(image_info, identifiers)
    label = recorded_checksums(label_info, identifiers) if label_info is not None else None
    if image is None or (label_info is not None and label is None):
        return None
    return RecordedChecks(*image, *(label or (None, None)))


def leave_out(inp, problems: dict[str, str], on_missing) -> None:
    """Refuse the export (RunFailed, nothing written) for chips missing or corrupt, or with
    export.on_missing=skip take them out of ``inp``, which records them."""
    import numpy as np

    if not problems:
        return
    if on_missing is OnMissing.refuse:
        sample = "; ".join(f"{k}: {v}" for k, v in list(problems.items())[:3])
        raise RunFailed(
            f"export refused: {len(problems)} of {len(inp.identifiers)} chips are missing or corrupt ({sample}"
            f"{'; ...' if len(problems) > 3 else ''}); nothing written. Rerun the download (it checks and "
            "records the chips on disk and fetches only what is missing or corrupt), or set "
            "export.on_missing=skip to leave them out"
        )
    good = ~np.isin(inp.identifiers, list(problems))
    inp.frame, inp.splits = inp.frame[good].reset_index(drop=True), inp.splits[good]
    inp.identifiers = inp.identifiers[good]
    inp.skipped = dict(problems)
    log.warning("export: %d chips missing or corrupt are left out (export.on_missing=skip)", len(problems))


def write_formats(experiment, inp) -> list[Path]:
    """Write every configured format; return what was written. Every destination is checked first,
    so a refused one leaves nothing written."""
    export = experiment.config.export
    formats = list(dict.fromkeys(export.formats))
    outputs: list[Path] = []
    folder_formats = _folder_formats(experiment.config)
    dest = _destination(experiment.config, inp.tiles_path, inp.images.name) if folder_formats else None
    if ExportFormat.legacy_zip in formats:
        from geetiles.export.legacy_zip import check_outputs

        check_outputs(inp.tiles_path, inp.images.name, inp.labels.name if inp.labels is not None else None)
    if dest is not None:
        outputs.append(_write_folder(experiment, inp, dest, folder_formats))
        if export.zip:
            from geetiles.export.folder import zip_folder

            outputs.append(zip_folder(dest, zip_of(dest)))
    if ExportFormat.legacy_zip in formats:
        from geetiles.export.legacy_zip import write_legacy_zip

        foreign = Path(export.foreign_file).expanduser().resolve() if export.foreign_file else None
        readme = Path(export.readme_file).expanduser().resolve() if export.readme_file else None
        outputs.append(write_legacy_zip(inp, foreign, readme, workers=export.workers))
    return outputs


def _write_folder(experiment, inp, dest: Path, formats: list) -> Path:
    from geetiles.atomic import write_text
    from geetiles.destinations import DATASET, building
    from geetiles.export.card import write_card
    from geetiles.export.folder import write_manifest
    from geetiles.progress import Progress
    from geetiles.record import yaml_text

    export = experiment.config.export
    refuse = export.on_missing is OnMissing.refuse
    known: dict[str, str] = {}
    with building(dest, DATASET, "export.dest") as work:
        if ExportFormat.geotiff in formats:
            from geetiles.export.geotiff import write_chips
            from geetiles.export.index import write_index

            progress = Progress(len(inp.identifiers), experiment.config.download.progress, "export geotiff")
            try:
                written = write_chips(inp, work, export.workers, progress, stop_at_problem=refuse)
            finally:
                progress.close()
            if written.problems:  # found while writing (inp.checks): as the check before writing would
                if refuse and written.stopped:  # stopped at the first: every chip checked for the message
                    every = verify_both(inp.images, inp.labels, inp.identifiers, export.workers)
                    leave_out(inp, every, export.on_missing)
                leave_out(inp, written.problems, export.on_missing)
                written = written.without(inp.identifiers)
            inp.checks = None  # every chip written is checked now
            write_index(inp, written, work)
            known.update({f"images/{i}.tif": h for i, h in zip(inp.identifiers, written.image_sha256)})
            if inp.labels is not None:
                known.update({f"labels/{i}.tif": h for i, h in zip(inp.identifiers, written.label_sha256)})
        if ExportFormat.webdataset in formats:
            from geetiles.export.webdataset import write_webdataset

            summary = write_webdataset(
                inp, work / "webdataset", export.shard_size_mb, export.min_shards, workers=export.workers
            )
            for split in summary.get("splits", {}).values() if isinstance(summary.get("splits"), dict) else []:
                for shard in split.get("shards", []) if isinstance(split, dict) else []:
                    if isinstance(shard, dict) and shard.get("file") and shard.get("sha256"):
                        known[f"webdataset/{shard['file']}"] = shard["sha256"]
        if inp.skipped:
            import csv
            import io

            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerows([("identifier", "reason"), *sorted(inp.skipped.items())])
            write_text(work / "skipped.csv", text.getvalue())
        write_text(work / "config.yaml", yaml_text(inp.resolved_config))
        write_card(inp, work, export.license, [f.value for f in formats], dest.name)
        ready: dict[str, list[str]] = {}
        if ExportFormat.geotiff in formats:  # STAC and Croissant, from the finished index, before the manifest
            from concurrent.futures import ThreadPoolExecutor

            from geetiles.export.croissant import write_croissant
            from geetiles.export.folder import folder_lines
            from geetiles.export.stac import write_stac

            made = _download_time(inp)  # not the export's clock: the same chips give the same bytes
            # the STAC items are mostly Parquet encoding, which releases the GIL: the chip folders'
            # manifest lines are listed meanwhile (their files are final)
            with ThreadPoolExecutor(1, thread_name_prefix="geetiles-stac") as pool:
                stac = pool.submit(write_stac, work, export.license, made)
                write_croissant(work, export.license, made.date() if made else None)
                ready = {
                    name: folder_lines(work, name, known) for name in ("images", "labels") if (work / name).is_dir()
                }
                stac.result()
        write_manifest(work, known, ready)
    return dest


def _download_time(inp):
    """When the chips' pixels were made (the download record's time), for STAC and Croissant dates: an
    export of the same chips then writes the same bytes. None for 0.1.7's folders, which record no time."""
    import datetime as dt

    for info in (inp.images, inp.labels):
        stamp = (info.record or {}).get("created_utc") if info is not None else None
        if stamp:
            try:
                return dt.datetime.fromisoformat(str(stamp))
            except ValueError:
                continue
    return None


def _names(config) -> tuple[str | None, str | None]:
    from geetiles.sources.naming import folder_name

    export = config.export
    return export.images or folder_name(config.source), export.labels or folder_name(config.labels)


def _folder_formats(config) -> list:
    """The configured formats written into the dataset folder."""
    return [f for f in dict.fromkeys(config.export.formats) if f in (ExportFormat.geotiff, ExportFormat.webdataset)]


def zip_of(dest: Path) -> Path:
    """``{dest}.zip`` (export.zip=true)."""
    return dest.with_name(f"{dest.name}.zip")


def _check_dataset_destination(config, dest: Path) -> None:
    """Refuse a destination (and, with export.zip, its zip) that geetiles did not make as a dataset."""
    from geetiles.destinations import DATASET, check_folder, check_zip

    check_folder(dest, DATASET, "export.dest")
    if config.export.zip:
        check_zip(zip_of(dest), DATASET, dest.name, "export.dest")


def _destination(config, tiles_path: Path, images: str) -> Path:
    """export.dest, or ``{tiles file without .geojson}_dataset``; never inside the chip folders, and
    never a folder (or zip) that geetiles did not make as a dataset."""
    from geetiles.destinations import output_folder

    default, chips_root = layout.default_dataset_folder(tiles_path), layout.chips_root(tiles_path)
    dest = output_folder(config.export.dest, default, tiles_path, chips_root, "export.dest")
    _check_dataset_destination(config, dest)
    return dest
