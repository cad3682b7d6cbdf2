"""Everything the report shows, gathered from the files beside a tiles file before anything is drawn:
the chips, the AOI, the datasets (images, labels with their classes), the downloads, the split report,
the foreign units and the records. Missing inputs are None; a tiles file without chips is refused."""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geetiles.errors import UserInputError
from geetiles.layout import records_glob, splits_report
from geetiles.report.chips import ChipArrays, column_names, read_chips
from geetiles.report.downloads import DownloadSummary, chip_folders, read_downloads

log = logging.getLogger(__name__)

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#c7c7c7",
)


@dataclass
class Images:
    name: str
    folder: Path
    nodata: float | None


@dataclass
class Labels:
    name: str
    folder: Path | None  # the label chips, when downloaded
    keys: tuple[str, ...]  # class keys, as the proportions key them
    names: tuple[str, ...]
    colors: tuple[str, ...]
    table: object | None  # geetiles.classes.LabelTable: pixel values → class index

    def describe(self, key: str) -> tuple[str, str]:
        """(name, colour) of a class key."""
        if key in self.keys:
            i = self.keys.index(key)
            return self.names[i], self.colors[i]
        return key, PALETTE[zlib.crc32(key.encode()) % len(PALETTE)]


@dataclass
class Foreign:
    path: Path
    name: str
    units: ChipArrays


@dataclass
class ReportInputs:
    tiles_path: Path
    chips: ChipArrays
    aoi_name: str | None
    aoi: object | None  # shapely geometry of the AOI
    aoi_path: Path | None
    images: Images | None
    labels: Labels | None
    downloads: list[DownloadSummary]
    splits_report: dict | None
    foreign: Foreign | None
    tiles_record: dict | None  # X.geetiles.yaml
    records: list[Path] = field(default_factory=list)  # every record beside the tiles file
    config: dict = field(default_factory=dict)  # the config shown on the page
    config_source: str = ""  # where it comes from
    run_config: dict = field(default_factory=dict)  # this run's resolved config (secrets redacted)


def gather(experiment, context, tiles_path: Path) -> ReportInputs:
    from geetiles.record import record_path, redact

    config = experiment.config
    report = config.report
    columns = column_names(tiles_path)
    folders = chip_folders(tiles_path)
    tiles_record = _yaml(record_path(tiles_path))
    images = _images(config, folders)
    labels = _labels(config, context, folders, columns)
    chips = read_chips(
        tiles_path, labels.name if labels else None, labels.keys if labels else (), geometry_up_to=report.max_polygons
    )
    if not len(chips):
        raise UserInputError(f"tiles file {tiles_path.name} has no chips; nothing to report")
    if labels is not None:
        labels = _with_keys(labels, chips.keys)
    aoi_name, aoi, aoi_path = _aoi(experiment, tiles_path, tiles_record)
    records = sorted(tiles_path.parent.glob(records_glob(tiles_path)))
    run_config = redact(experiment.resolved)
    from geetiles.config import Stage

    if Stage.tiling in config.stages or tiles_record is None or not isinstance(tiles_record.get("config"), dict):
        shown, source = run_config, "this run"
    else:
        shown, source = tiles_record["config"], record_path(tiles_path).name
    return ReportInputs(
        tiles_path=tiles_path,
        chips=chips,
        aoi_name=aoi_name,
        aoi=aoi,
        aoi_path=aoi_path,
        images=images,
        labels=labels,
        downloads=read_downloads(folders),
        splits_report=_splits_report(tiles_path, chips),
        foreign=_foreign(report, context, tiles_path, records),
        tiles_record=tiles_record,
        records=records,
        config=shown,
        config_source=source,
        run_config=run_config,
    )


def _yaml(path: Path) -> dict | None:
    import yaml

    if not path.exists():
        return None
    try:
        value = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        log.warning("report: cannot read %s (%s)", path, error)
        return None
    return value if isinstance(value, dict) else None


def _records_of(folders: dict[str, Path]) -> dict[str, dict]:
    from geetiles.record import read_download_record

    out = {}
    for name, folder in folders.items():
        try:
            out[name] = read_download_record(folder) or {}
        except UserInputError:
            out[name] = {}
    return out


def _images(config, folders: dict[str, Path]) -> Images | None:
    """report.images, else this run's source, else the one downloaded dataset without classes."""
    from geetiles.sources.naming import folder_name

    name = config.report.images
    if name and name not in folders:
        raise UserInputError(
            f"report.images={name!r}: no chip folder of that name beside the tiles file "
            f"(datasets: {', '.join(folders) or 'none'}); set report.images to one of them or leave it unset"
        )
    if not name:
        derived = folder_name(config.source)
        if derived in folders:
            name = derived
        else:
            records = _records_of(folders)
            imagery = [n for n, r in records.items() if r.get("bands") and not r.get("classes")]
            name = imagery[0] if len(imagery) == 1 else None
    if not name:
        return None
    from geetiles.record import read_download_record

    try:
        record = read_download_record(folders[name]) or {}
    except UserInputError:
        record = {}
    nodata = record.get("nodata")
    return Images(name, folders[name], None if nodata is None else float(nodata))


def _labels(config, context, folders: dict[str, Path], columns: tuple[str, ...]) -> Labels | None:
    """report.labels, else this run's labels, else the one labels dataset (downloaded or in the columns)."""
    from geetiles.sources.naming import folder_name

    def present(name: str) -> bool:
        return (
            name in folders or f"{name}_proportions" in columns or any(c.startswith(f"{name}_class_") for c in columns)
        )

    name = config.report.labels
    if name and not present(name):
        raise UserInputError(
            f"report.labels={name!r}: no chip folder or {name}_proportions column beside the tiles file; "
            "set report.labels to a downloaded labels dataset or leave it unset"
        )
    if not name:
        candidates = [getattr(context, "labels_dir", None) and context.labels_dir.name, folder_name(config.labels)]
        name = next((c for c in candidates if c and present(c)), None)
    if not name:
        records = _records_of(folders)
        found = [n for n, r in records.items() if r.get("classes")]
        in_columns = [c[: -len("_proportions")] for c in columns if c.endswith("_proportions")]
        found += [name for name in in_columns if name not in found]
        name = found[0] if len(found) == 1 else None
    if not name:
        return None
    folder = folders.get(name)
    table = None
    if folder is not None:
        from geetiles.classes import label_table

        try:
            table = label_table(folder, None)
        except UserInputError as error:
            log.info("report: classes of %s unknown (%s); keys shown as names", name, error)
    if table is not None:
        return Labels(name, folder, table.keys, table.names, table.colors, table)
    return Labels(name, folder, (), (), (), None)


def _with_keys(labels: Labels, keys: tuple[str, ...]) -> Labels:
    """Labels knowing every key found in the data (names and colours of keys its record lacks)."""
    extra = [k for k in keys if k not in labels.keys]
    if not extra:
        return labels
    taken = set(labels.colors)
    free = [c for c in PALETTE if c not in taken] or list(PALETTE)
    colors = [free[i % len(free)] for i in range(len(extra))]
    return Labels(
        labels.name,
        labels.folder,
        (*labels.keys, *extra),
        (*labels.names, *extra),
        (*labels.colors, *colors),
        labels.table,
    )


def _aoi(experiment, tiles_path: Path, tiles_record: dict | None):
    """(AOI name, its geometry, the file) from ``{data_dir}/{aoi name}.wkt``; the name from the tiles
    file's record, else from its file name; None where absent."""
    from geetiles.tiles import parse_tiles_file_name

    names = []
    if tiles_record and isinstance(tiles_record.get("config"), dict):
        names.append((tiles_record["config"].get("aoi") or {}).get("name"))
    parsed = parse_tiles_file_name(tiles_path)
    names.append(parsed["aoi"] if parsed else tiles_path.name.split("_")[0])
    from geetiles.names import is_safe_name

    names = [n for n in dict.fromkeys(names) if is_safe_name(n)]  # a name from a record is a file name here
    for name in names:
        for folder in dict.fromkeys((tiles_path.parent, experiment.data_dir)):
            path = folder / f"{name}.wkt"
            if not path.is_file():
                continue
            import shapely

            try:
                geometry = shapely.from_wkt(path.read_text(encoding="utf-8").strip())
            except Exception as error:  # shapely raises GEOSException and others
                log.warning("report: cannot read the AOI %s (%s); its outline is left out", path, error)
                return name, None, None
            return name, geometry, path
    return (names[0] if names else None), None, None


def _splits_report(tiles_path: Path, chips: ChipArrays) -> dict | None:
    if chips.split is None:
        return None
    path = splits_report(tiles_path)
    if not path.exists():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        log.warning("report: cannot read %s (%s)", path, error)
        return None
    return value if isinstance(value, dict) else None


def _foreign(report, context, tiles_path: Path, records: list[Path]) -> Foreign | None:
    """report.foreign_file, else this run's foreign units, else those the intersect stage recorded."""
    from geetiles.tiles import existing_tiles_file, parse_tiles_file_name

    path = None
    if report.foreign_file:
        path = existing_tiles_file(report.foreign_file, "report.foreign_file", "the foreign units' tiles file")
    elif getattr(context, "foreign_file", None):
        path = Path(context.foreign_file)
    else:
        for record in records:
            if ".foreignid_" in record.name:
                value = (_yaml(record) or {}).get("foreign_file")
                if value and Path(value).exists():
                    path = Path(value)
                    break
    if path is None or not path.exists():
        return None
    units = read_chips(path, None, geometry_up_to=report.max_polygons)
    if not len(units):
        return None
    parsed = parse_tiles_file_name(path)
    return Foreign(path, parsed["tiles"] if parsed else path.stem, units)


def failed_mask(inputs: ReportInputs) -> np.ndarray:
    """Per chip: whether any dataset's download failed for it."""
    ids = [d.failed for d in inputs.downloads if len(d.failed)]
    if not ids:
        return np.zeros(len(inputs.chips), dtype=bool)
    return np.isin(inputs.chips.identifiers, np.unique(np.concatenate(ids)))
