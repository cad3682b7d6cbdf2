"""The label chips geetiles 0.1.7 counted on the Tokyo cases (``labels.npz``), laid out as 0.1.7 laid them
out, so its ``lp.compute`` outputs can be compared with ours on the very same pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio

TOKYO = Path(__file__).resolve().parents[1] / "data" / "original017" / "files" / "proportions" / "tokyo"


def write_original_label_chips(folder: Path, stem: str, dataset: str = "esa-world-cover") -> None:
    """``{folder}/{stem}/{dataset}/{identifier}.tif`` for every chip of ``stem`` in labels.npz."""
    labels = np.load(TOKYO / "labels.npz")
    chips = folder / stem / dataset
    chips.mkdir(parents=True)
    for identifier, values, transform in zip(
        labels[f"{stem}__ids"], labels[f"{stem}__labels"], labels[f"{stem}__transforms"]
    ):
        with rasterio.open(
            chips / f"{identifier}.tif",
            "w",
            driver="GTiff",
            width=values.shape[1],
            height=values.shape[0],
            count=1,
            dtype=values.dtype,
            crs="EPSG:4326",
            nodata=0,
            transform=rasterio.Affine.from_gdal(*transform),
        ) as out:
            out.write(values, 1)
