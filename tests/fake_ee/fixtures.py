"""Pytest fixtures: a started fake server, and the real `ee` client initialised against it.

Import them into a test module with
`from tests.fake_ee.fixtures import fake_ee, ee_client  # noqa: F401`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from .server import FakeEarthEngine

PROJECT = "test-project"


@pytest.fixture
def fake_ee(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEarthEngine]:
    """A fresh server per test; loopback is exempted from any proxy settings so nothing leaves the host."""
    for var in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(var, "")
        monkeypatch.setenv(var, ",".join(filter(None, [current, "127.0.0.1", "localhost"])))
    with FakeEarthEngine() as server:
        yield server


@pytest.fixture
def ee_client(fake_ee: FakeEarthEngine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The `ee` module, initialised against `fake_ee`; ee.Reset() afterwards so no state leaks."""
    import ee
    import google.oauth2.credentials

    # ee.Initialize fetches a deprecation list from storage.googleapis.com: never leave 127.0.0.1.
    monkeypatch.setattr(ee.deprecation, "_FetchDataCatalogStac", lambda: {})
    credentials = google.oauth2.credentials.Credentials(token=fake_ee.token or "test-token")
    ee.Reset()  # earlier tests (the engine's own initialisation) may have left ee initialised elsewhere
    ee.Initialize(credentials=credentials, url=fake_ee.url, project=PROJECT)
    try:
        yield ee
    finally:
        ee.Reset()
