"""The ``aoi`` stage: the AOI kept as a lon/lat WKT beside the dataset (reading it is ``geetiles.regions``)."""
