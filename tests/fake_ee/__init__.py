"""A fake Earth Engine REST server (127.0.0.1 only) that the real `ee` client can talk to.

`FakeEarthEngine` is imported lazily so that `python -m tests.fake_ee.server`
does not import the server module twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import FakeEarthEngine

__all__ = ["FakeEarthEngine"]


def __getattr__(name: str) -> Any:
    if name == "FakeEarthEngine":
        from .server import FakeEarthEngine

        return FakeEarthEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
