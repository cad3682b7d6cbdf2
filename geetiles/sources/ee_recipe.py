"""Declarative Earth Engine recipes: a dataset described in YAML, compiled to one ee.Image.

A recipe names a collection (or image), a date range, metadata filters, a per-image cloud mask,
bands, a valid range, scaling, a temporal reducer, optional seasonal, monthly or yearly stacking with
band-name templates, parts (band groups with their own filters and reducer, e.g. Sentinel-1 VV on
ascending passes), terrain bands, visualisation, a class remap and an output dtype. The schema's enums
(``config/recipe.py``) reject an unknown reducer, mask, stacking or dtype when the config is composed,
before anything runs.

Casting never wraps around: values are clamped to the dtype's range first (geetiles 0.1.7 cast dB
values straight to uint16, so negative backscatter wrapped to ~65,000).
"""

from __future__ import annotations

import numpy as np

from geetiles.errors import UserInputError


class RecipeError(UserInputError, ValueError):
    """A recipe whose settings do not fit together; the message names the fix."""


SEASONS = ("winter", "spring", "summer", "fall")  # winter is December of the previous year to February
ORBIT_PASS = {"asc": "ASCENDING", "des": "DESCENDING"}
_CAST = {
    "uint8": "toUint8",
    "int8": "toInt8",
    "uint16": "toUint16",
    "int16": "toInt16",
    "uint32": "toUint32",
    "int32": "toInt32",
    "float32": "toFloat",
    "float64": "toDouble",
}


def periods(recipe) -> list[tuple[str, str, str]]:
    """(label, start, end) of every time slice: one, four seasons, twelve months or one per year (end exclusive)."""
    stack, year = recipe.stack.value, recipe.year
    if stack == "none":
        return [("", fill(recipe.start, recipe), fill(recipe.end, recipe))]
    if stack == "yearly":
        if not recipe.years:
            raise RecipeError("yearly stacking needs recipe.years, e.g. [2019, 2020]")
        return [(str(y), f"{y}-01-01", f"{y + 1}-01-01") for y in recipe.years]
    if year is None:
        raise RecipeError("seasonal or monthly stacking needs recipe.year")
    if stack == "seasonal":
        bounds = [
            (f"{year - 1}-12-01", f"{year}-03-01"),
            (f"{year}-03-01", f"{year}-06-01"),
            (f"{year}-06-01", f"{year}-09-01"),
            (f"{year}-09-01", f"{year}-12-01"),
        ]
        return [(season, start, end) for season, (start, end) in zip(SEASONS, bounds)]
    months = []
    for month in range(1, 13):
        end = f"{year + 1}-01-01" if month == 12 else f"{year}-{month + 1:02d}-01"
        months.append((f"{month:02d}", f"{year}-{month:02d}-01", end))
    return months


def template_values(recipe) -> dict[str, object]:
    """What recipe strings may use: {year}, {previous_year}, {next_year}, {orbit}, {orbit_pass}."""
    values: dict[str, object] = {}
    if recipe.year is not None:
        values.update(year=recipe.year, previous_year=recipe.year - 1, next_year=recipe.year + 1)
    if recipe.orbit is not None:
        values.update(orbit=recipe.orbit.value, orbit_pass=ORBIT_PASS[recipe.orbit.value])
    return values


def fill(template, recipe):
    """A recipe string with its {placeholders} filled; other values pass through unchanged."""
    if not isinstance(template, str) or "{" not in template:
        return template
    try:
        return template.format(**template_values(recipe))
    except KeyError as missing:
        key = missing.args[0]
        fix = "set recipe.orbit to asc or des" if key.startswith("orbit") else "set recipe.year"
        raise RecipeError(f"{template!r} uses {{{key}}}: {fix}") from None


def dataset_name(recipe) -> str:
    return fill(recipe.name, recipe)


def chosen_recipe(source_config):
    """The recipe a source config downloads: the group's own unless ``dataset`` names another one;
    None when ``dataset`` is a user's Python file."""
    from geetiles.sources.catalog import find_recipe

    recipe, dataset = source_config.recipe, source_config.dataset
    if recipe is not None and (dataset is None or dataset == _name_or_none(recipe)):
        return recipe
    return find_recipe(dataset) if dataset is not None else None


def _name_or_none(recipe) -> str | None:
    try:
        return dataset_name(recipe)
    except RecipeError:
        return None


def slice_band_names(recipe) -> list[str]:
    """Band names of one time slice before the period template: parts, renamed or selected bands, terrain."""
    if recipe.parts:
        names = [name for part in recipe.parts for name in _part_band_names(part, part.select or recipe.select)]
    elif recipe.rename and not recipe.remap:
        names = list(recipe.rename)
    elif recipe.select:
        names = list(recipe.select)
    else:
        raise RecipeError("stacking needs recipe.select (and optionally recipe.rename) to name the bands")
    return names + [band.value for band in recipe.terrain]


def compile_recipe(recipe):
    """The ee.Image the recipe describes (call after ee.Initialize and validate())."""
    import ee

    stacked = recipe.stack.value != "none"
    names = slice_band_names(recipe) if stacked else []
    slices = []
    for label, start, end in periods(recipe):
        image = _slice(recipe, start, end)
        if stacked:
            if recipe.visualize is not None:  # each period is visualised on its own, then named
                image = _visualize(image, recipe.visualize)
            image = image.rename([recipe.band_template.format(period=label, band=b) for b in names])
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


def validate(recipe) -> None:
    """Settings that only make sense together; each message names the fix."""
    reducers = {recipe.reducer.value, *(part.reducer.value for part in recipe.parts if part.reducer is not None)}
    if "quality_mosaic" in reducers and not recipe.quality_band:
        raise RecipeError("reducer quality_mosaic needs recipe.quality_band, the band whose highest value wins")
    if recipe.valid_range is not None and len(recipe.valid_range) != 2:
        raise RecipeError(f"recipe.valid_range must be [min, max], got {list(recipe.valid_range)}")
    thresholds = list(recipe.range_map or [])
    if any(b <= a for a, b in zip(thresholds, thresholds[1:])):
        raise RecipeError(f"recipe.range_map must increase strictly, got {thresholds}")
    if recipe.stack.value != "yearly" and recipe.years:
        raise RecipeError("recipe.years needs stack: yearly")
    dataset_name(recipe)
    periods(recipe)  # fills the start and end templates, checks the stacking's year(s)
    for condition in [*recipe.filters, *(f for part in recipe.parts for f in part.filters)]:
        fill(condition.value, recipe)
    if recipe.stack.value != "none" or recipe.parts:
        slice_band_names(recipe)


def _slice(recipe, start, end):
    """One time slice: the reduced collection, or its parts side by side; then terrain bands."""
    import ee

    if not recipe.parts:
        rename = recipe.rename if recipe.rename and not recipe.remap and recipe.stack.value == "none" else None
        image = _reduce(_collection(recipe, start, end, recipe.filters, recipe.select, rename), recipe.reducer, recipe)
    else:
        image = None
        for part in recipe.parts:
            select = part.select or recipe.select
            collection = _collection(recipe, start, end, [*recipe.filters, *part.filters], select, None)
            reduced = _reduce(collection, part.reducer or recipe.reducer, recipe).rename(_part_band_names(part, select))
            image = reduced if image is None else image.addBands(reduced)
    for band in recipe.terrain:  # derived from the first band, taken as elevation in metres
        image = image.addBands(getattr(ee.Terrain, band.value)(image.select([0])))
    return image


def _part_band_names(part, select) -> list[str]:
    if not select:
        raise RecipeError(f"recipe part {part.name!r} needs select (or recipe.select) to name its bands")
    return [part.name] if len(select) == 1 else [f"{part.name}_{band}" for band in select]


def _visualize(image, vis):
    options = {
        k: v
        for k, v in (("min", vis.min), ("max", vis.max), ("palette", vis.palette), ("bands", vis.bands))
        if v is not None
    }
    return image.visualize(**options)


def _collection(recipe, start, end, filters, select, rename):
    import ee

    if recipe.image:
        return ee.ImageCollection([ee.Image(recipe.collection)])
    collection = ee.ImageCollection(recipe.collection)
    if start is not None or end is not None:
        collection = collection.filterDate(start, end)
    for condition in filters:
        value = fill(condition.value, recipe)
        collection = collection.filter(getattr(ee.Filter, condition.op.value)(condition.property, value))
    if recipe.mask.value == "qa60":
        collection = collection.map(_mask_qa60)
    elif recipe.mask.value == "cloudscore_plus":
        collection = _mask_cloud_score_plus(collection, recipe.cloud_score_threshold)
    if select:
        collection = collection.select(list(select), list(rename) if rename else None)
    if recipe.valid_range is not None:
        low, high = recipe.valid_range
        collection = collection.map(lambda image: image.updateMask(image.gte(low).And(image.lte(high))))
    if recipe.divide is not None:
        divisor = recipe.divide
        collection = collection.map(lambda image: image.divide(divisor).copyProperties(image, image.propertyNames()))
    if recipe.scale != 1.0 or recipe.offset != 0.0:
        scale, offset = recipe.scale, recipe.offset
        collection = collection.map(
            lambda image: image.multiply(scale).add(offset).copyProperties(image, image.propertyNames())
        )
    return collection


def _reduce(collection, reducer, recipe):
    reducer = reducer.value
    if reducer == "first":
        return collection.first()
    if reducer == "count":
        return collection.count()
    if reducer == "quality_mosaic":
        return collection.qualityMosaic(recipe.quality_band)
    return getattr(collection, reducer)()  # median, mean, mosaic, max, min


def _mask_qa60(image):
    """Sentinel-2 QA60: bit 10 opaque clouds, bit 11 cirrus; keep pixels where both are 0."""
    qa = image.select("QA60")
    return image.updateMask(qa.bitwiseAnd(1 << 10).eq(0).And(qa.bitwiseAnd(1 << 11).eq(0)))


def _mask_cloud_score_plus(collection, threshold: float):
    """Cloud Score+ (GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED): keep pixels with cs >= threshold."""
    import ee

    scores = ee.ImageCollection("GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED")
    return collection.linkCollection(scores, ["cs"]).map(
        lambda image: image.updateMask(image.select("cs").gte(threshold))
    )


def _range(dtype: str) -> tuple[float, float]:
    info = np.iinfo(dtype) if dtype.startswith(("uint", "int")) else np.finfo(dtype)
    return float(info.min), float(info.max)
