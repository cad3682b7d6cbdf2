"""What ``geetiles.run`` hands back: where every output went, each stage's summary, the tiles as a
GeoDataFrame, the exported dataset's loader, and (in Jupyter) the report's maps inline."""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geetiles import layout
from geetiles.experiment import Experiment

INLINE_MAPS = ("map_aoi.png", "map_split.png")  # the report's overview and split map, shown by _repr_html_


@dataclass
class StageSummary:
    """One stage of the run: how long it took, the lines it logged (what the command line prints), and
    what its records on disk say (the download's counts per dataset, the split's report)."""

    stage: str
    seconds: float
    lines: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def line(self) -> str:
        """The stage's last line of information: its own summary (e.g. ``report: 16 chips, 3 maps ...``)."""
        return self.lines[-1] if self.lines else ""


@dataclass
class Result:
    """The outputs of one run. Paths are None when the run did not write them (a stage not run, or a
    stage with nothing to do, e.g. ``export=none``)."""

    experiment: Experiment
    tiles_file: Path | None
    chip_folders: dict[str, Path]  # dataset name → folder of its chips (download)
    dataset_folder: Path | None  # the export's dataset folder (chips.parquet, images/, labels/)
    report_folder: Path | None  # the report's folder (index.html and its maps)
    outputs: list[Path]  # everything the stages said they wrote, in order
    summaries: dict[str, StageSummary]  # stage name → its summary, in the order the stages ran

    @property
    def report(self) -> Path | None:
        """The report's ``index.html``."""
        return self.report_folder / "index.html" if self.report_folder is not None else None

    def tiles(self):
        """The tiles file as a GeoDataFrame with every column the stages added (identifiers, proportions,
        split, foreign ids, ...)."""
        from geetiles.tiles import load_tiles

        return load_tiles(self._need(self.tiles_file, "tiles file", "tiling"))

    def dataset(self, split: str | None):
        """The exported dataset's chips of ``split`` (``"train"``, ``"val"``, ``"test"``, or None for every
        chip) as a :class:`geetiles.dataset.ChipDataset`."""
        from geetiles.dataset import ChipDataset

        return ChipDataset(self._need(self.dataset_folder, "dataset", "export"), split=split)

    def _need(self, path: Path | None, what: str, stage: str) -> Path:
        if path is None:
            from geetiles.errors import UserInputError

            raise UserInputError(f"this run wrote no {what}; run it with the {stage} stage")
        return path

    def __repr__(self) -> str:
        ran = ", ".join(f"{name} {summary.seconds:.1f} s" for name, summary in self.summaries.items())
        return f"<geetiles.Result {self.tiles_file.name if self.tiles_file else 'no tiles file'}: {ran}>"

    def _repr_html_(self) -> str:
        """The report's overview and split maps (PNG files embedded as data URIs: nothing is fetched) and
        a table of the stages, for Jupyter."""
        maps = []
        for name in INLINE_MAPS:
            path = self.report_folder / name if self.report_folder is not None else None
            if path is not None and path.is_file():
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                maps.append(
                    f'<img src="data:image/png;base64,{data}" alt="{html.escape(name)}" '
                    'style="max-width:48%;display:inline-block;margin-right:1%">'
                )
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{summary.seconds:.1f} s</td>"
            f"<td style='text-align:left'>{html.escape(summary.line)}</td></tr>"
            for name, summary in self.summaries.items()
        )
        paths = [("tiles file", self.tiles_file), ("dataset", self.dataset_folder), ("report", self.report)]
        paths += [(f"chips: {name}", folder) for name, folder in self.chip_folders.items()]
        listed = "".join(
            f"<tr><td>{html.escape(what)}</td><td colspan='2' style='text-align:left'>"
            f"<code>{html.escape(str(path))}</code></td></tr>"
            for what, path in paths
            if path is not None
        )
        return (
            "<div class='geetiles-result'>"
            f"<div>{''.join(maps)}</div>"
            "<table><thead><tr><th>stage</th><th>time</th><th style='text-align:left'>summary</th></tr></thead>"
            f"<tbody>{rows}{listed}</tbody></table></div>"
        )


def build_result(experiment: Experiment, context, summaries: dict[str, StageSummary]) -> Result:
    """The Result of a finished run, from what the stages put in the run context."""
    from geetiles.record import DOWNLOAD_RECORD

    tiles_file = _tiles_file(experiment, context)
    outputs = [Path(p) for p in context.outputs]
    chip_folders = {p.name: p for p in outputs if p.is_dir() and (p / DOWNLOAD_RECORD).is_file()}
    dataset = next((p for p in outputs if p.is_dir() and (p / "chips.parquet").is_file()), None)
    report = next((p for p in outputs if p.is_dir() and (p / "index.html").is_file()), None)
    _add_record_details(summaries, chip_folders, tiles_file)
    return Result(experiment, tiles_file, chip_folders, dataset, report, outputs, summaries)


def _tiles_file(experiment: Experiment, context) -> Path | None:
    """The tiles file the run wrote, else the one its stages were given (``download.tiles_file``, ...)."""
    if context.tiles_file is not None:
        return Path(context.tiles_file)
    for section in ("download", "proportions", "split", "export", "report"):
        value = getattr(getattr(experiment.config, section, None), "tiles_file", None)
        if value:
            return layout.geojson_path(Path(value).expanduser().resolve())
    return None


def _add_record_details(summaries: dict[str, StageSummary], chip_folders: dict[str, Path], tiles: Path | None) -> None:
    """The counts the stages recorded beside their outputs: the download's per dataset, the split's report."""
    from geetiles.record import read_download_record

    if "download" in summaries:
        for name, folder in chip_folders.items():
            record = read_download_record(folder)
            if record is not None and isinstance(record.get("summary"), dict):
                summaries["download"].details[name] = record["summary"]
    if "split" in summaries and tiles is not None:
        report = layout.splits_report(tiles)
        if report.is_file():
            summaries["split"].details.update(json.loads(report.read_text(encoding="utf-8")))
