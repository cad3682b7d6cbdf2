"""Input chips for the zip.dataset reference case (run with /work/ref017/venv/bin/python).

usage: make_zip_case.py TILES_GEOJSON OUT_DIR NPZ

Writes {tiles base}/sentinel2-rgb-median-2020/{id}.tif (3-band uint8, 20x20) and
{tiles base}/esa-world-cover/{id}.tif (1-band uint8 WorldCover codes 10..90, 20x20), EPSG:4326,
bounds = the chip's bbox, from a seeded rng; the first chips listed in `no_image` get no image.
Every array is stored in NPZ so the tests rebuild the very same chips.
"""
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.transform import from_bounds

tiles, out, npz = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
frame = gpd.read_file(tiles)
ids = frame.identifier.to_numpy().astype(str)
rng = np.random.default_rng(2017)
n = len(ids)
# images: a colour per chip plus a little noise (compresses, so the npz stays small)
base = rng.integers(0, 250, size=(n, 3, 1, 1))
images = (base + rng.integers(0, 2, size=(n, 3, 20, 20))).astype(np.uint8)
# labels: WorldCover codes 10..90 in 4x4-pixel blocks
codes = np.arange(10, 100, 10, dtype=np.uint8)
blocks = rng.integers(0, 9, size=(n, 5, 5))
labels = codes[np.kron(blocks, np.ones((4, 4), dtype=np.int64))]
transforms = []
for geometry in frame.geometry:
    transforms.append(from_bounds(*geometry.bounds, 20, 20).to_gdal())
transforms = np.array(transforms)
order = rng.permutation(n)
no_image = np.sort(ids[order[:6]])  # chips left without an image
no_label = np.sort(ids[order[6:9]])  # chips whose label is removed after lp.compute (foreign case)
base_dir = out / tiles.stem
for name, data in (("sentinel2-rgb-median-2020", images), ("esa-world-cover", labels[:, None])):
    folder = base_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    for identifier, values, transform in zip(ids, data, transforms):
        if name.startswith("sentinel2") and identifier in no_image:
            continue
        with rasterio.open(folder / f"{identifier}.tif", "w", driver="GTiff", width=20, height=20, count=values.shape[0],
                           dtype="uint8", crs="EPSG:4326", transform=rasterio.Affine.from_gdal(*transform)) as dst:
            dst.write(values)
np.savez_compressed(npz, ids=ids, images=images, labels=labels, transforms=transforms, no_image=no_image,
                    no_label=no_label)
print(f"{n} chips, {len(no_image)} without image; no_label={list(no_label)}")
