"""Areas of interest and the regions they come from: read and checked in lon/lat
(EPSG:4326) once, for every stage that needs the AOI (aoi, tiling, foreign) and the download."""
