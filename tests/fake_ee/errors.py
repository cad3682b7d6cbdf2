"""The fake service's error answers: Google's JSON error envelope and the messages it carries.

Shared by every endpoint (and by tests that compare messages), so one place
holds the wording the real service uses and which the client's retries key on.
"""

from __future__ import annotations

from aiohttp import web

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
COMPUTED_VALUE_TOO_LARGE = "Computed value is too large."
INJECTED_MESSAGES = {
    429: "Too many concurrent aggregations.",
    503: "The service is currently unavailable.",
}
UNAUTHENTICATED_MESSAGE = "Request had invalid authentication credentials."


def error_response(code: int, message: str) -> web.Response:
    """Google's JSON error envelope, which googleapiclient turns into the EEException text."""
    status = _STATUS_NAMES.get(code, "UNKNOWN")
    return web.json_response({"error": {"code": code, "message": message, "status": status}}, status=code)
