"""Sources of pixels for a chip's pixel grid (Earth Engine here; more come with later stages)."""
