"""Speed of geetiles.tiff: its fast reader and encoders against rasterio (GDAL), and tifffile if installed.

    python bench/tiff.py [--chips 300] [--repeats 5]

Chips of 100x100 pixels (a typical chip), 3-band uint8 images and 1-band uint8 labels, in the layouts
a run meets: the download's GeoTIFFs (geetiles' encoder), GeoTIFFs GDAL wrote (tiled, Deflate, as
geetiles 0.1.7's downloads and other tools write), and the export's COGs. Everything happens in one
process on files in a temporary folder (in the page cache after the first pass); each figure is the
median over --repeats passes of the CPU time per chip (``time.process_time``), so that other work on
the machine weighs less.

Timed, per chip:
1. reading pixels and grid: ``geetiles.tiff.read_chip`` (fast path), the same file with rasterio
   (open, read, transform, CRS: what the fallback does), and ``tifffile.imread`` (pixels only);
2. reading a header: ``geetiles.tiff.read_header`` against opening the file with rasterio;
3. encoding a download GeoTIFF: ``encode_geotiff`` (fast) against ``geotiff_with_rasterio``;
4. writing an export COG: ``write_cog`` (fast) against GDAL's COG driver (``_write_with_gdal``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

TRANSFORM = (1e-4, 0.0, 6.0, 0.0, -1e-4, 49.8)  # affine order: 100 px of 1e-4 degrees
GDAL_TRANSFORM = (6.0, 1e-4, 0.0, 49.8, 0.0, -1e-4)


def per_chip_ms(work, items: list, repeats: int) -> float:
    """Median over ``repeats`` passes of the CPU milliseconds per item of ``work(item)``."""
    passes = []
    for _ in range(repeats):
        started = time.process_time()
        for item in items:
            work(item)
        passes.append((time.process_time() - started) * 1000 / len(items))
    return statistics.median(passes)


def images(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    ramp = np.add.outer(np.arange(100), np.arange(100)) // 4
    return [
        np.stack([(ramp + rng.integers(0, 250) + 60 * b) % 250 + 1 for b in range(3)]).astype(np.uint8)
        for _ in range(count)
    ]


def write_layouts(folder: Path, arrays: list[np.ndarray]) -> dict[str, list[Path]]:
    import rasterio
    from affine import Affine

    from geetiles.tiff.cog import write_cog
    from geetiles.tiff.writer import encode_geotiff

    layouts: dict[str, list[Path]] = {"download GeoTIFF": [], "GDAL GeoTIFF": [], "export COG": []}
    for i, array in enumerate(arrays):
        path = folder / f"download{i}.tif"
        path.write_bytes(encode_geotiff(array, "EPSG:4326", TRANSFORM, ["r", "g", "b"], 0))
        layouts["download GeoTIFF"].append(path)
        path = folder / f"gdal{i}.tif"
        with rasterio.open(
            path,
            "w",
            driver="GTiff",
            width=100,
            height=100,
            count=3,
            dtype="uint8",
            crs="EPSG:4326",
            transform=Affine(*TRANSFORM),
            nodata=0,
            tiled=True,
            blockxsize=112,
            blockysize=112,
            compress="deflate",
        ) as dataset:
            dataset.write(array)
        layouts["GDAL GeoTIFF"].append(path)
        path = folder / f"cog{i}.tif"
        write_cog(path, array, "EPSG:4326", GDAL_TRANSFORM, ["r", "g", "b"], 0)
        layouts["export COG"].append(path)
    return layouts


def with_rasterio(path: Path):
    import rasterio

    with rasterio.open(path) as dataset:
        return dataset.read(), dataset.transform.to_gdal(), dataset.crs.to_epsg(), dataset.nodata


def rasterio_header(path: Path):
    import rasterio

    with rasterio.open(path) as dataset:
        return dataset.width, dataset.profile, dataset.transform, dataset.crs.to_epsg(), dataset.descriptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chips", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import rasterio

    from geetiles.tiff import read_chip, read_header
    from geetiles.tiff.cog import _write_with_gdal, write_cog
    from geetiles.tiff.reader import _plain_chip
    from geetiles.tiff.writer import encode_geotiff, geotiff_with_rasterio

    try:
        import tifffile
    except ImportError:
        tifffile = None
    arrays = images(args.chips)
    with (
        tempfile.TemporaryDirectory(prefix="geetiles-bench-tiff-") as tmp,
        rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"),
    ):
        folder = Path(tmp)
        layouts = write_layouts(folder, arrays)
        print(f"{args.chips} chips of 3 x 100 x 100 uint8, CPU ms per chip (median of {args.repeats} passes)")
        for name, paths in layouts.items():
            assert _plain_chip(paths[0].read_bytes(), None) is not None, f"{name}: not on the fast path"
            fast = per_chip_ms(lambda p: read_chip(p, all_bands=True), paths, args.repeats)
            gdal = per_chip_ms(with_rasterio, paths, args.repeats)
            line = f"read {name:17s} geetiles.tiff {fast:6.3f}  rasterio {gdal:6.3f} ({gdal / fast:4.1f}x)"
            if tifffile is not None:
                other = per_chip_ms(tifffile.imread, paths, args.repeats)
                line += f"  tifffile {other:6.3f} ({other / fast:4.1f}x)"
            print(line)
        paths = layouts["GDAL GeoTIFF"]
        fast = per_chip_ms(read_header, paths, args.repeats)
        gdal = per_chip_ms(rasterio_header, paths, args.repeats)
        print(f"header of a GDAL GeoTIFF    geetiles.tiff {fast:6.3f}  rasterio {gdal:6.3f} ({gdal / fast:4.1f}x)")
        fast = per_chip_ms(
            lambda a: encode_geotiff(a, "EPSG:4326", TRANSFORM, ["r", "g", "b"], 0), arrays, args.repeats
        )
        gdal = per_chip_ms(
            lambda a: geotiff_with_rasterio(a, "EPSG:4326", TRANSFORM, ["r", "g", "b"], 0), arrays, args.repeats
        )
        print(f"encode download GeoTIFF     geetiles.tiff {fast:6.3f}  rasterio {gdal:6.3f} ({gdal / fast:4.1f}x)")
        out = folder / "out.tif"
        fast = per_chip_ms(
            lambda a: write_cog(out, a, "EPSG:4326", GDAL_TRANSFORM, ["r", "g", "b"], 0), arrays, args.repeats
        )
        gdal = per_chip_ms(
            lambda a: _write_with_gdal(out, a, "EPSG:4326", GDAL_TRANSFORM, ["r", "g", "b"], 0, None, None),
            arrays,
            args.repeats,
        )
        print(f"write export COG            geetiles.tiff {fast:6.3f}  GDAL COG {gdal:6.3f} ({gdal / fast:4.1f}x)")


if __name__ == "__main__":
    main()
