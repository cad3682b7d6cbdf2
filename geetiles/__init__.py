"""geetiles: turn an area of interest into a machine-learning dataset from Google Earth Engine."""

__version__ = "0.2.0.dev0"
