"""The ``legacy_zip`` format: the zip of one pickle per chip that geetiles 0.1.7's ``geet zip.dataset``
made, so code written for 0.1.7's datasets reads it unchanged.

Beside the tiles file ``{dir}/{aoi}_partitions_{name}_{hash}.geojson`` it writes the folder
``{dir}/{aoi}_{images}[_{labels}]/`` and its zip ``{dir}/{aoi}_{images}[_{labels}].zip`` (members
named ``{aoi}_{images}[_{labels}]/...``, ZIP_DEFLATED), holding, as 0.1.7 did:

* ``data/{id}.pkl``: a dict per chip, keys in this order:
  ``chip`` (height, width, bands) array (height, width for one band); ``chip_id`` str;
  ``center_latlon`` float64 array [lat, lon]; ``corners`` {'nw': array [lat_max, lon_min],
  'se': array [lat_min, lon_max]}; with labels, where the chip's label file exists, ``label``
  (height, width) and ``label_proportions`` {'partitions_aschip': the row's ``{labels}_proportions``,
  'partitions_{F}': its ``{labels}_proportions_at_{F}``, 'foreignid_{F}': its ``foreignid_{F}``}
  (the foreign keys with a foreign file whose ``foreignid_{F}`` column exists; F is the token after
  ``_partitions_`` in the foreign file's name). Where the dataset's classes carry a proportions
  ``key`` (esa-world-cover: 10→1 ... 100→11) or are ranges, pixel values become those keys, as
  0.1.7's ``map_values`` made them (values in no class become 0).
  Arrays (``chip``, ``label``) are int16, as 0.1.7 stored them, wherever int16 holds every value
  exactly: uint8, int8 and int16 chips, and mapped labels whose keys fit (so ``chip - 128`` gives
  negative values, as with 0.1.7). The dtype decides, not a chip's values, so every chip of a
  dataset has the same dtype.
* the metadata, hash removed from the names: ``{aoi}_partitions_{name}.geojson`` (the tiles file;
  with labels, without the ``_proportions`` columns of other label datasets),
  ``{aoi}_partitions_{name}_expanded.geojson`` (every ``*_proportions*`` column also spread into
  ``{col}__{key}`` columns, missing keys 0), ``{aoi}_partitions_{F}.geojson`` (the foreign file),
  ``splits.csv`` (``{tiles base}_splits.csv``) and ``README.txt`` (the readme file).

Differences from 0.1.7, on purpose (its defects, fixed):

* It works from any working directory: paths come from the tiles file's location (0.1.7 doubled a
  relative directory, packaged 0 chips and overwrote the previous metadata with empty files).
* It works without labels (0.1.7 crashed with UnboundLocalError).
* Chips whose values int16 would not hold exactly (uint16, 32-bit integers, floats) keep their dtype:
  0.1.7 cast them to int16 too, wrapping uint16 above 32767 and truncating floats.
* ``splits.csv`` and the tiles-file copies list the packaged chips only, whatever the tiles name
  (0.1.7 never filtered ``splits.csv``, and filtered only files whose name contains ``aschip``).
* A rerun replaces the folder wholesale (no stale ``.pkl`` of chips no longer packaged) and the zip
  atomically; a failed run leaves the previous outputs untouched. Nothing else is written: 0.1.7 also
  wrote ``{tiles base}_expanded.geojson`` beside the tiles file, overwriting any file of that name.
* Only a folder and zip geetiles made are replaced (its ``.geetiles-made`` file, its zip comment;
  0.1.7's and older ones by their layout): anything else at those names is refused before anything
  is written (``geetiles/destinations.py``); 0.1.7 added its files to whatever was there.
* ``center_latlon`` is the true centre of the chip's bounding box. 0.1.7 averaged the five points of
  the closed envelope ring, counting its first corner (south-west) twice, so its centre lies a tenth
  of the chip's height south and a tenth of its width west of the true one: 0.1.7's value is
  ``[lat - (lat_max - lat_min) / 10, lon - (lon_max - lon_min) / 10]``.
* The zip is reproducible: fixed member dates (1980-01-01), metadata files first (sorted), then
  ``data/`` sorted by identifier, zlib's default level 6 (0.1.7: level 9; every unzip reads both).
  The same inputs give the same bytes.
* The pickles (protocol 4, as 0.1.7's) name numpy's constructors ``numpy.core.multiarray._reconstruct``
  and ``.scalar``, as numpy 1.x writes them, so every numpy (1.x and 2.x) loads them without a
  warning; numpy 2's own ``numpy._core`` names load in numpy >= 1.26 only.
* The expanded file keeps the tiles file's ``area_km2`` and ``identifier`` (0.1.7 recomputed them,
  differing in the last digits), and GeoJSON files rewritten (filtered or columns dropped) keep every
  value exactly (shortest round-trip floats); unchanged ones are byte copies, as in 0.1.7. When the
  foreign file's hash-less name would be the tiles file's (both ``aschips`` grids of one AOI), the
  foreign copy keeps its hash (0.1.7 overwrote the tiles-file copy with it).
* 0.1.7's ``include_chip_in_dataset`` veto (only its unusable ``humanpop2015`` definition had one)
  does not exist.

Chips are read, pickled, written and compressed in worker processes from 2,000 chips; the main
process writes the metadata and the zip (``bench/export.py`` times it: README, Benchmarks).

The modules: :mod:`.paths` (names and destinations), :mod:`.records` (each pickle's dict without its
arrays), :mod:`.values` (class keys and the stored dtype), :mod:`.pickles` (numpy-1 compatible
pickling, a batch of chips), :mod:`.metadata` (the metadata files), :mod:`.zip_writer` (the zip),
:mod:`.writer` (the whole).
"""

from geetiles.export.legacy_zip.metadata import expand, write_metadata
from geetiles.export.legacy_zip.paths import check_outputs, foreign_name, hashless_name, names
from geetiles.export.legacy_zip.pickles import dumps
from geetiles.export.legacy_zip.records import chip_records
from geetiles.export.legacy_zip.values import ValueMap, apply_map, stored, value_map
from geetiles.export.legacy_zip.writer import write_legacy_zip
from geetiles.export.legacy_zip.zip_writer import ZipWriter

__all__ = [
    "ValueMap",
    "ZipWriter",
    "apply_map",
    "check_outputs",
    "chip_records",
    "dumps",
    "expand",
    "foreign_name",
    "hashless_name",
    "names",
    "stored",
    "value_map",
    "write_legacy_zip",
    "write_metadata",
]
