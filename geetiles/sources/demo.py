"""The offline demo source: synthetic but plausible imagery and land cover, no account, no network.

Pixels are a deterministic function of each pixel centre's longitude and latitude: seeded smooth
fields (sums of sinusoids at 0.5-25 km wavelengths) decide a land-cover class with the ESA
WorldCover codes, and the imagery is that class's colour plus fine texture. So the same place
always gives the same pixels, neighbouring chips join seamlessly, any CRS works, and the imagery
and labels agree (water looks like water). It is for trying the pipeline and checking a config
before spending quota, and says so in the log: the data is SYNTHETIC.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from geetiles.errors import UserInputError
from geetiles.fetching.grid import PixelGrid, Pixels

log = logging.getLogger(__name__)

IMAGERY, LANDCOVER = "demo-imagery", "demo-landcover"
DATASETS = (IMAGERY, LANDCOVER)

# ESA WorldCover classes the demo uses, with a typical true-colour appearance (R, G, B)
TREES, SHRUBS, GRASS, CROPS, BUILT, BARE, SNOW, WATER, WETLAND = 10, 20, 30, 40, 50, 60, 70, 80, 90
APPEARANCE = {
    TREES: (34, 70, 36),
    SHRUBS: (96, 112, 60),
    GRASS: (118, 150, 74),
    CROPS: (170, 160, 92),
    BUILT: (150, 146, 140),
    BARE: (186, 168, 134),
    SNOW: (236, 240, 244),
    WATER: (24, 52, 88),
    WETLAND: (52, 96, 92),
}
_SEED = 20201231


@lru_cache(maxsize=1)
def _waves() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Seeded wave vectors (cycles per degree), phases and amplitudes of each field."""
    rng = np.random.default_rng(_SEED)

    def field(count: int, shortest_deg: float, longest_deg: float):
        wavelength = np.exp(rng.uniform(np.log(shortest_deg), np.log(longest_deg), count))
        angle = rng.uniform(0, np.pi, count)
        k = np.stack([np.cos(angle), np.sin(angle)]) * (2 * np.pi / wavelength)
        phase = rng.uniform(0, 2 * np.pi, count)
        amplitude = wavelength / wavelength.sum()  # longer waves weigh more: large smooth regions
        return k, phase, amplitude

    return {
        "terrain": field(6, 0.01, 0.25),
        "moisture": field(5, 0.008, 0.2),
        "urban": field(4, 0.005, 0.05),
        "texture": field(3, 0.0004, 0.002),
    }


def _field(name: str, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The named field at the points, scaled to unit variance (so thresholds are normal quantiles).

    On a lon/lat grid (``lon`` a row, ``lat`` a column) each wave separates as
    sin(A + B) = sin A cos B + cos A sin B: sines of a row and a column instead of every pixel."""
    k, phase, amplitude = _waves()[name]
    scale = 1.0 / np.sqrt(0.5 * np.sum(amplitude**2))
    if lon.ndim == 2 and lon.shape[0] == 1 and lat.shape[1] == 1:  # separable: one small matrix product
        a = k[0][:, None] * lon[0][None, :] + phase[:, None]  # (waves, width)
        b = k[1][:, None] * lat[:, 0][None, :]  # (waves, height)
        rows = np.concatenate([(amplitude[:, None] * np.cos(b)).T, (amplitude[:, None] * np.sin(b)).T], axis=1)
        return (rows @ np.concatenate([np.sin(a), np.cos(a)])) * scale
    value = np.zeros(np.broadcast_shapes(lon.shape, lat.shape), dtype=np.float64)
    for i in range(len(phase)):
        value += amplitude[i] * np.sin(k[0, i] * lon + k[1, i] * lat + phase[i])
    return value * scale


def landcover(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """WorldCover class codes for pixel centres (uint8); shares roughly those of a European landscape."""
    terrain, moisture, urban = _field("terrain", lon, lat), _field("moisture", lon, lat), _field("urban", lon, lat)
    classes = np.full(terrain.shape, GRASS, dtype=np.uint8)  # about 25 %
    classes[moisture > -0.2] = CROPS  # about 25 %
    classes[moisture > 0.5] = TREES  # about 30 %
    classes[moisture < -0.9] = SHRUBS
    classes[(terrain > 1.5) & (moisture < 0.0)] = BARE
    classes[terrain > 2.3] = SNOW
    classes[(urban > 1.4) & (terrain < 1.0)] = BUILT  # about 8 %
    classes[(terrain < -1.4) & (moisture > 0.5)] = WETLAND
    classes[terrain < -1.65] = WATER  # about 5 %
    return classes


def imagery(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """(3, ...) uint8 true-colour-like RGB: the class's colour with a little texture."""
    classes = landcover(lon, lat)
    palette = np.zeros((256, 3), dtype=np.float32)
    for code, colour in APPEARANCE.items():
        palette[code] = colour
    rgb = palette[classes]  # (height, width, 3)
    texture = _field("texture", lon, lat)[..., None] * 9
    return np.clip(rgb + texture, 0, 255).astype(np.uint8).transpose(2, 0, 1)


@lru_cache(maxsize=32)
def _to_lonlat(crs: str):
    from pyproj import Transformer

    return Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


def pixel_centres(grid: PixelGrid) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of every pixel centre of ``grid``."""
    a, b, c, d, e, f = grid.transform
    cols = np.arange(grid.width, dtype=np.float64) + 0.5
    rows = np.arange(grid.height, dtype=np.float64)[:, None] + 0.5
    x = c + a * cols + b * rows
    y = f + d * cols + e * rows
    if grid.crs.upper() in ("EPSG:4326", "OGC:CRS84") and b == 0 and d == 0:
        return (c + a * cols)[None, :], f + e * rows  # a row of longitudes, a column of latitudes
    x, y = np.broadcast_arrays(x, y)
    return _to_lonlat(grid.crs).transform(x, y)


def render(dataset: str, grid: PixelGrid) -> Pixels:
    lon, lat = pixel_centres(grid)
    if dataset == IMAGERY:
        return Pixels(imagery(lon, lat), ["red", "green", "blue"])
    return Pixels(landcover(lon, lat)[None], ["Map"])


@dataclass(frozen=True)
class DemoSpec:
    """What a worker needs: only the dataset name (the field is a pure function)."""

    dataset: str

    def share(self, max_in_flight: int, max_requests_per_s: float) -> DemoSpec:
        return self  # no server to protect

    def create(self, seed: int) -> DemoFetcher:
        return DemoFetcher(self.dataset)


class DemoFetcher:
    def __init__(self, dataset: str) -> None:
        self.dataset = dataset
        self.headers: dict[str, str] = {}

    async def fetch(self, grid: PixelGrid, tally) -> Pixels:
        """Rendered in a thread, so the worker's event loop stays free to answer the driver."""
        from geetiles.fetching.outcome import in_request

        tally.requests += 1
        return await asyncio.to_thread(in_request, tally, render, self.dataset, grid)

    async def close(self) -> None:
        return None


class DemoSource:
    source_file = None

    def __init__(self, source_config) -> None:
        dataset = source_config.dataset or IMAGERY
        if dataset not in DATASETS:
            raise UserInputError(f"source.dataset={dataset!r} is not a demo dataset; use {IMAGERY} or {LANDCOVER}")
        self.dataset = dataset
        self.name = source_config.name or dataset

    def connect(self) -> None:
        log.warning(
            "source %s is SYNTHETIC demo data (procedural, not real imagery): for trying the pipeline "
            "offline; choose an Earth Engine source for real data",
            self.dataset,
        )

    def spec(self) -> DemoSpec:
        return DemoSpec(self.dataset)

    def probe(self, grid: PixelGrid) -> Pixels:
        return render(self.dataset, grid.window(0, 0, 1, 1))

    def describe(self) -> dict:
        """The demo field is a pure function of the dataset name and this version of it."""
        return {"demo_field": f"{self.dataset}/seed{_SEED}"}

    def auth_headers(self) -> dict[str, str]:
        return {}

    def force_refresh(self) -> None:
        return None

    def classes(self) -> list[dict]:
        """The WorldCover legend (from the packaged esa-world-cover recipe) for the classes the demo draws."""
        if self.dataset != LANDCOVER:
            return []
        from geetiles.sources.base import class_table
        from geetiles.sources.catalog import find_recipe

        return [c for c in class_table(find_recipe("esa-world-cover").classes) if c["code"] in APPEARANCE]
