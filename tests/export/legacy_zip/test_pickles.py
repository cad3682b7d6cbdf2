"""The pickles: numpy's constructors named as numpy 1.x names them, so numpy 1.x and 2.x load them."""

from __future__ import annotations

import pickle
import subprocess

import numpy as np
import pytest

from geetiles.export import legacy_zip
from tests.export.legacy_zip.case import REF_PYTHON


@pytest.mark.slow  # starts a process
@pytest.mark.skipif(not REF_PYTHON.exists(), reason="0.1.7's throw-away venv (numpy 1.26) is not on this machine")
def test_the_pickles_load_under_numpy_1(made):
    _, _, zip_path = made
    script = (
        "import sys, zipfile, pickle, warnings; warnings.simplefilter('error'); z = zipfile.ZipFile(sys.argv[1]); "
        "print(sum(type(pickle.loads(z.read(n))['chip']).__name__ == 'ndarray' "
        "for n in z.namelist() if n.endswith('.pkl')))"
    )
    result = subprocess.run([str(REF_PYTHON), "-c", script, str(zip_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["240"]


def test_the_pickles_name_numpys_constructors_as_numpy_1_does():
    import io
    import pickletools

    record = {
        "chip": np.arange(12, dtype=np.uint8).reshape(2, 2, 3),
        "center_latlon": np.array([1.5, -2.5]),
        "big": np.arange(40000, dtype=np.uint16),
        "scalar": np.float64(0.5),
        "corners": {"nw": np.zeros(2)},
    }
    data = legacy_zip.dumps(record)
    pickletools.dis(data, out=io.StringIO())  # well formed: every memo entry defined before it is used
    strings = [arg for op, arg, _ in pickletools.genops(data) if isinstance(arg, str)]
    assert "numpy.core.multiarray" in strings and not any(s.startswith("numpy._core") for s in strings)
    loaded = pickle.loads(data)
    assert loaded.keys() == record.keys() and type(loaded["scalar"]) is np.float64 and loaded["scalar"] == 0.5
    for key in ("chip", "center_latlon", "big"):
        assert loaded[key].dtype == record[key].dtype and np.array_equal(loaded[key], record[key])
        assert loaded[key].flags.writeable
    assert legacy_zip.dumps(record) == data
