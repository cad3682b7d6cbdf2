"""``stac/collection.json``: the dataset as one STAC Collection (extent, license, providers, summaries),
its Items in ``stac/items.parquet`` as the stac-geoparquet way of linking them: a Collection asset
with the role ``stac-items`` (a link per Item would make a million-link JSON)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from geetiles.export.stac.items import (
    CLASSIFICATION,
    LABEL,
    ML_AOI,
    ML_AOI_SPLITS,
    PROJECTION,
    STAC_VERSION,
    classification_classes,
    uses_ml_aoi,
)

ITEMS = "items.parquet"
PARQUET = "application/vnd.apache.parquet"


def _instant(value, end: bool) -> dt.datetime | None:
    """A recipe date (``YYYY-MM-DD`` or ISO) as UTC; ends are exclusive in recipes, so an end is
    written as the last second before it."""
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    return moment - dt.timedelta(seconds=1) if end else moment


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def source_dates(config: dict) -> tuple[dt.datetime, dt.datetime] | None:
    """The span of the sources' dates (Earth Engine recipes' start and end), or None when no source
    says (demo, local rasters)."""
    starts, ends = [], []
    for role in ("source", "labels"):
        recipe = (config.get(role) or {}).get("recipe") or {}
        start, end = _instant(recipe.get("start"), False), _instant(recipe.get("end"), True)
        if start is not None and end is not None and start <= end:
            starts.append(start)
            ends.append(end)
    return (min(starts), max(ends)) if starts else None


def item_times(config: dict, created: dt.datetime) -> dict:
    """The Items' time fields: the sources' span, or, when unknown, the chips' download time (else the
    export's) as ``datetime``
    (STAC requires one of the two)."""
    span = source_dates(config)
    if span is None:
        return {"datetime": iso(created)}
    return {"datetime": None, "start_datetime": iso(span[0]), "end_datetime": iso(span[1])}


def scan(index_path: Path) -> dict:
    """Spatial extent and the CRSs of the index, in one pass over its bbox and crs columns."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    index = pq.ParquetFile(index_path)
    low, high, crs = np.array([np.inf, np.inf]), np.array([-np.inf, -np.inf]), set()
    rows = 0
    for batch in index.iter_batches(batch_size=262_144, columns=["bbox", "crs"]):
        rows += batch.num_rows
        box = batch["bbox"]
        for axis, (small, large) in enumerate((("xmin", "xmax"), ("ymin", "ymax"))):
            low[axis] = min(low[axis], pc.min(pc.struct_field(box, small)).as_py())
            high[axis] = max(high[axis], pc.max(pc.struct_field(box, large)).as_py())
        crs.update(pc.unique(batch["crs"]).to_pylist())
    return {"rows": rows, "bbox": [float(low[0]), float(low[1]), float(high[0]), float(high[1])], "crs": sorted(crs)}


def _providers(config: dict) -> list[dict]:
    providers = [
        {"name": "geetiles", "roles": ["processor"], "description": "tiled, downloaded and packaged the chips"}
    ]
    kinds = {(config.get(role) or {}).get("kind") for role in ("source", "labels")}
    if "earthengine" in kinds:
        providers.append({"name": "Google Earth Engine", "roles": ["host"], "url": "https://earthengine.google.com"})
    return providers


def _describe(meta: dict, times: dict, rows: int) -> str:
    images, labels = meta["images"], meta.get("labels")
    parts = [
        (
            f"{rows} chips made with geetiles {meta.get('geetiles_version', '')} from {meta.get('tiles_file', '?')}: "
            f"images {images['name']} ({len(images['bands'])} bands, {images['dtype']})"
        )
    ]
    if labels:
        parts.append(f"labels {labels['name']} ({len(labels.get('classes') or [])} classes, {labels['dtype']})")
    sentence = "; ".join(parts) + f"; splits {', '.join(meta.get('splits') or [])}."
    if "start_datetime" not in times:
        sentence += (
            " The sources do not state acquisition dates (synthetic or local data): each Item's datetime "
            "is when its chips were downloaded, and the temporal extent is open."
        )
    return sentence + " Items are in items.parquet (stac-geoparquet); hrefs are relative to this folder."


def collection_dict(meta: dict, license_id: str, times: dict, extent: dict) -> dict:
    """The Collection of the dataset described by the index metadata ``meta``."""
    config = meta.get("config") or {}
    images, labels = meta["images"], meta.get("labels")
    splits = list(meta.get("splits") or [])
    interval = [times["start_datetime"], times["end_datetime"]] if "start_datetime" in times else [None, None]
    summaries: dict = {
        "geetiles:split": splits,
        "proj:code": extent["crs"],
        "geetiles:image_bands": list(images["bands"]),
        "geetiles:image_dtype": [images["dtype"]],
    }
    used = [PROJECTION]
    if uses_ml_aoi(splits):
        summaries["ml-aoi:split"] = sorted({ML_AOI_SPLITS[s] for s in splits})
        used.append(ML_AOI)
    if labels:
        classes = labels.get("classes") or []
        summaries.update(
            {
                "geetiles:label_bands": list(labels["bands"]),
                "geetiles:label_dtype": [labels["dtype"]],
                "label:type": ["raster"],
                "label:tasks": ["segmentation"],
                "label:classes": [{"name": None, "classes": [int(c["code"]) for c in classes]}],
                "classification:classes": classification_classes(classes),
            }
        )
        used += [LABEL, CLASSIFICATION]
    name = str(meta.get("name") or "geetiles-dataset")
    return {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": used,
        "id": name,
        "title": name,
        "description": _describe(meta, times, extent["rows"]),
        "license": license_id,
        "keywords": ["geospatial", "earth-observation", "machine-learning", "geetiles"],
        "providers": _providers(config),
        "extent": {"spatial": {"bbox": [extent["bbox"]]}, "temporal": {"interval": [interval]}},
        "summaries": summaries,
        "links": [{"rel": "root", "href": "./collection.json", "type": "application/json", "title": name}],
        "assets": {
            "items": {
                "href": f"./{ITEMS}",
                "type": PARQUET,
                "roles": ["stac-items"],
                "title": "one STAC Item per chip (stac-geoparquet)",
            },
            "index": {
                "href": "../chips.parquet",
                "type": PARQUET,
                "roles": ["metadata"],
                "title": "the chip index (GeoParquet 1.1)",
            },
        },
        "geetiles:chips": extent["rows"],
    }
