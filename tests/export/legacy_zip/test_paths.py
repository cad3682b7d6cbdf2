"""The names 0.1.7 gave the legacy zip's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from geetiles.errors import UserInputError
from geetiles.export import legacy_zip
from tests.export.legacy_zip.case import CHIPS, RANDOM5K


def test_names_follow_0_1_7():
    assert legacy_zip.hashless_name(Path(f"/x/{CHIPS}.geojson")) == "tokyo_partitions_aschips.geojson"
    assert legacy_zip.foreign_name(Path(f"/a_b/{RANDOM5K}.geojson")) == "5k"
    with pytest.raises(UserInputError):
        legacy_zip.foreign_name(Path("/x/communes.geojson"))
