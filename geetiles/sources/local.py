"""Local rasters as a source: any raster GDAL reads (GeoTIFF, COG, VRT; a path, or an http(s)/s3
URL through GDAL's virtual file systems) resampled onto each chip's pixel grid.

Each chip is one ``rasterio.warp.reproject`` from the dataset's bands onto the chip's grid: GDAL's
warper reads only the source blocks under the chip, so a huge raster is never read whole. Reads run
in threads (GDAL releases the GIL); every thread keeps its own dataset handle.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

import numpy as np

from geetiles.errors import UserInputError
from geetiles.fetching.grid import PixelGrid, Pixels

RESAMPLING = ("nearest", "bilinear", "cubic", "cubic_spline", "lanczos", "average", "mode", "min", "max", "med")


def gdal_path(location: str) -> str:
    """``s3://b/k`` → ``/vsis3/b/k``; http(s) URLs go through ``/vsicurl/``; paths stay as they are."""
    if location.startswith("s3://"):
        return "/vsis3/" + location[len("s3://") :]
    if location.startswith(("http://", "https://")):
        return "/vsicurl/" + location
    return location


@dataclass(frozen=True)
class LocalSpec:
    path: str
    resampling: str
    band_names: tuple[str, ...]

    def share(self, max_in_flight: int, max_requests_per_s: float) -> LocalSpec:
        return self

    def create(self, seed: int) -> LocalFetcher:
        return LocalFetcher(self)


GDAL_CACHE_MB = 256  # GDAL's default is 5 % of RAM per process: bounded, so memory stays flat


class LocalFetcher:
    def __init__(self, spec: LocalSpec) -> None:
        from rasterio.env import set_gdal_config

        set_gdal_config("GDAL_CACHEMAX", GDAL_CACHE_MB)
        self.spec = spec
        self.headers: dict[str, str] = {}
        self._local = threading.local()

    async def fetch(self, grid: PixelGrid, tally) -> Pixels:
        from geetiles.fetching.outcome import in_request

        tally.requests += 1
        return await asyncio.to_thread(in_request, tally, self.read, grid)

    def read(self, grid: PixelGrid) -> Pixels:
        from affine import Affine
        from rasterio.enums import Resampling
        from rasterio.warp import reproject

        dataset = self._dataset()
        fill = dataset.nodata if dataset.nodata is not None else 0
        out = np.full((dataset.count, grid.height, grid.width), fill, dtype=dataset.dtypes[0])
        reproject(
            source=_band(dataset),
            destination=out,
            src_nodata=dataset.nodata,
            dst_transform=Affine(*grid.transform),
            dst_crs=grid.crs,
            dst_nodata=fill,
            resampling=Resampling[self.spec.resampling],
        )
        return Pixels(out, list(self.spec.band_names))

    def _dataset(self):
        import rasterio

        dataset = getattr(self._local, "dataset", None)
        if dataset is None:
            dataset = self._local.dataset = rasterio.open(self.spec.path)
        return dataset

    async def close(self) -> None:
        return None


def _band(dataset):
    import rasterio

    return rasterio.band(dataset, list(range(1, dataset.count + 1)))


class LocalSource:
    source_file = None

    def __init__(self, source_config) -> None:
        import rasterio
        from rasterio.errors import RasterioIOError

        if not source_config.dataset:
            raise UserInputError("source.kind=local needs source.dataset=PATH_OR_URL of a raster GDAL reads")
        self.path = gdal_path(source_config.dataset)
        try:
            with rasterio.open(self.path) as dataset:
                if dataset.crs is None:
                    raise UserInputError(
                        f"source.dataset={source_config.dataset!r} has no CRS; give a georeferenced raster"
                    )
                if len(set(dataset.dtypes)) > 1:
                    raise UserInputError(
                        f"source.dataset={source_config.dataset!r} mixes band types {set(dataset.dtypes)}; "
                        "build a VRT with one type"
                    )
                names = tuple(d or f"b{i + 1}" for i, d in enumerate(dataset.descriptions))
                integer = np.issubdtype(np.dtype(dataset.dtypes[0]), np.integer)
        except RasterioIOError as error:
            raise UserInputError(
                f"cannot open source.dataset={source_config.dataset!r} as a raster "
                f"({' '.join(str(error).split())[:160]}); check the path or URL"
            ) from None
        resampling = source_config.resampling or ("nearest" if integer else "bilinear")
        if resampling not in RESAMPLING:
            raise UserInputError(f"source.resampling={resampling!r} is not one of {', '.join(RESAMPLING)}")
        from pathlib import PurePosixPath

        self.name = source_config.name or PurePosixPath(source_config.dataset).stem
        self._spec = LocalSpec(self.path, resampling, names)
        self._classes, self._range_map = source_config.classes, source_config.range_map

    def describe(self) -> dict:
        """The raster read (and, for a local file, its size and modification time: an edited file
        is another request)."""
        import os

        try:
            stat = os.stat(self.path)
            return {"raster": self.path, "raster_size": stat.st_size, "raster_mtime_ns": stat.st_mtime_ns}
        except OSError:  # a URL or a GDAL virtual path
            return {"raster": self.path}

    def connect(self) -> None:
        return None

    def spec(self) -> LocalSpec:
        return self._spec

    def probe(self, grid: PixelGrid) -> Pixels:
        return LocalFetcher(self._spec).read(grid.window(0, 0, 1, 1))

    def auth_headers(self) -> dict[str, str]:
        return {}

    def force_refresh(self) -> None:
        return None

    def classes(self) -> list[dict]:
        """Label classes declared with the raster (``labels.classes``, ``labels.range_map``), as the
        proportions stage reads them; [] for imagery."""
        from geetiles.sources.base import class_table

        if not (self._classes or self._range_map):
            return []
        return class_table(self._classes, range_map=self._range_map)
