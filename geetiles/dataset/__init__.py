"""Reading an exported dataset: :class:`ChipDataset` (map-style, over the index and the GeoTIFFs) and
:func:`iterate_shards` (the WebDataset shards). Both return the one sample :mod:`geetiles.dataset.sample`
describes, as numpy arrays and plain values, and need neither torch nor geetiles' pipeline: PyTorch's
``DataLoader`` batches either with its default collate."""

from geetiles.dataset.chips import ChipDataset
from geetiles.dataset.sample import SAMPLE_KEYS, ChipClass
from geetiles.dataset.shards import iterate_shards

__all__ = ["SAMPLE_KEYS", "ChipClass", "ChipDataset", "iterate_shards"]
