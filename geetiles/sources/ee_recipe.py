"""Declarative Earth Engine recipes: a dataset described in YAML, compiled to one ee.Image.

A recipe names a collection (or image), a date range, metadata filters, a per-image cloud mask,
bands, scaling, a temporal reducer, optional seasonal or monthly stacking with band-name templates,
visualisation, a class remap and an output dtype. The schema's enums (``config.py``) reject an
unknown reducer, mask, stacking or dtype when the config is composed, before anything runs.

Casting never wraps around: values are clamped to the dtype's range first (geetiles 0.1.7 cast dB
values straight to uint16, so negative backscatter wrapped to ~65,000).
"""

from __future__ import annotations

import numpy as np

SEASONS = ("winter", "spring", "summer", "fall")  # winter is December of the previous year to February
_CAST = {"uint8": "toUint8", "int8": "toInt8", "uint16": "toUint16", "int16": "toInt16", "uint32": "toUint32",
         "int32": "toInt32", "float32": "toFloat", "float64": "toDouble"}


def periods(recipe) -> list[tuple[str, str, str]]:
    """(label, start, end) of every time slice: one, four seasons, or twelve months (end exclusive)."""
    stack, year = recipe.stack.value, recipe.year
    if stack == "none":
        return [("", fill(recipe.start, year), fill(recipe.end, year))]
    if year is None:
        raise ValueError("seasonal or monthly stacking needs recipe.year")
    if stack == "seasonal":
        bounds = [(f"{year - 1}-12-01", f"{year}-03-01"), (f"{year}-03-01", f"{year}-06-01"),
                  (f"{year}-06-01", f"{year}-09-01"), (f"{year}-09-01", f"{year}-12-01")]
        return [(season, start, end) for season, (start, end) in zip(SEASONS, bounds)]
    months = []
    for month in range(1, 13):
        end = f"{year + 1}-01-01" if month == 12 else f"{year}-{month + 1:02d}-01"
        months.append((f"{month:02d}", f"{year}-{month:02d}-01", end))
    return months


def fill(template: str | None, year: int | None) -> str | None:
    """Recipe strings may use {year}, {previous_year} and {next_year}."""
    if template is None or year is None:
        return template
    return template.format(year=year, previous_year=year - 1, next_year=year + 1)


def dataset_name(recipe) -> str:
    return fill(recipe.name, recipe.year)


def compile_recipe(recipe):
    """The ee.Image the recipe describes (call after ee.Initialize)."""
    import ee

    stacked = recipe.stack.value != "none"
    slices = []
    for label, start, end in periods(recipe):
        image = _reduce(_collection(recipe, start, end), recipe)
        if stacked:
            if recipe.visualize is not None:  # each period is visualised on its own, then named
                image = _visualize(image, recipe.visualize)
            image = image.rename([recipe.band_template.format(period=label, band=b) for b in _band_names(recipe)])
        slices.append(image)
    image = slices[0]
    for extra in slices[1:]:
        image = image.addBands(extra)
    if recipe.visualize is not None and not stacked:
        image = _visualize(image, recipe.visualize)
    if recipe.remap:
        image = image.remap(list(recipe.remap.keys()), list(recipe.remap.values()))
        if recipe.rename:
            image = image.rename(list(recipe.rename))
    if recipe.dtype is not None:
        low, high = _range(recipe.dtype.value)
        image = getattr(image.clamp(low, high), _CAST[recipe.dtype.value])()
    return image if isinstance(image, ee.Image) else ee.Image(image)


def _visualize(image, vis):
    options = {k: v for k, v in (("min", vis.min), ("max", vis.max), ("palette", vis.palette), ("bands", vis.bands)) if v is not None}
    return image.visualize(**options)


def _collection(recipe, start, end):
    import ee

    if recipe.image:
        return ee.ImageCollection([ee.Image(recipe.collection)])
    collection = ee.ImageCollection(recipe.collection)
    if start is not None or end is not None:
        collection = collection.filterDate(start, end)
    for condition in recipe.filters:
        collection = collection.filter(getattr(ee.Filter, condition.op.value)(condition.property, condition.value))
    if recipe.mask.value == "qa60":
        collection = collection.map(_mask_qa60)
    elif recipe.mask.value == "cloudscore_plus":
        collection = _mask_cloud_score_plus(collection, recipe.cloud_score_threshold)
    if recipe.select:
        renamed = recipe.rename and not recipe.remap and recipe.stack.value == "none"
        collection = collection.select(list(recipe.select), list(recipe.rename) if renamed else None)
    if recipe.divide is not None:
        divisor = recipe.divide
        collection = collection.map(lambda image: image.divide(divisor).copyProperties(image, image.propertyNames()))
    if recipe.scale != 1.0 or recipe.offset != 0.0:
        scale, offset = recipe.scale, recipe.offset
        collection = collection.map(lambda image: image.multiply(scale).add(offset).copyProperties(image, image.propertyNames()))
    return collection


def _reduce(collection, recipe):
    reducer = recipe.reducer.value
    if reducer == "first":
        return collection.first()
    if reducer == "count":
        return collection.count()
    return getattr(collection, reducer)()  # median, mean, mosaic, max, min


def _mask_qa60(image):
    """Sentinel-2 QA60: bit 10 opaque clouds, bit 11 cirrus; keep pixels where both are 0."""
    qa = image.select("QA60")
    return image.updateMask(qa.bitwiseAnd(1 << 10).eq(0).And(qa.bitwiseAnd(1 << 11).eq(0)))


def _mask_cloud_score_plus(collection, threshold: float):
    """Cloud Score+ (GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED): keep pixels with cs >= threshold."""
    import ee

    scores = ee.ImageCollection("GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED")
    return collection.linkCollection(scores, ["cs"]).map(lambda image: image.updateMask(image.select("cs").gte(threshold)))


def _band_names(recipe) -> list[str]:
    if recipe.rename and not recipe.remap:
        return list(recipe.rename)
    if recipe.select:
        return list(recipe.select)
    raise ValueError("stacking needs recipe.select (and optionally recipe.rename) to name the bands")


def _range(dtype: str) -> tuple[float, float]:
    info = np.iinfo(dtype) if dtype.startswith(("uint", "int")) else np.finfo(dtype)
    return float(info.min), float(info.max)
