"""Fixtures of 0.1.7's zip cases (tests/export/legacy_zip/case.py)."""

from tests.export.legacy_zip.case import made, original  # noqa: F401  (fixtures)
