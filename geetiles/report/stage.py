"""The ``report`` stage: what a person opens first. Beside the tiles file, ``{tiles base}_report/``
with maps (AOI and chips, split, dominant class, foreign units, download failures), a sample sheet, a
class chart and ``index.html`` tying them together with the download, split and config summaries.

The folder is built beside its destination and swapped in at the end (as the export's), so a rerun
never mixes old and new files and a failed report leaves the previous one untouched; it replaces only
a folder geetiles made as a report (``geetiles/destinations.py``)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from geetiles import layout
from geetiles.config import Stage
from geetiles.errors import UserInputError
from geetiles.tiles import existing_tiles_file, stage_tiles_file

log = logging.getLogger(__name__)

INDEX = "index.html"


def check(experiment) -> None:
    """Settings that cannot work, refused before any stage runs."""
    config = experiment.config
    report = config.report
    if not report.enabled:
        return
    if report.samples < 0:
        raise UserInputError(f"report.samples={report.samples} cannot be negative; 0 leaves the sample sheet out")
    if report.max_polygons < 0:
        raise UserInputError(
            f"report.max_polygons={report.max_polygons} cannot be negative; 0 always draws chips aggregated"
        )
    if report.seed < 0:
        raise UserInputError(f"report.seed={report.seed} must be a non-negative integer")
    if report.foreign_file:
        existing_tiles_file(report.foreign_file, "report.foreign_file", "the foreign units' tiles file")
    if Stage.tiling in config.stages:
        if report.dest:  # the tiles file comes later, the destination is known now
            from geetiles.destinations import REPORT, check_folder

            check_folder(Path(report.dest).expanduser().resolve(), REPORT, "report.dest")
        return
    if not report.tiles_file:
        raise UserInputError(
            "the report stage needs a tiles file: run the tiling stage first or set report.tiles_file=..."
        )
    tiles_path = existing_tiles_file(report.tiles_file, "report.tiles_file")
    destination(config, tiles_path)


def run(experiment, context) -> None:
    report = experiment.config.report
    if not report.enabled:
        log.info("report=none: no report written")
        return
    tiles_path = stage_tiles_file(context.tiles_file, report.tiles_file, "report")
    tiles_path = Path(tiles_path)
    dest = destination(experiment.config, tiles_path)
    started = time.perf_counter()
    index, inputs, maps = write_report(experiment, context, tiles_path, dest)
    context.outputs.append(dest)
    log.info(
        "report: %d chips, %d maps%s in %.1f s; open %s",
        len(inputs.chips),
        len(maps),
        ", a sample sheet" if (dest / "samples.png").exists() else "",
        time.perf_counter() - started,
        index,
    )


def write_report(experiment, context, tiles_path: Path, dest: Path):
    """Gather the inputs (a tiles file without chips is refused before anything is written), then draw
    and write everything into a fresh folder that replaces ``dest``. Returns (index.html, inputs, maps)."""
    from geetiles.atomic import write_text
    from geetiles.destinations import REPORT, building
    from geetiles.report.charts import class_chart, class_distribution
    from geetiles.report.inputs import gather
    from geetiles.report.maps import draw_maps
    from geetiles.report.page import render
    from geetiles.report.sheet import SHEET, sample_sheet

    report = experiment.config.report
    inputs = gather(experiment, context, tiles_path)
    with building(dest, REPORT, "report.dest") as work:
        maps = draw_maps(inputs, work, report.max_polygons)
        distribution = class_distribution(inputs)
        chart = class_chart(inputs, distribution, work / "classes.png").name if distribution else None
        sheet = sample_sheet(inputs, report.samples, report.seed, work / SHEET) if report.samples else None
        page = render(inputs, maps, chart, distribution, (sheet[0].name, sheet[1]) if sheet else None)
        write_text(work / INDEX, page)
    return dest / INDEX, inputs, maps


def destination(config, tiles_path: Path) -> Path:
    """report.dest, or ``{tiles file without .geojson}_report``; never the chip folders or what holds them,
    and never a folder that geetiles did not make as a report."""
    from geetiles.destinations import REPORT, check_folder, output_folder

    default, chips_root = layout.default_report_folder(tiles_path), layout.chips_root(tiles_path)
    dest = output_folder(config.report.dest, default, tiles_path, chips_root, "report.dest")
    check_folder(dest, REPORT, "report.dest")
    return dest
