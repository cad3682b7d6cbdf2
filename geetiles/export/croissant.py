"""``croissant.json``: the dataset described in ML Commons Croissant 1.0, built from the finished index.

- ``distribution``: the index (``chips.parquet``, a FileObject with its SHA-256) and the chips as FileSets
  (``images/*.tif``, ``labels/*.tif``, ``image/tiff``).
- ``recordSet``: ``splits`` (the splits, as ``cr:Split`` with the standard split URLs where they exist),
  ``chips`` (a field per scalar column of the index, its ``split`` referencing ``splits``), and
  ``images`` / ``labels`` (one record per file: its identifier, taken from the file name, and its path).

The files' pixels are described, not decoded: Croissant 1.0 has no type for a georeferenced multi-band
raster, and mlcroissant reads ``image/tiff`` content as ``tifffile.imread(f) * 255`` cast to uint8,
which is right only for floats in [0, 1] (it wraps uint8 and int16 chips). So the file record sets give
each file's path, for rasterio or geetiles's loaders; the index's ``image_path``/``label_path`` columns
give the same paths per chip. Columns that are not scalars (the WKB footprint, the bbox struct, the
GDAL transform list) are left out of ``chips``: Croissant 1.0 has no array field (1.1 adds one); the
index itself has them.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
PARQUET = "application/x-parquet"  # the encoding mlcroissant reads with pandas
TIFF = "image/tiff"
# The Croissant 1.0 JSON-LD context, as the specification gives it.
CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
SPLIT_URLS = {
    "train": "cr:TrainingSplit",
    "val": "cr:ValidationSplit",
    "validation": "cr:ValidationSplit",
    "test": "cr:TestSplit",
}
# Croissant's licence is a URL or text; SPDX identifiers are linked to their page.
SPDX = "https://spdx.org/licenses/{}.html"


def _data_type(arrow_type) -> str | None:
    import pyarrow as pa

    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "sc:Text"
    if pa.types.is_boolean(arrow_type):
        return "sc:Boolean"
    if pa.types.is_integer(arrow_type):
        return "sc:Integer"
    if pa.types.is_floating(arrow_type):
        return "sc:Float"
    return None  # lists, structs, binary: no Croissant 1.0 field type


def _field(record_set: str, name: str, data_type: str, source: dict, description: str | None = None) -> dict:
    field = {"@type": "cr:Field", "@id": f"{record_set}/{name}", "name": name, "dataType": data_type, "source": source}
    if description:
        field["description"] = description
    return field


def _file_records(name: str, what: str) -> dict:
    """One record per file of the FileSet ``name``: its identifier (file name less ``.tif``) and path."""
    source = {"fileSet": {"@id": f"{name}-files"}}
    return {
        "@type": "cr:RecordSet",
        "@id": name,
        "name": name,
        "key": {"@id": f"{name}/identifier"},
        "description": f"the {what} chips, one COG per chip (decode the path with rasterio: mlcroissant's "
        "TIFF reader scales pixels as floats in [0, 1])",
        "field": [
            _field(
                name,
                "identifier",
                "sc:Text",
                {**source, "extract": {"fileProperty": "filename"}, "transform": {"regex": r"^(.*)\.tif$"}},
                "the chip's identifier, as in chips.parquet",
            ),
            _field(
                name,
                "path",
                "sc:Text",
                {**source, "extract": {"fileProperty": "filepath"}},
                "the file, for rasterio or geetiles's loaders",
            ),
        ],
    }


def croissant_dict(root: Path, meta: dict, schema, license_id: str, published: dt.date) -> dict:
    """The Croissant document of the dataset folder ``root`` (index metadata ``meta``, index ``schema``)."""
    from geetiles.export.folder import sha256_file
    from geetiles.export.index import INDEX

    images, labels = meta["images"], meta.get("labels")
    splits = list(meta.get("splits") or [])
    name = str(meta.get("name") or "geetiles-dataset")
    distribution = [
        {
            "@type": "cr:FileObject",
            "@id": INDEX,
            "name": INDEX,
            "contentUrl": INDEX,
            "encodingFormat": PARQUET,
            "sha256": sha256_file(root / INDEX),
            "description": "the index: one row per chip (GeoParquet 1.1)",
        }
    ]
    record_sets = [
        {
            "@type": "cr:RecordSet",
            "@id": "splits",
            "name": "splits",
            "dataType": "cr:Split",
            "key": {"@id": "splits/name"},
            "description": "the splits of the chips",
            "field": [
                {"@type": "cr:Field", "@id": "splits/name", "name": "name", "dataType": "sc:Text"},
                {"@type": "cr:Field", "@id": "splits/url", "name": "url", "dataType": "sc:URL"},
            ],
            "data": [{"splits/name": s, "splits/url": SPLIT_URLS.get(s, f"cr:{s}")} for s in splits],
        }
    ]
    fields = []
    for column in schema:
        data_type = _data_type(column.type)
        if data_type is None:
            continue
        field = _field(
            "chips", column.name, data_type, {"fileObject": {"@id": INDEX}, "extract": {"column": column.name}}
        )
        if column.name == "split":
            field.update({"dataType": ["sc:Text", "wd:Q3985153"], "references": {"field": {"@id": "splits/name"}}})
        fields.append(field)
    record_sets.append(
        {
            "@type": "cr:RecordSet",
            "@id": "chips",
            "name": "chips",
            "key": {"@id": "chips/identifier"},
            "description": "the index's rows (footprint, bbox and transform are in chips.parquet only)",
            "field": fields,
        }
    )
    for role, info in (("images", images), ("labels", labels)):
        if info is None:
            continue
        distribution.append(
            {
                "@type": "cr:FileSet",
                "@id": f"{role}-files",
                "name": f"{role}-files",
                "encodingFormat": TIFF,
                "includes": f"{role}/*.tif",
                "description": f"{info['name']}: Cloud-Optimised GeoTIFFs, {len(info['bands'])} band(s) "
                f"{', '.join(map(str, info['bands']))}, {info['dtype']}",
            }
        )
        record_sets.append(_file_records(role, role[:-1]))
    license_url = license_id if "://" in license_id or license_id in ("other", "") else SPDX.format(license_id)
    return {
        "@context": {**CONTEXT, "wd": "https://www.wikidata.org/wiki/"},
        "@type": "sc:Dataset",
        "name": name,
        "description": _description(meta, splits),
        "conformsTo": CONFORMS_TO,
        "license": license_url or "other",
        "url": "./",
        "version": "1.0.0",
        "datePublished": published.isoformat(),
        "citeAs": f"{name}: a dataset made with geetiles {meta.get('geetiles_version', '')} from "
        f"{meta.get('tiles_file', '?')}, {published.year}",
        "keywords": ["geospatial", "earth observation", "geetiles"],
        "creator": {"@type": "sc:Organization", "name": "geetiles"},
        "distribution": distribution,
        "recordSet": record_sets,
    }


def _description(meta: dict, splits: list[str]) -> str:
    images, labels = meta["images"], meta.get("labels")
    text = f"Chips made with geetiles {meta.get('geetiles_version', '')}: images {images['name']} ({images['dtype']})"
    if labels:
        classes = ", ".join(f"{c['code']} {c.get('name', '')}".strip() for c in labels.get("classes") or [])
        text += f", labels {labels['name']} ({labels['dtype']}; classes {classes})"
    return text + f"; splits {', '.join(splits)}. The STAC description is in stac/, the dataset card in README.md."


def write_croissant(root: Path, license_id: str | None = None, published: dt.date | None = None) -> Path:
    """Write ``root/croissant.json`` from ``root/chips.parquet``; ``license_id`` defaults to the config's
    ``export.license``."""
    import pyarrow.parquet as pq

    from geetiles.atomic import write_text
    from geetiles.export.index import INDEX
    from geetiles.export.stac import index_metadata

    meta = index_metadata(root / INDEX)
    license_id = license_id or ((meta.get("config") or {}).get("export") or {}).get("license") or "other"
    published = published or dt.datetime.now(dt.UTC).date()
    document = croissant_dict(root, meta, pq.read_schema(root / INDEX), license_id, published)
    target = root / "croissant.json"
    write_text(target, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return target
