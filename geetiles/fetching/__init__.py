"""The vocabulary shared by sources and the download engine, below both: a chip's pixel grid and
pixels, the outcome classes a fetch may end with, and pacing (rate limit, backoff). Nothing here
knows a source or the engine, so neither imports the other."""
