"""The endpoints around the computations: API discovery, the algorithm list, OAuth tokens, stats, 404.

What the `ee` client and google-auth fetch before and besides computing; the
discovery document is templated with the server's own URL.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from .errors import error_response
from .state import ServerState

_BASE_URL_PLACEHOLDER = "__BASE_URL__"
GOOD_REFRESH_TOKEN = "good-refresh-token"
_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def algorithms_json() -> bytes:
    """The algorithm list shipped in the earthengine-api wheel, so every ee.* method exists."""
    import ee

    return (Path(ee.__file__).resolve().parent / "tests" / "algorithms.json").read_bytes()


class ServiceHandlers(ServerState):
    """Discovery, algorithms.list, the token endpoint, /_stats for benchmarks, and the catch-all 404."""

    async def _discovery(self, request: web.Request) -> web.Response:
        """The base URL is templated in because googleapiclient builds method URLs from rootUrl."""
        base = f"{request.scheme}://{request.host}"
        return web.Response(
            text=self._discovery_template.replace(_BASE_URL_PLACEHOLDER, base), content_type="application/json"
        )

    async def _list_algorithms(self, request: web.Request) -> web.Response:
        return web.Response(body=self._algorithms, content_type="application/json")

    async def _not_found(self, request: web.Request) -> web.Response:
        return error_response(404, f"Method not found: {request.method} {request.path}")

    async def _token(self, request: web.Request) -> web.Response:
        """OAuth2 token endpoint for google-auth refresh flows (user refresh token or service-account JWT)."""
        form = await request.post()
        good_refresh = form.get("refresh_token") == GOOD_REFRESH_TOKEN
        good_jwt = (
            form.get("grant_type") == _JWT_BEARER and bool(form.get("assertion")) and "revoked" not in request.query
        )
        if not (good_refresh or good_jwt):
            return web.json_response({"error": "invalid_grant", "error_description": "Bad Request"}, status=400)
        token = self.token if self.token is not None else "test-token"
        return web.json_response({"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

    async def _stats(self, request: web.Request) -> web.Response:
        """Counters and wall-clock request/answer times, for benchmarks running in another process."""
        with self._lock:
            return web.json_response(
                {
                    "compute_pixels_calls": self._compute_pixels_calls,
                    "errors_injected": self._errors_injected,
                    "max_in_flight": self._max_in_flight,
                    "arrival_times_wall": list(self._arrival_wall),
                    "answer_times_wall": list(self._answer_wall),
                    "grids_answered": len(self._calls_by_grid),
                    "grids_answered_again": sum(n - 1 for n in self._calls_by_grid.values() if n > 1),
                }
            )
