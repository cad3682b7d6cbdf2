"""The dataset as STAC: ``stac/collection.json`` (a Collection) and ``stac/items.parquet`` (one Item per
chip, stac-geoparquet), built from the finished index (``chips.parquet`` and its metadata), so they
describe exactly the rows and files the index lists."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from geetiles.export.stac.collection import ITEMS, collection_dict, item_times, scan
from geetiles.export.stac.items import write_items

FOLDER = "stac"


def index_metadata(index_path: Path) -> dict:
    """The index's ``geetiles`` metadata (band names, dtypes, class table, splits, config)."""
    import pyarrow.parquet as pq

    from geetiles.export.index import METADATA_KEY

    raw = (pq.read_schema(index_path).metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise ValueError(f"{index_path} has no geetiles metadata: not an index written by geetiles's export")
    return json.loads(raw)


def write_stac(root: Path, license_id: str | None = None, created: dt.datetime | None = None) -> list[Path]:
    """Write ``root/stac/collection.json`` and ``root/stac/items.parquet`` from ``root/chips.parquet``;
    ``license_id`` defaults to the config's ``export.license``."""
    from geetiles.atomic import write_text
    from geetiles.export.index import INDEX

    index_path = root / INDEX
    meta = index_metadata(index_path)
    config = meta.get("config") or {}
    license_id = license_id or (config.get("export") or {}).get("license") or "other"
    times = item_times(config, created or dt.datetime.now(dt.UTC))
    collection = collection_dict(meta, license_id, times, scan(index_path))
    folder = root / FOLDER
    folder.mkdir(exist_ok=True)
    write_items(index_path, folder / ITEMS, meta, collection, times)
    target = folder / "collection.json"
    write_text(target, json.dumps(collection, indent=2, ensure_ascii=False) + "\n")
    return [target, folder / ITEMS]
