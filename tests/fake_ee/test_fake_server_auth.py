"""The fake server's authentication: the Authorization check and the OAuth2 token endpoint.

Covers the bearer token on /v1 calls and google-auth refresh flows (user refresh token, service-account JWT).
"""

from __future__ import annotations

import json

import pytest

from tests.fake_ee import FakeEarthEngine
from tests.fake_ee.fixtures import PROJECT, fake_ee  # noqa: F401
from tests.fake_ee.helpers import COMPUTE_PIXELS, GRID_UTM, error_of, pixels_body, post


def test_missing_or_wrong_token_is_401(fake_ee: FakeEarthEngine) -> None:  # noqa: F811
    for token in (None, "wrong-token"):
        status, content_type, body = post(fake_ee.url, COMPUTE_PIXELS, pixels_body(), token=token)
        assert (status, content_type) == (401, "application/json")
        assert error_of(body) == {
            "code": 401,
            "message": "Request had invalid authentication credentials.",
            "status": "UNAUTHENTICATED",
        }
    assert post(fake_ee.url, COMPUTE_PIXELS, pixels_body())[0] == 200
    with FakeEarthEngine(token=None) as open_server:
        assert post(open_server.url, COMPUTE_PIXELS, pixels_body(), token=None)[0] == 200


def test_token_endpoint_serves_google_auth_refresh(fake_ee: FakeEarthEngine) -> None:  # noqa: F811
    import google.auth.exceptions
    import google.auth.transport.requests
    import google.oauth2.credentials

    def credentials(refresh_token: str) -> google.oauth2.credentials.Credentials:
        return google.oauth2.credentials.Credentials(
            token=None,
            refresh_token=refresh_token,
            token_uri=fake_ee.url + "/token",
            client_id="id",
            client_secret="secret",
        )

    good = credentials("good-refresh-token")
    good.refresh(google.auth.transport.requests.Request())
    assert good.token == "test-token" and good.valid
    with pytest.raises(google.auth.exceptions.RefreshError, match="invalid_grant"):
        credentials("bad-refresh-token").refresh(google.auth.transport.requests.Request())
    status, _, body = post(
        fake_ee.url,
        "/token",
        {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "x.y.z"},
        token=None,
        form=True,
    )
    assert status == 200 and json.loads(body) == {
        "access_token": "test-token",
        "expires_in": 3600,
        "token_type": "Bearer",
    }
    status, _, body = post(
        fake_ee.url, "/token", {"grant_type": "refresh_token", "refresh_token": "nope"}, token=None, form=True
    )
    assert status == 400 and json.loads(body) == {"error": "invalid_grant", "error_description": "Bad Request"}


def test_client_with_refresh_token_credentials(fake_ee: FakeEarthEngine, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    import ee
    import google.oauth2.credentials

    monkeypatch.setattr(ee.deprecation, "_FetchDataCatalogStac", lambda: {})
    credentials = google.oauth2.credentials.Credentials(
        token=None,
        refresh_token="good-refresh-token",
        token_uri=fake_ee.url + "/token",
        client_id="id",
        client_secret="s",
    )
    try:
        ee.Initialize(credentials=credentials, url=fake_ee.url, project=PROJECT)
        chip = ee.data.computePixels(
            {"expression": ee.Image("FAKE/RGB"), "fileFormat": "NUMPY_NDARRAY", "grid": GRID_UTM}
        )
    finally:
        ee.Reset()
    assert chip.shape == (48, 64) and fake_ee.requests["token"] >= 1
