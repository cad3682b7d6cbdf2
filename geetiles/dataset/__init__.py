"""Reading an exported dataset: :class:`ChipDataset` (map-style, over the index and the GeoTIFFs) and
:func:`iterate_shards` (the WebDataset shards of a split). Both return numpy arrays and need neither
torch nor geetiles' pipeline, so a PyTorch ``DataLoader`` can use them as they are."""

from geetiles.dataset.chips import ChipDataset
from geetiles.dataset.shards import iterate_shards

__all__ = ["ChipDataset", "iterate_shards"]
