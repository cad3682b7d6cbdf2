"""NaN and infinity in the config are named for what they are, not as "negative" or "not positive"."""

import math

import pytest

from geetiles.config import ExperimentConfig, SourceConfig
from geetiles.errors import UserInputError
from geetiles.numbers import check_finite_config, not_finite_reason, require_finite


def test_reasons():
    assert not_finite_reason(math.nan) == "NaN (not a number)"
    assert not_finite_reason(math.inf) == not_finite_reason(-math.inf) == "infinite"
    assert not_finite_reason(0.5) is None and not_finite_reason(3) is None and not_finite_reason(None) is None
    assert not_finite_reason("nan") is None and not_finite_reason(True) is None


def test_require_finite_names_the_key_and_the_fix():
    assert require_finite("a.b", 2.5) == 2.5
    with pytest.raises(UserInputError, match=r"^split.fractions\[0\]=nan is NaN \(not a number\); give train, val"):
        require_finite("split.fractions[0]", math.nan)
    with pytest.raises(UserInputError, match=r"^report.x=inf is infinite; give a finite number$"):
        require_finite("report.x", math.inf)
    with pytest.raises(UserInputError, match="give shares between 0 and 1"):
        require_finite("train_pct", -math.inf, "give shares between 0 and 1")


@pytest.mark.parametrize(
    "path, value, message",
    [
        ("split.fractions", [0.5, math.nan, 0.5], r"split.fractions\[1\]=nan is NaN"),
        ("tiling.chip_size_m", math.inf, "tiling.chip_size_m=inf is infinite; give a positive number of metres"),
        ("download.stall_timeout_s", math.inf, "download.stall_timeout_s=inf is infinite"),
        ("export.shard_size_mb", math.nan, "export.shard_size_mb=nan is NaN"),
        ("ee.init_timeout_s", -math.inf, "ee.init_timeout_s=-inf is infinite"),
        ("source.meters_per_pixel", math.nan, "source.meters_per_pixel=nan is NaN"),
    ],
)
def test_the_whole_config_tree_is_walked(path, value, message):
    config = ExperimentConfig()
    check_finite_config(config)  # the defaults are finite
    group, name = path.split(".")
    setattr(getattr(config, group), name, value)
    with pytest.raises(UserInputError, match=message):
        check_finite_config(config)


def test_nan_nodata_is_a_choice_but_infinite_nodata_is_not():
    config = ExperimentConfig(source=SourceConfig(nodata=math.nan))
    check_finite_config(config)
    config.labels.nodata = math.inf
    with pytest.raises(UserInputError, match="labels.nodata=inf is infinite"):
        check_finite_config(config)
