"""``index.html``: one self-contained page (inline CSS, no script, no font, no URL; the PNGs beside it,
named by relative path). Sections whose inputs are missing are left out."""

from __future__ import annotations

import datetime as dt
import math
from html import escape

import numpy as np

from geetiles.report.inputs import ReportInputs
from geetiles.report.maps import SPLIT_ORDER, MapImage

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0;
       color: #222; background: #fafafa; line-height: 1.45; }
header { background: #243b53; color: #fff; padding: 1.2rem 2rem; }
header h1 { margin: 0 0 .3rem 0; font-size: 1.4rem; word-break: break-all; }
header p { margin: 0; opacity: .85; font-size: .9rem; }
nav { padding: .6rem 2rem; background: #e9eef3; font-size: .9rem; }
nav a { margin-right: 1rem; color: #243b53; }
main { padding: 0 2rem 2rem 2rem; max-width: 1200px; }
section { margin-top: 1.6rem; }
h2 { border-bottom: 2px solid #d0d7de; padding-bottom: .2rem; font-size: 1.15rem; }
h3 { font-size: 1rem; margin-bottom: .3rem; }
table { border-collapse: collapse; margin: .4rem 0 .8rem 0; font-size: .9rem; background: #fff; }
th, td { border: 1px solid #d0d7de; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f0f3f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0; background: #fff; border: 1px solid #d0d7de; padding: .6rem; display: inline-block;
         max-width: 100%; box-sizing: border-box; }
figure img { max-width: 100%; height: auto; display: block; }
figcaption { font-size: .85rem; color: #555; margin-top: .3rem; }
pre { background: #fff; border: 1px solid #d0d7de; padding: .8rem; overflow: auto; font-size: .8rem;
      max-height: 40rem; }
.warn { color: #9a3412; }
.muted { color: #666; font-size: .85rem; }
code { background: #eef1f4; padding: 0 .2rem; }
.maps { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
.maps figure { margin: 0; flex: 1 1 520px; max-width: 760px; }
"""


def render(
    inputs: ReportInputs,
    maps: list[MapImage],
    chart: str | None,
    distribution: dict | None,
    sheet: tuple[str, list[tuple[str, str]]] | None,
) -> str:
    from geetiles import __version__

    sections = [
        ("overview", "Overview", _overview(inputs)),
        ("maps", "Maps", _maps(maps)),
        ("downloads", "Downloads", _downloads(inputs)),
        ("split", "Split", _split(inputs)),
        ("classes", "Classes", _classes(inputs, chart, distribution)),
        ("samples", "Samples", _samples(inputs, sheet)),
        ("config", "Configuration", _config(inputs)),
    ]
    sections = [s for s in sections if s[2]]
    created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    nav = "".join(f'<a href="#{key}">{escape(title)}</a>' for key, title, _ in sections)
    body = "\n".join(
        f'<section id="{key}">\n<h2>{escape(title)}</h2>\n{html}\n</section>' for key, title, html in sections
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>geetiles report: {escape(inputs.tiles_path.name)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>{escape(inputs.tiles_path.name)}</h1>"
        f"<p>geetiles {escape(__version__)} report, made {escape(created)}</p></header>\n"
        f"<nav>{nav}</nav>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _table(header: list[str] | None, rows: list[list], numeric: set[int] = frozenset()) -> str:
    head = "<tr>" + "".join(f"<th>{escape(str(h))}</th>" for h in header) + "</tr>" if header else ""
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{_cell(v)}</td>'
            if i in numeric
            else (f"<th>{_cell(v)}</th>" if header is None and i == 0 else f"<td>{_cell(v)}</td>")
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table>{head}{body}</table>"


def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return escape(f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}")
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    return escape(str(value))


def _share(value) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.1%}"


def _metres(value) -> str:
    return "–" if value is None else f"{value:,.0f} m"


def _overview(inputs: ReportInputs) -> str:
    chips = inputs.chips
    minx, miny, maxx, maxy = chips.extent()
    if chips.area_km2 is not None and np.isfinite(chips.area_km2).any():
        area = f"{np.nansum(chips.area_km2):,.2f} km²"
    else:
        mid = np.radians((chips.bounds[:, 1] + chips.bounds[:, 3]) / 2)
        width_km = (chips.bounds[:, 2] - chips.bounds[:, 0]) * 111.32 * np.cos(mid)
        approx = (width_km * (chips.bounds[:, 3] - chips.bounds[:, 1]) * 110.57).sum()
        area = f"≈ {approx:,.2f} km² (from the chips' bounds)"
    rows = [
        ["tiles file", str(inputs.tiles_path)],
        ["chips", f"{len(chips):,}"],
        ["area", area],
        ["extent (lon, lat)", f"{minx:.4f}, {miny:.4f} – {maxx:.4f}, {maxy:.4f}"],
    ]
    if inputs.aoi_name:
        rows.append(
            ["AOI", f"{inputs.aoi_name}" + (f" ({inputs.aoi_path})" if inputs.aoi_path else " (no AOI file found)")]
        )
    recorded = (inputs.tiles_record or {}).get("config")
    tiling = recorded.get("tiling") if isinstance(recorded, dict) else None
    if isinstance(tiling, dict) and tiling.get("kind"):
        size = tiling.get("chip_size_m") if tiling.get("kind") in ("grid", "utm", "majortom") else None
        size = f", {size:g} m chips" if isinstance(size, (int, float)) else ""
        rows.append(["tiling", f"{tiling['kind']}{size}"])
    if chips.split is not None:
        counts = ", ".join(f"{s} {int((chips.split == s).sum()):,}" for s in _splits(chips.split))
        rows.append(["split", counts])
    if inputs.images is not None:
        rows.append(["images", f"{inputs.images.name} ({inputs.images.folder})"])
    if inputs.labels is not None:
        rows.append(["labels", inputs.labels.name + (f" ({inputs.labels.folder})" if inputs.labels.folder else "")])
    if inputs.foreign is not None:
        rows.append(
            ["foreign units", f"{inputs.foreign.name}: {len(inputs.foreign.units):,} units ({inputs.foreign.path})"]
        )
    return _table(None, rows)


def _splits(split: np.ndarray) -> list[str]:
    names = [s for s in SPLIT_ORDER if (split == s).any()]
    return names + sorted(set(split.tolist()) - set(SPLIT_ORDER))


def _maps(maps: list[MapImage]) -> str:
    out = []
    for m in maps:
        how = (
            "chips drawn as polygons"
            if m.mode == "polygons"
            else "chips aggregated: a raster of chip centres (more chips than report.max_polygons)"
            if m.mode == "raster"
            else ""
        )
        caption = (
            escape(m.title)
            + (f' <span class="muted">({escape(how)})</span>' if how else "")
            + (f'<br><span class="muted">{escape(m.note)}</span>' if m.note else "")
        )
        out.append(
            f'<figure id="map-{escape(m.key)}"><img src="{escape(m.file)}" alt="{escape(m.title)}">'
            f"<figcaption>{caption}</figcaption></figure>"
        )
    return '<div class="maps">\n' + "\n".join(out) + "\n</div>" if out else ""


def _downloads(inputs: ReportInputs) -> str:
    if not inputs.downloads:
        return ""
    rows = []
    for d in inputs.downloads:
        s = d.summary
        rows.append(
            [
                d.name,
                s.get("total"),
                s.get("done"),
                s.get("skipped"),
                s.get("failed"),
                s.get("retries"),
                s.get("requests"),
                None if s.get("elapsed_s") is None else f"{float(s['elapsed_s']):,.1f} s",
                ", ".join(f"{k} {v:,}" for k, v in sorted(d.statuses.items())) or "–",
            ]
        )
    out = [
        '<p class="muted">The last download run of each dataset (from its record), and the state of every chip '
        "in its manifest.</p>",
        _table(
            ["dataset", "chips", "done", "skipped", "failed", "retries", "requests", "time", "manifest"],
            rows,
            {1, 2, 3, 4, 5, 6},
        ),
    ]
    for d in inputs.downloads:
        if d.top_errors:
            out.append(f"<h3>{escape(d.name)}: {len(d.failed):,} failed chips, most frequent reasons</h3>")
            out.append(_table(["chips", "error"], [[n, message] for message, n in d.top_errors], {0}))
            out.append(
                f'<p class="muted">All of them: <code>{escape(str(d.folder / "failures.csv"))}</code>; '
                "rerunning the download fetches them again.</p>"
            )
    return "\n".join(out)


def _split(inputs: ReportInputs) -> str:
    chips, report = inputs.chips, inputs.splits_report
    if chips.split is None:
        return ""
    names = _splits(chips.split)
    out = []
    if report:
        out.append(
            f"<p>Strategy <b>{escape(str(report.get('strategy', '?')))}</b>, fractions by "
            f"{escape(str(report.get('by', 'count')))}"
            + (f", guard gap {report['buffer_m']:g} m" if report.get("buffer_m") else "")
            + ".</p>"
        )
    requested = (report or {}).get("requested_fractions", {})
    by_count, by_area = (report or {}).get("fractions_by_count", {}), (report or {}).get("fractions_by_area", {})
    rows = []
    for name in names:
        count = int((chips.split == name).sum())
        rows.append(
            [
                name,
                _share(requested.get(name)),
                count,
                _share(by_count[name]) if name in by_count else _share(count / len(chips)),
                _share(by_area.get(name)),
            ]
        )
    out.append(_table(["split", "requested", "chips", "achieved (count)", "achieved (area)"], rows, {1, 2, 3, 4}))
    leakage = (report or {}).get("leakage")
    if isinstance(leakage, dict):
        labels = {
            "min_m": ("nearest val/test chip to a train chip", _metres),
            "p5_m": ("5th percentile of that distance", _metres),
            "median_m": ("median distance", _metres),
            "share_touching": ("val/test chips touching a train chip", _share),
            "share_within_buffer": ("val/test chips within the guard gap", _share),
            "measured": ("val/test chips measured", _cell),
        }
        rows = [[label, fmt(leakage.get(key))] for key, (label, fmt) in labels.items() if key in leakage]
        out.append("<h3>Leakage: distance from val/test chips to the nearest train chip</h3>")
        out.append(_table(["measure", "value"], rows, {1}))
    warnings = (report or {}).get("warnings") or []
    if warnings:
        out.append('<ul class="warn">' + "".join(f"<li>{escape(str(w))}</li>" for w in warnings) + "</ul>")
    if not report:
        out.append(
            '<p class="muted">No split report (<code>…_splits_report.json</code>) beside the tiles file: '
            "achieved fractions by count only.</p>"
        )
    return "\n".join(out)


def _classes(inputs: ReportInputs, chart: str | None, distribution: dict | None) -> str:
    if not distribution:
        return ""
    labels = inputs.labels
    out = []
    if chart:
        out.append(
            f'<figure><img src="{escape(chart)}" alt="class distribution per split">'
            f"<figcaption>Mean class share of the chips of each split ({escape(labels.name)})</figcaption></figure>"
        )
    splits = list(distribution)
    keys = [k for k in inputs.chips.keys if any(distribution[s].get(k, 0) > 0 for s in splits)]
    rows = [[f"{labels.describe(k)[0]} ({k})", *(_share(distribution[s].get(k, 0.0)) for s in splits)] for k in keys]
    out.append(_table(["class", *splits], rows, set(range(1, len(splits) + 1))))
    return "\n".join(out)


def _samples(inputs: ReportInputs, sheet: tuple[str, list[tuple[str, str]]] | None) -> str:
    if sheet is None:
        return ""
    file, shown = sheet
    return (
        f'<figure><img src="{escape(file)}" alt="sample chips"><figcaption>{len(shown)} chips picked with '
        f"report.seed across the splits; images stretched per band between their 2nd and 98th percentiles"
        "</figcaption></figure>"
    )


def _config(inputs: ReportInputs) -> str:
    import yaml

    text = yaml.safe_dump(inputs.config, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
    out = [
        f'<p class="muted">The resolved configuration of {escape(inputs.config_source)}.</p>',
        f"<pre>{escape(text)}</pre>",
    ]
    if inputs.records:
        out.append(
            '<p class="muted">Records beside the tiles file: '
            + ", ".join(f"<code>{escape(p.name)}</code>" for p in inputs.records)
            + "</p>"
        )
    return "\n".join(out)
