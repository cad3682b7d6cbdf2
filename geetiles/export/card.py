"""``README.md``, the dataset card: a YAML header that dataset hubs read (license, one ``data_files``
entry per split) and prose saying how the dataset was made, from the run's records: the AOI, the
tiling, each source with its Earth Engine collection and dates, the split method with the fractions
achieved, and the class table with each class's share.

Every name it quotes (dataset, AOI, bands, classes, splits, paths) comes from the user's files and
settings, so it is escaped for where it goes: the YAML header is ``yaml.safe_dump``'s; in prose and
tables a name is HTML- and Markdown-escaped (:func:`text`), in backticks it gets a fence longer than
any run of backticks it holds (:func:`code`), and the loading example quotes it as a Python literal.
A hub or viewer rendering the card shows the names as written, never as markup."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from geetiles.export.inputs import DatasetInfo, ExportInput
from geetiles.layout import splits_report

_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$])")  # what can start or end markup


def _one_line(value) -> str:
    return " ".join(str(value).split())


def text(value) -> str:
    """``value`` as literal text in Markdown prose or a table cell: on one line, its Markdown
    punctuation backslash-escaped and ``<>&"'`` as HTML entities, so it renders as written."""
    return html.escape(_MARKDOWN_PUNCTUATION.sub(r"\\\1", _one_line(value)), quote=True)


def code(value) -> str:
    """``value`` as a code span (literal in Markdown: no markup or HTML inside), on one line, fenced
    by more backticks than any run it holds."""
    value = _one_line(value)
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {value} " if longest or value.startswith(" ") else value
    return f"{fence}{padded}{fence}"


def _fenced_block(language: str, lines: list[str]) -> list[str]:
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", *lines, fence]


def configs(splits: list[str], formats: list[str], features: list[dict] | None) -> dict:
    """The card's ``configs`` (and ``dataset_info``): with WebDataset shards, ``default`` is them (pixels,
    proportions, georeference; features declared); without, the index. One config only: ``datasets`` picks
    one builder for a folder from its default config's files, so a parquet config beside tar shards would be
    read as shards (``load_dataset("parquet", data_files=...)`` reads the index)."""
    index = [{"split": s, "path": f"splits/{s}.parquet"} for s in splits] if "geotiff" in formats else None
    shards = [{"split": s, "path": f"webdataset/{s}/*.tar"} for s in splits] if "webdataset" in formats else None
    if shards is None:
        return {"configs": [{"config_name": "default", "data_files": index}]}
    out: dict = {"configs": [{"config_name": "default", "data_files": shards}]}
    if features:
        out["dataset_info"] = [{"config_name": "default", "features": features}]
    return out


def card(inp: ExportInput, license_id: str, formats: list[str], folder: str, features: list[dict] | None = None) -> str:
    config = inp.resolved_config or {}
    splits = inp.split_names()
    counts = {s: int((inp.splits == s).sum()) for s in splits}
    header = {
        "license": license_id,
        "pretty_name": _one_line(inp.name),
        "tags": ["geospatial", "earth-observation", "geetiles"],
        "size_categories": [_size_category(len(inp.identifiers))],
        **configs(splits, formats, features),
    }
    front_matter = yaml.safe_dump(header, sort_keys=False, width=float("inf")).strip()
    lines = ["---", front_matter, "---", "", f"# {text(inp.name)}", ""]
    lines += [
        f"{len(inp.identifiers)} chips made with geetiles from {code(inp.tiles_path.name)}: "
        + ", ".join(f"{counts[s]} {text(s)}" for s in splits)
        + ".",
        "",
    ]
    lines += ["## How it was made", ""]
    lines += [f"- **Area of interest:** {_aoi(config.get('aoi') or {})}."]
    lines += [f"- **Tiling:** {_tiling(config.get('tiling') or {})}."]
    for role, info in (("Images", inp.images), ("Labels", inp.labels)):
        if info is not None:
            lines += [f"- **{role}:** {_source(info)}."]
    lines += [f"- **Split:** {_split(config.get('split') or {}, inp, counts)}."]
    if inp.skipped:
        lines += [f"- **Left out:** {len(inp.skipped)} chips whose files were missing or corrupt (`skipped.csv`)."]
    lines += ["", "## Files", ""]
    if "geotiff" in formats:
        lines += [
            "- `chips.parquet`: the index (GeoParquet 1.1, EPSG:4326, bbox covering): one row per chip with its "
            "footprint, split, centre, grid, label proportions, foreign ids, file paths and SHA-256; "
            "`splits/{split}.parquet` the same rows per split.",
            "- `images/{id}.tif`"
            + (", `labels/{id}.tif`" if inp.labels else "")
            + ": Cloud-Optimised GeoTIFFs in their native dtype.",
            (
                "- `stac/collection.json`, `stac/items.parquet`: the dataset as a STAC Collection with one Item "
                "per chip (stac-geoparquet); `croissant.json`: its ML Commons Croissant 1.0 description."
            ),
        ]
    if "webdataset" in formats:
        lines += [
            "- `webdataset/{split}/*.tar`: WebDataset shards (`image.npy`, `label.npy`, `json` per chip), "
            "listed with sizes and SHA-256 in `webdataset/shards.json`."
        ]
    lines += [
        "- `config.yaml`: the resolved configuration that made the dataset; `MANIFEST.sha256`: every file's SHA-256.",
        "",
    ]
    if inp.labels is not None and inp.labels.classes:
        lines += ["## Classes", "", "| key | code | name | colour | share of valid pixels |", "|---|---|---|---|---|"]
        shares = _class_shares(inp)
        for entry in inp.labels.classes:
            key = str(entry.get("key", entry["code"]))
            share = shares.get(key)
            lines.append(
                f"| {text(key)} | {text(entry['code'])} | {text(entry.get('name', ''))} | "
                f"{text(entry.get('color', ''))} | {'' if share is None else f'{share:.2%}'} |"
            )
        lines.append("")
    lines += ["## Loading", ""]
    lines += _fenced_block(
        "python",
        [
            "from geetiles.dataset import ChipDataset, iterate_shards",
            "",
            f"chips = ChipDataset({folder!r}, split={splits[0]!r})  # this folder"
            if "geotiff" in formats
            else f"chips = iterate_shards({folder!r}, split={splits[0]!r})  # this folder",
            "# each sample: image, label, proportions, valid_frac, identifier, split, crs, transform_gdal, bounds",
        ],
    )
    lines += [""]
    if "webdataset" in formats:
        lines += [
            "With Hugging Face `datasets` (the `default` config: the WebDataset shards, columns `image.npy`, "
            "`label.npy` and `json` with the dense `proportions` in `class_keys` order and `transform_gdal`):",
            "",
        ]
        lines += _fenced_block(
            "python",
            [
                "import datasets, numpy as np",
                "",
                f"train = datasets.load_dataset({folder!r}, split={splits[0]!r})",
                "pixels = train.select_columns(['image.npy']).with_format('numpy', "
                f"dtype=np.{inp.images.dtype if inp.images else 'uint8'})  # else int64",
            ],
        )
        lines += [""]
    elif "geotiff" in formats:
        lines += [_index_only(inp), ""]
    lines += _clients(config.get("tiling") or {}, _zones(inp))
    return "\n".join(lines)


def _index_only(inp: ExportInput) -> str:
    """Why ``load_dataset`` of a folder without shards gives no pixels, and which export does."""
    why = ""
    if inp.images is not None and len(inp.images.bands) > 1:
        why = (
            " (its `Image` feature would decode the COGs with PIL, which cannot open these: several bands "
            "written as MINISBLACK raise `UnidentifiedImageError`, and PIL has no mode for several 16-bit bands)"
        )
    return (
        f"With Hugging Face `datasets`, `load_dataset` of this folder gives the index, file paths without pixels{why}. "
        "Export with `export.formats=[geotiff,webdataset]` for pixels in `datasets`: the shards' `image.npy` and "
        "`label.npy`."
    )


def _zones(inp: ExportInput) -> list[int]:
    """The UTM zones' EPSG codes of a utm-tiled dataset's chips (the tiles' ``epsg`` column); [] otherwise."""
    frame = inp.frame
    if "epsg" not in getattr(frame, "columns", ()):
        return []
    return sorted(int(code) for code in frame["epsg"].dropna().unique())


def _clients(tiling: dict, zones: Sequence[int] = ()) -> list[str]:
    """Which tiling suits which client, and the warning a grid-tiled dataset, or one of several UTM zones,
    needs for TorchGeo."""
    lines = [
        "Which client suits which tiling: PyTorch through `geetiles.dataset` or Hugging Face `datasets` "
        "takes any tiling (every chip has its own CRS and transform); TorchGeo's `RasterDataset` needs one "
        "CRS and one resolution, which `tiling=utm` gives per UTM zone (chips of one zone, one pixel size).",
        "",
    ]
    if tiling.get("kind") == "grid":
        lines += [
            "**Warning (TorchGeo):** this dataset is tiled by `grid`: its chips are in EPSG:4326 and their "
            "pixel sizes vary with latitude and chip. TorchGeo resamples every file to the first one's "
            "resolution, so its samplers silently cover only part of the chips; retile with `tiling=utm` "
            "for TorchGeo.",
            "",
        ]
    if len(zones) > 1:
        lines += [
            f"**Warning (TorchGeo):** this dataset's chips are in {len(zones)} UTM zones "
            f"({', '.join(f'EPSG:{zone}' for zone in zones)}). TorchGeo reprojects every file to the first one's "
            "CRS, resampling the other zones' chips; build one `RasterDataset` per zone from the index's `crs` "
            'column: `index = pandas.read_parquet(f"{root}/chips.parquet")`, then '
            f'`paths=[f"{{root}}/{{p}}" for p in index.image_path[index.crs == "EPSG:{zones[-1]}"]]`.',
            "",
        ]
    return lines


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "1M<n<10M"


def _aoi(aoi: dict) -> str:
    source = next((f"{k} {code(aoi[k])}" for k in ("country", "wkt_file", "file", "bbox") if aoi.get(k)), "given")
    return f"{code(aoi.get('name', '?'))} ({source})"


def _tiling(tiling: dict) -> str:
    kind = tiling.get("kind", "?")
    size = tiling.get("chip_size_m")
    sized = isinstance(size, (int, float)) and kind in ("grid", "utm", "majortom")
    return code(kind) + (f", chips of {size:g} m" if sized else "")


def _source(info: DatasetInfo) -> str:
    role_config = _source_config(info)
    recipe = (role_config or {}).get("recipe") or {}
    bands = ", ".join(text(band) for band in info.bands[:6]) + ("…" if len(info.bands) > 6 else "")
    parts = [
        f"{code(info.name)}, {len(info.bands)} band(s) {bands}, {text(info.dtype)}"
        + ("" if info.nodata is None else f", nodata {text(_number(info.nodata))}")
    ]
    if recipe.get("collection"):
        dates = " to ".join(str(d) for d in (recipe.get("start"), recipe.get("end")) if d)
        parts.append(
            f"Earth Engine {code(recipe['collection'])}"
            + (f" ({text(dates)}, end exclusive)" if dates else "")
            + (f", {text(recipe['reducer'])}" if recipe.get("reducer") else "")
        )
    elif role_config and role_config.get("kind") == "demo":
        parts.append("SYNTHETIC offline demo data (procedural, not real imagery)")
    elif role_config and role_config.get("kind") == "local":
        parts.append(f"local raster {code(role_config.get('dataset'))}")
    request = info.record.get("summary") or {}
    if request.get("done") is not None:
        parts.append(f"downloaded {text(request.get('done'))} chips, {text(request.get('failed', 0))} failed")
    return "; ".join(parts)


def _number(value) -> str:
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return str(value)


def _source_config(info: DatasetInfo) -> dict | None:
    config = info.record.get("config") or {}
    for role in ("source", "labels"):
        candidate = config.get(role) or {}
        if info.name in (candidate.get("name"), candidate.get("dataset"), (candidate.get("recipe") or {}).get("name")):
            return candidate
    return None


def _split(split: dict, inp: ExportInput, counts: dict) -> str:
    kind = split.get("kind", "none")
    total = max(1, sum(counts.values()))
    achieved = ", ".join(f"{text(s)} {counts[s] / total:.1%}" for s in counts)
    if kind in (None, "none"):
        return f"none: every chip in one split ({achieved})"
    asked = split.get("fractions")
    report = splits_report(inp.tiles_path)
    leakage = ""
    if report.exists():
        try:
            distances = json.loads(report.read_text()).get("leakage") or {}
            first = next(iter(distances.values()), None) if isinstance(distances, dict) else None
            if isinstance(first, dict) and first.get("min_m") is not None:
                leakage = f"; nearest train chip from val/test at least {first['min_m']:.0f} m"
        except (OSError, ValueError):
            pass
    buffer = split.get("buffer_m") or 0
    return (
        f"{code(kind)}, asked train/val/test {text(asked)}, achieved by count {achieved}"
        + (f", guard gap {buffer:g} m" if buffer else "")
        + leakage
    )


def _class_shares(inp: ExportInput) -> dict[str, float]:
    """Each class's mean share over the exported chips (valid pixels)."""
    prefix = f"{inp.labels.name}_class_"
    columns = [c for c in inp.frame.columns if c.startswith(prefix)]
    if not columns:
        return {}
    values = inp.frame[columns].to_numpy(dtype=float)
    return {c[len(prefix) :]: float(np.nanmean(values[:, i])) for i, c in enumerate(columns)}


def write_card(inp: ExportInput, dest: Path, license_id: str, formats: list[str], folder: str) -> Path:
    from geetiles.atomic import write_text
    from geetiles.export.hf_features import webdataset_features

    features = webdataset_features(dest / "webdataset") if "webdataset" in formats else None
    path = dest / "README.md"
    write_text(path, card(inp, license_id, formats, folder, features))
    return path
