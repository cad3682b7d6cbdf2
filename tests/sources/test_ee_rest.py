import io

import numpy as np
import pytest

from geetiles.sources.ee_rest import decode_npy, error_message, read_npy


@pytest.mark.parametrize("array", [
    np.zeros((3, 4), dtype=[("red", "u1"), ("nir", "<f4")]),
    np.arange(12.0).reshape(3, 4),
    np.asfortranarray(np.arange(12).reshape(3, 4)),
    np.arange(4, dtype=">i2").reshape(2, 2),
])
def test_npy_reader_equals_numpy(array):
    for version in ((1, 0), (2, 0)):
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, array, version=version)
        read = read_npy(buffer.getvalue())
        assert read.dtype == array.dtype and np.array_equal(read, array)


def test_structured_answer_becomes_bands_in_order():
    structured = np.zeros((2, 3), dtype=[("vis-red", "u1"), ("vis-green", "u1")])
    structured["vis-green"] = 7
    buffer = io.BytesIO()
    np.save(buffer, structured)
    pixels = decode_npy(buffer.getvalue())
    assert pixels.band_names == ["vis-red", "vis-green"] and pixels.array.shape == (2, 2, 3)
    assert (pixels.array[1] == 7).all()


def test_google_error_bodies_become_one_line():
    body = b'{"error": {"code": 400, "message": "Image.select: Pattern \'X\'\\n did not match.", "status": "INVALID_ARGUMENT"}}'
    assert error_message(400, body) == "HTTP 400: Image.select: Pattern 'X' did not match."
    assert error_message(None, b"ClientConnectorError: refused") == "ClientConnectorError: refused"
