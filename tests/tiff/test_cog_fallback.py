"""What the fast COG encoder cannot express (a chip too big for one tile, a CRS without an EPSG code,
unusual dtypes) goes to GDAL and is still a COG; inputs nobody can write are refused."""

import hashlib
import logging

import numpy as np
import pytest

from geetiles.tiff.cog import encode_cog, write_cog
from tests.tiff.cog_checks import UTM, chip, cog_errors, gdal_complaints, read_back


def test_big_chip_falls_back_to_gdal_and_is_still_a_cog(tmp_path, caplog):
    array = chip("uint16", 2, 1000, 1000)
    assert encode_cog(array, *UTM, ["a", "b"], 0) is None
    path = tmp_path / "big.tif"
    with caplog.at_level(logging.DEBUG, logger="rasterio"):  # other tests may have quietened it (geet does)
        digest = write_cog(path, array, *UTM, ["a", "b"], 0, metadata={"source": "test"})
        back = read_back(path)
    assert gdal_complaints(caplog.records) == []
    assert back["structure"]["LAYOUT"] == "COG" and back["overviews"]
    assert np.array_equal(back["pixels"], array) and back["transform"] == UTM[1] and back["descriptions"] == ("a", "b")
    assert back["tags"]["source"] == "test"
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert cog_errors(path) == []


def test_crs_without_epsg_code_falls_back(tmp_path):
    wkt = (
        'PROJCS["custom",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
        'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Sinusoidal"],'
        'PARAMETER["longitude_of_center",0],PARAMETER["false_easting",0],PARAMETER["false_northing",0],'
        'UNIT["metre",1]]'
    )
    array = chip("uint8", 1, 20, 30)
    assert encode_cog(array, wkt, UTM[1], ["x"], 0) is None
    path = tmp_path / "custom.tif"
    write_cog(path, array, wkt, UTM[1], ["x"], 0)
    back = read_back(path)
    assert "Sinusoidal" in back["crs"].to_wkt() and back["structure"]["LAYOUT"] == "COG"
    assert np.array_equal(back["pixels"], array)


@pytest.mark.parametrize(
    "array",
    [
        chip("uint8", 1, 4, 4).astype(">u2"),
        chip("uint8", 1, 4, 4).astype("float16"),
        chip("uint8", 1, 4, 4).astype(bool),
        chip("uint8", 1, 520, 16),
    ],
)
def test_inputs_the_fast_encoder_cannot_express(array):
    assert encode_cog(array, *UTM, ["x"], None) is None


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="colormap"):
        encode_cog(chip("uint8", 3, 10, 10), *UTM, ["a", "b", "c"], 0, colormap={0: (0, 0, 0)})
    with pytest.raises(ValueError, match="colormap"):
        encode_cog(chip("float32", 1, 10, 10), *UTM, ["a"], 0, colormap={0: (0, 0, 0)})
    with pytest.raises(ValueError, match="colormap entry"):
        encode_cog(chip("uint8", 1, 10, 10), *UTM, ["a"], 0, colormap={256: (0, 0, 0)})
    with pytest.raises(ValueError, match="band names"):
        encode_cog(chip("uint8", 3, 10, 10), *UTM, ["a"], 0)
    with pytest.raises(ValueError, match="shape"):
        encode_cog(np.zeros((10, 10), "uint8"), *UTM, [], 0)
