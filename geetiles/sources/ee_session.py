"""Connecting to Earth Engine: credentials, project and client initialisation, failing fast.

Only the configured endpoint (and the OAuth token endpoint of the credentials) is contacted:
earthengine-api's catalog fetch from a Google storage host at initialisation is switched off.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from geetiles.errors import UserInputError

SCOPES = ["https://www.googleapis.com/auth/earthengine", "https://www.googleapis.com/auth/cloud-platform"]
PROJECT_VARIABLES = ("EE_PROJECT", "GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT")
HOW_TO_AUTHENTICATE = (
    "run `earthengine authenticate` (or `gcloud auth application-default login`), "
    "or set ee.credentials=/path/to/service-account-key.json"
)


@dataclass
class EeSession:
    """An initialised client plus what workers need to call the REST API themselves."""

    url: str
    project: str
    credentials: Any  # google.auth credentials, or None for an unauthenticated local endpoint
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def auth_headers(self) -> dict[str, str]:
        """A fresh ``Authorization`` header (refreshing the token when under 5 minutes remain)."""
        if self.credentials is None:
            return {}
        with self._lock:
            expiry = getattr(self.credentials, "expiry", None)
            soon = expiry is not None and expiry - dt.timedelta(minutes=5) <= _utcnow_naive()
            if not self.credentials.token or soon:
                refresh(self.credentials)
            return {"Authorization": f"Bearer {self.credentials.token}"}

    def force_refresh(self) -> None:
        if self.credentials is not None:
            with self._lock:
                refresh(self.credentials)


def _utcnow_naive() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)  # google-auth keeps naive UTC


def is_google(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host.endswith(".googleapis.com") or host == "googleapis.com"


def resolve_project(configured: str | None, url: str, credentials=None) -> str:
    project = configured or next((os.environ[v] for v in PROJECT_VARIABLES if os.environ.get(v)), None)
    project = project or getattr(credentials, "quota_project_id", None)
    if project:
        return project
    if is_google(url):
        raise UserInputError(
            "no Earth Engine project given; set ee.project=YOUR_PROJECT (or export EE_PROJECT) to a "
            "Cloud project registered for Earth Engine"
        )
    return "geetiles-local"


def load_credentials(mode: str, url: str):
    """Credentials for ``mode``: auto | persistent | appdefault | none | a JSON key file path."""
    if mode == "none":
        if is_google(url):
            raise UserInputError(
                f"ee.credentials=none works only with a local endpoint, not {url}; {HOW_TO_AUTHENTICATE}"
            )
        return None
    if mode in ("auto", "persistent"):
        persistent = _persistent_credentials()
        if persistent is not None or mode == "persistent":
            if persistent is None:
                raise UserInputError(f"no persistent Earth Engine credentials found; {HOW_TO_AUTHENTICATE}")
            return persistent
    if mode == "auto" and not _local_application_default_exists():
        raise UserInputError(
            f"no Earth Engine credentials found; {HOW_TO_AUTHENTICATE} "
            "(or try the pipeline offline: python -m geetiles experiment=demo)"
        )
    if mode in ("auto", "appdefault"):
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError

        try:
            credentials, _ = google.auth.default(scopes=SCOPES)
        except DefaultCredentialsError:
            raise UserInputError(
                f"no Earth Engine credentials found; {HOW_TO_AUTHENTICATE} "
                "(or try the pipeline offline: python -m geetiles experiment=demo)"
            ) from None
        return credentials
    return _credentials_from_file(Path(mode).expanduser())


def _local_application_default_exists() -> bool:
    """Application-default credentials on this machine (a key file or gcloud's), found without
    asking anyone: ``auto`` never probes the GCE metadata server (``appdefault`` does, for VMs)."""
    from google.auth import _cloud_sdk

    if os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        return True
    return Path(_cloud_sdk.get_application_default_credentials_path()).is_file()


def _persistent_credentials():
    """The file ``earthengine authenticate`` writes, read without contacting anyone."""
    import google.oauth2.credentials
    from ee import oauth

    if not Path(oauth.get_credentials_path()).is_file():
        return None
    try:
        args = oauth.get_credentials_arguments()
    except (OSError, ValueError) as error:
        raise UserInputError(
            f"the Earth Engine credentials file is unreadable ({error}); {HOW_TO_AUTHENTICATE}"
        ) from None
    if not args.get("refresh_token"):
        return None
    return google.oauth2.credentials.Credentials(None, **args)


def _credentials_from_file(path: Path):
    if not path.is_file():
        raise UserInputError(
            f"ee.credentials={str(path)!r} is neither auto, persistent, appdefault, none nor an existing file; "
            f"give the path of a service-account key JSON or {HOW_TO_AUTHENTICATE}"
        )
    try:
        info = json.loads(path.read_text())
        kind = info.get("type")
        if kind == "service_account":
            from google.oauth2 import service_account

            return service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
        if kind == "authorized_user":
            import google.oauth2.credentials

            return google.oauth2.credentials.Credentials.from_authorized_user_info(info, scopes=SCOPES)
    except (ValueError, KeyError, AttributeError) as error:
        raise UserInputError(
            f"ee.credentials file {path} is not a valid key ({error}); {HOW_TO_AUTHENTICATE}"
        ) from None
    raise UserInputError(
        f"ee.credentials file {path} has type {info.get('type')!r}; expected a service_account or authorized_user JSON"
    )


def refresh(credentials, timeout_s: float = 30.0) -> None:
    """Get an access token now, so bad credentials fail in seconds with a clear message."""
    import google.auth.transport.requests
    from google.auth.exceptions import GoogleAuthError

    request = google.auth.transport.requests.Request()
    try:
        _call_with_timeout(lambda: credentials.refresh(request), timeout_s, "refreshing Earth Engine credentials")
    except GoogleAuthError as error:
        detail = " ".join(str(error).split())[:200]
        raise UserInputError(f"Earth Engine credentials were rejected ({detail}); {HOW_TO_AUTHENTICATE}") from None


def initialize(url: str, project: str | None, credentials_mode: str, timeout_s: float) -> EeSession:
    """Initialise earthengine-api against ``url`` and return the session the engine uses."""
    import ee

    credentials = load_credentials(credentials_mode, url)
    project = resolve_project(project, url, credentials)
    if credentials is not None:
        refresh(credentials, timeout_s)
    _disable_catalog_fetch(ee)

    def connect() -> None:
        ee.Reset()
        ee.Initialize(credentials=credentials, url=url.rstrip("/"), project=project)

    try:
        _call_with_timeout(connect, timeout_s, f"connecting to Earth Engine at {url}")
    except ee.EEException as error:
        message = " ".join(str(error).split())[:300]
        if "UNAUTHENTICATED" in message or "401" in message or "invalid authentication" in message.lower():
            raise UserInputError(
                f"Earth Engine rejected the credentials at {url} ({message}); {HOW_TO_AUTHENTICATE}"
            ) from None
        raise UserInputError(f"cannot initialise Earth Engine at {url}: {message}") from None
    return EeSession(url=url.rstrip("/"), project=project, credentials=credentials)


def _disable_catalog_fetch(ee) -> None:
    """earthengine-api downloads a deprecated-assets catalog from storage.googleapis.com at
    initialisation (with no timeout); geetiles contacts only the configured endpoint."""
    from ee import deprecation

    deprecation._FetchDataCatalogStac = lambda: {}


def _call_with_timeout(function, timeout_s: float, what: str):
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="ee-init")
    future = executor.submit(function)
    try:
        return future.result(timeout=timeout_s)
    except concurrent.futures.TimeoutError:
        raise UserInputError(
            f"{what} took more than {timeout_s:g} s; check the network and ee.url (or raise ee.init_timeout_s)"
        ) from None
    finally:
        executor.shutdown(wait=False)
