"""The one reader and writer of TIFF files: chip headers (``header``), pixels (``decode``, ``reader``)
and the download's GeoTIFFs and the export's COGs (``tags``, ``writer``, ``cog``). Nothing else parses TIFF."""

from geetiles.tiff.header import TiffHeader
from geetiles.tiff.reader import ChipRaster, UnreadableChip, decode_pixels, read_chip, read_header, read_pixels

__all__ = ["ChipRaster", "TiffHeader", "UnreadableChip", "decode_pixels", "read_chip", "read_header", "read_pixels"]
