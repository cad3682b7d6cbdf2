"""What PyTorch's ``default_collate`` needs of a batch of dict samples, checked without torch: the same
keys in every sample, and per key the same kind of value: numpy arrays of one numeric dtype and one
shape (stacked), Python ints or floats (a tensor), or strings (a list). None, nested dicts of
varying keys, object arrays or ragged arrays make it raise, and so does :func:`collate` here."""

from __future__ import annotations

import numpy as np


def collate(samples: list[dict]) -> dict:
    """The batch ``default_collate`` would make of ``samples``, as numpy; AssertionError where it would fail."""
    assert samples, "an empty batch"
    keys = list(samples[0])
    batch = {}
    for sample in samples:
        assert list(sample) == keys, f"keys differ: {list(sample)} != {keys}"
    for key in keys:
        values = [sample[key] for sample in samples]
        first = values[0]
        if isinstance(first, np.ndarray):
            assert first.dtype.kind in "biuf", f"{key}: dtype {first.dtype} is not numeric"
            for value in values:
                assert isinstance(value, np.ndarray), f"{key}: {type(value).__name__} among arrays"
                assert value.dtype == first.dtype and value.shape == first.shape, (
                    f"{key}: {value.dtype}{value.shape} != {first.dtype}{first.shape}"
                )
            batch[key] = np.stack(values)
        elif isinstance(first, str):
            assert all(isinstance(value, str) for value in values), f"{key}: not all strings"
            batch[key] = list(values)
        elif isinstance(first, (bool, int, float)):
            assert all(type(value) is type(first) for value in values), f"{key}: mixed number types"
            batch[key] = np.asarray(values)
        else:
            raise AssertionError(f"{key}: {type(first).__name__} is not something default_collate batches as such")
    return batch
