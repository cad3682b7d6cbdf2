"""Areas of interest: where a dataset is cut from, always a valid lon/lat (EPSG:4326) polygon."""

from geetiles.aoi.load import Aoi, load_aoi

__all__ = ["Aoi", "load_aoi"]
