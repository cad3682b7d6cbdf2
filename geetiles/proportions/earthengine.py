"""Per-unit label proportions counted by Earth Engine (``proportions=earthengine``).

Why: coarse units (communes, random pieces) cover far more label pixels than are worth downloading;
Earth Engine counts them where they are. The labels image the download would fetch (one image for
every unit: no recipe depends on a tile's geometry) is reduced over batches of units with
``reduceRegions`` and ``Reducer.frequencyHistogram``: per unit, {pixel value: pixels}, each pixel
weighted by the fraction of it inside the unit. The same :class:`LabelTable` as the local engine turns
that into a :class:`Counts` row, so both engines write the same columns.

- Masked pixels are unmasked to the table's nodata value (``sameFootprint: false``, so the parts of a
  unit outside the dataset's footprint count too): every pixel of a unit is in its histogram, so
  ``inside`` is the histogram's sum and the table decides what is nodata, unknown or a class. A table
  without a finite nodata (float labels) gets the sentinel MASKED_FILL instead, counted as nodata.
- Only the image's first band is counted, as the local engine reads only a chip's first band.
- The reduction runs in the image's own projection (``crs`` = its first band's projection), at its
  native scale unless ``proportions.scale_m`` is set. A composite (mosaic, median) has no native
  projection (Earth Engine reports 1 degree); the run then stops at once and asks for ``scale_m``.
- Requests go straight to the REST API (``value:compute``) with the download's caps, retry policy and
  error handling (``sources/ee_rest.py``). The image part of the expression is serialised once by
  earthengine-api; the units are serialised here, as plain GeoJSON arrays, not through earthengine-api's
  geometry objects.
- A batch Earth Engine finds too heavy or too large is split in halves (down to single units, whose
  ``tileScale`` then grows); 429/5xx and timeouts are retried with backoff; a unit whose request
  finally fails is in ``Counts.failed`` with the reason, and every other batch still completes.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np

from geetiles.classes import LabelTable
from geetiles.errors import UserInputError
from geetiles.fetching.outcome import AuthenticationError
from geetiles.proportions.counting import Counts
from geetiles.proportions.ee_batches import Runner
from geetiles.proportions.ee_request import Query, fill_value, labels_images, nominal_scale_expression
from geetiles.proportions.outcome import Outcome, lonlat, require_identifiers, write_counts
from geetiles.tiles.updates import TilesUpdates, updating


def count_units(experiment, labels_config, geometries: np.ndarray, table: LabelTable, progress=None) -> Counts:
    """Class pixels of every unit (lon/lat polygons) of the labels image, counted by Earth Engine."""
    from geetiles.sources.earthengine import EarthEngineSource

    settings = experiment.config.proportions
    total = len(geometries)
    counts = Counts(np.zeros((total, len(table.keys))), np.zeros(total), np.zeros(total))
    if total == 0:
        return counts
    source = EarthEngineSource(experiment.config, labels_config)
    source.connect()  # credentials, project, client; fails fast with a one-line message
    fill = fill_value(table)
    raw, image = labels_images(source.definition, fill)
    query = Query(image, raw, settings.scale_m)
    runner = Runner(source.spec(), source.session, query, table, fill, counts, progress)
    try:
        asyncio.run(
            runner.run(
                geometries,
                settings.units_per_request,
                nominal_scale_expression(raw),
                settings.scale_m is None,
                source.name,
            )
        )
    except AuthenticationError as error:
        raise UserInputError(
            f"Earth Engine refused the credentials ({error}); run `earthengine authenticate` "
            "or set ee.credentials to a valid key file"
        ) from None
    return counts


def compute_on_earth_engine(
    experiment, tiles_path: Path, name: str, progress_mode: str = "auto", updates: TilesUpdates | None = None
) -> Outcome:
    """The units' class histograms from Earth Engine (reduceRegions), written like the local ones."""
    with updating(updates) as pending:
        return _compute_on_earth_engine(experiment, tiles_path, name, progress_mode, pending)


def _compute_on_earth_engine(
    experiment, tiles_path: Path, name: str, progress_mode: str, updates: TilesUpdates
) -> Outcome:
    from geetiles.classes import LabelTable
    from geetiles.progress import Progress
    from geetiles.sources.base import class_table
    from geetiles.sources.ee_recipe import chosen_recipe

    labels = experiment.config.labels
    recipe = chosen_recipe(labels)
    if recipe is None or not (recipe.classes or recipe.range_map):
        raise UserInputError(
            f"labels dataset {name!r} declares no classes (recipe.classes or recipe.range_map), so it has no "
            "proportions; choose a labels recipe with classes (e.g. labels=worldcover)"
        )
    nodata = (
        labels.nodata
        if labels.nodata is not None
        else (None if recipe.dtype is not None and recipe.dtype.value.startswith("float") else 0.0)
    )
    table = LabelTable.from_classes(
        name, class_table(recipe.classes, recipe.remap, recipe.range_map, recipe.proportion_keys), nodata
    )
    started = time.perf_counter()
    chips = lonlat(updates.load(tiles_path))
    require_identifiers(chips, tiles_path)
    progress = Progress(len(chips), progress_mode, f"proportions {name} (Earth Engine)")
    try:
        counts = count_units(experiment, labels, np.asarray(chips.geometry.values), table, progress)
    finally:
        progress.close()
    return write_counts(chips, tiles_path, table, counts, started, updates)
