"""``geet verify DATASET``: check an exported dataset against itself, file by file (issue 24).

``verify_dataset(path)`` returns a :class:`Report`: the SHA-256 of every file as ``MANIFEST.sha256``
records it; every chip present, hashing to the index's SHA-256 and decoding to the index's shape,
dtype, CRS and transform; no chip file outside the index; disjoint splits that agree with
``splits/{split}.parquet``; the card's ``data_files`` naming the index's splits; the WebDataset shards
as ``shards.json`` lists them; STAC items and Croissant files, when present, agreeing with the index.
Nothing outside the dataset is read (no symbolic link followed, no ``..`` or absolute path opened)."""

from geetiles.verify.report import Problem, Report
from geetiles.verify.run import verify_dataset

__all__ = ["Problem", "Report", "verify_dataset"]
