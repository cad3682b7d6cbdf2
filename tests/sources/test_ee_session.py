import pytest

from geetiles.errors import UserInputError
from geetiles.sources.ee_session import load_credentials, resolve_project


def test_credentials_none_is_only_for_local_endpoints():
    assert load_credentials("none", "http://127.0.0.1:8080") is None
    with pytest.raises(UserInputError, match="only with a local endpoint"):
        load_credentials("none", "https://earthengine-highvolume.googleapis.com")


def test_missing_key_file_names_the_fix(tmp_path):
    with pytest.raises(UserInputError, match="earthengine authenticate"):
        load_credentials(str(tmp_path / "nope.json"), "https://earthengine-highvolume.googleapis.com")


def test_unknown_key_type_is_refused(tmp_path):
    key = tmp_path / "key.json"
    key.write_text('{"type": "external_account"}')
    with pytest.raises(UserInputError, match="service_account or authorized_user"):
        load_credentials(str(key), "https://earthengine-highvolume.googleapis.com")


def test_project_from_config_then_environment(monkeypatch):
    for variable in ("EE_PROJECT", "GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"):
        monkeypatch.delenv(variable, raising=False)
    assert resolve_project("mine", "https://earthengine-highvolume.googleapis.com") == "mine"
    with pytest.raises(UserInputError, match="ee.project"):
        resolve_project(None, "https://earthengine-highvolume.googleapis.com")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "from-env")
    assert resolve_project(None, "https://earthengine-highvolume.googleapis.com") == "from-env"
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT")
    assert resolve_project(None, "http://127.0.0.1:1") == "geetiles-local"
