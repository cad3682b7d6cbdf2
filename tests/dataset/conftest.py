"""Fixtures of the synthetic export (tests/export/webdataset/synthetic.py) and the exported demo run
(tests/export/conftest.py)."""

from tests.export.conftest import exported_demo  # noqa: F401  (fixture)
from tests.export.webdataset.synthetic import chips, exported, wds  # noqa: F401  (fixtures)
