"""``geet mosaic`` (``build``) and ``geet mosaic.fromvals`` (``fromvals``): one Cloud-Optimised GeoTIFF of a
chip folder, or of one column of a tiles file painted per chip."""

from geetiles.tools.mosaic.build import MosaicSummary, build_mosaic
from geetiles.tools.mosaic.fromvals import FromValsSummary, paint_values
from geetiles.tools.mosaic.options import parse_channels

__all__ = ["FromValsSummary", "MosaicSummary", "build_mosaic", "paint_values", "parse_channels"]
