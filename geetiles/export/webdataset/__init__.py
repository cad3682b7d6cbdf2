"""The ``webdataset`` format: tar shards per split for streaming, one sample per chip.

Layout under ``dest``::

    {split}/{name}-{split}-000000.tar, ...   the shards of each split
    shards.json                              every shard (file, samples, bytes, sha256), totals, what a
                                             sample holds, the class table; written last

A sample is the chip's identifier (``__key__``) and up to three members, in this order:

- ``{key}.image.npy``: the images chip, every band, (bands, height, width), its native dtype;
- ``{key}.label.npy``: the labels chip's first band, (height, width), native dtype (absent without labels);
- ``{key}.json``: the chip's index row: ``identifier``, ``split``, ``bounds`` [minlon, minlat, maxlon,
  maxlat], ``centre_lon``/``centre_lat`` and ``centre_method`` (see :func:`chip_centres`), the image
  chip's ``crs``, ``transform_gdal`` (GDAL order: x0, dx, row rotation, y0, column rotation, dy; not
  ``affine.Affine``'s a..f), ``width`` and ``height``, the labels' ``proportions`` (a list of every
  class's share in class-table order, 0 where absent) with ``class_keys`` (that order), and
  ``valid_frac``, then every other JSON-able column of the tiles file (``area_km2``, ``foreignid_*``,
  ``split_*``, ...); NaN is null. Every sample's JSON has the same keys and list lengths, so readers that
  infer a schema from the first samples (Hugging Face ``datasets``) lose no value.

``.npy`` members never hold objects, so readers load them with ``allow_pickle=False``: the
``webdataset`` library in secure mode (``WDS_SECURE=1``) or :func:`geetiles.dataset.shards.iterate_shards`,
which needs nothing but numpy.

Chips are shuffled per split (numpy ``default_rng`` seeded with the export seed and the split's name),
then spread evenly over the split's shards: as many shards as the target size asks for, but at least
``min_shards`` when the split has that many chips, never an empty one. Shards are byte-for-byte
reproducible: the same input gives the same files (tar headers with mtime 0, owner 0/0 and no owner
names, mode 0644, members in a fixed order). Each shard is written atomically; large exports write
shards in worker processes.

The modules: :mod:`.rows` (a sample's index row), :mod:`.sample` (its members), :mod:`.tar` (the tar
stream of a shard), :mod:`.shards` (how many shards, writing them, in worker processes),
:mod:`.writer` (the whole export and ``shards.json``).
"""

from geetiles.export.webdataset.rows import ChipRows, chip_centres
from geetiles.export.webdataset.sample import check_keys
from geetiles.export.webdataset.shards import shard_count
from geetiles.export.webdataset.writer import SHARDS_JSON, write_webdataset

__all__ = ["SHARDS_JSON", "ChipRows", "check_keys", "chip_centres", "shard_count", "write_webdataset"]
