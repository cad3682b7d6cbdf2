"""The download's GeoTIFFs: the fast encoder's read back in GDAL exactly as what rasterio writes, across
dtypes, band counts, sizes, CRSs and transforms; and what it cannot express goes to rasterio (the export's
COGs are in ``test_cog*``)."""

import numpy as np
import pytest
from rasterio.io import MemoryFile

from geetiles.tiff import writer
from geetiles.tiff.writer import encode_geotiff, geotiff_with_rasterio

GEOTIFF_CASES = [
    ("uint8", 3, 100, 100, "EPSG:4326", (0.0001, 0, 6.0, 0, -0.0001, 49.8), ["vis-red", "vis-green", "vis-blue"], 0),
    ("float32", 2, 300, 257, "EPSG:32632", (10.0, 0, 500000.0, 0, -10.0, 5500000.0), ["a&b", "<c>"], float("nan")),
    ("int16", 1, 17, 33, "EPSG:3857", (2.0, 0.5, 100.0, 0.25, -2.0, 200.0), ["x"], -9999),
    ("uint16", 40, 64, 64, "EPSG:32733", (30.0, 0, 0.0, 0, -30.0, 9000000.0), [f"b{i}" for i in range(40)], None),
    ("float64", 1, 5, 400, "EPSG:2169", (1.5, 0, 70000.0, 0, -1.5, 140000.0), ["elevation"], 1.5),
]


def read_blob(blob):
    with MemoryFile(blob) as memory, memory.open() as ds:
        meta = (
            ds.crs,
            tuple(ds.transform)[:6],
            ds.descriptions,
            ds.nodata,
            ds.dtypes,
            ds.block_shapes,
            ds.profile.get("compress"),
            ds.count,
            ds.width,
            ds.height,
        )
        return meta, ds.read()


@pytest.mark.parametrize("dtype, count, height, width, crs, transform, names, nodata", GEOTIFF_CASES)
def test_fast_encoder_reads_back_as_rasterio_writes(dtype, count, height, width, crs, transform, names, nodata):
    rng = np.random.default_rng(0)
    array = (rng.normal(size=(count, height, width)) * 1000).astype(dtype)
    assert writer.fast_geotiff(array, crs, transform, names, nodata) is not None  # no fallback
    fast_meta, fast_pixels = read_blob(encode_geotiff(array, crs, transform, names, nodata))
    ref_meta, ref_pixels = read_blob(geotiff_with_rasterio(array, crs, transform, names, nodata))
    nan_nodata = isinstance(nodata, float) and np.isnan(nodata)
    if nan_nodata:
        assert np.isnan(fast_meta[3]) and np.isnan(ref_meta[3])
    else:
        assert fast_meta[3] == ref_meta[3] == nodata
    assert fast_meta[:3] == ref_meta[:3] and fast_meta[4:] == ref_meta[4:]
    assert np.array_equal(fast_pixels, array, equal_nan=True) and np.array_equal(ref_pixels, array, equal_nan=True)


def test_unsupported_crs_falls_back_to_rasterio():
    array = np.ones((1, 4, 4), dtype=np.uint8)
    wkt = (
        'PROJCS["custom",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
        'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Sinusoidal"],'
        'PARAMETER["longitude_of_center",0],PARAMETER["false_easting",0],PARAMETER["false_northing",0],'
        'UNIT["metre",1]]'
    )
    assert writer.fast_geotiff(array, wkt, (1.0, 0, 0.0, 0, -1.0, 4.0), ["b"], 0) is None
    meta, pixels = read_blob(encode_geotiff(array, wkt, (1.0, 0, 0.0, 0, -1.0, 4.0), ["b"], 0))
    assert "Sinusoidal" in meta[0].to_wkt() and np.array_equal(pixels, array)
