"""The dataset package: the ``export`` stage and its formats (GeoTIFF folder with a GeoParquet index,
WebDataset shards, geetiles 0.1.7's zip)."""
