"""Fixtures of the synthetic export (tests/export/webdataset/synthetic.py)."""

from tests.export.webdataset.synthetic import chips, exported, wds  # noqa: F401  (fixtures)
