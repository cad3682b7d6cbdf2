"""Ray's token is made private (0600 in a 0700 folder); an existing token others can read is left as
it is, with one warning saying how to fix it."""

from __future__ import annotations

import logging
import os
import stat
import threading

import pytest

from geetiles.download import ray_token


@pytest.fixture
def home(tmp_path, monkeypatch):
    """HOME in a tmp dir (Ray's default token path follows it), token authentication on, no token given."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    monkeypatch.setattr(ray_token, "_warned", set())
    return home


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_token_is_private_whatever_the_umask(home):
    previous = os.umask(0o000)  # the most permissive umask: the modes must not come from it
    try:
        ray_token.ensure_token()
    finally:
        os.umask(previous)
    token = home / ".ray" / "auth_token"
    assert mode(token) == 0o600 and mode(token.parent) == 0o700
    text = token.read_text()
    assert len(text) == 64 and int(text, 16) >= 0  # 256 bits, hex, as Ray's own generator
    assert os.listdir(token.parent) == ["auth_token"]  # no temporary file left beside it


def test_an_existing_token_and_folder_are_never_changed(home, caplog):
    folder = home / ".ray"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    token = folder / "auth_token"
    token.write_text("theirs")
    os.chmod(token, 0o644)
    with caplog.at_level(logging.WARNING, logger="geetiles.download"):
        ray_token.ensure_token()
        ray_token.warn_if_exposed()
        ray_token.warn_if_exposed()  # once per process
    assert token.read_text() == "theirs" and mode(token) == 0o644 and mode(folder) == 0o755
    [warning] = [r.getMessage() for r in caplog.records]
    assert f"chmod 600 {token}" in warning and "0644" in warning


@pytest.mark.parametrize("exposed", [0o640, 0o604, 0o620])
def test_a_token_readable_or_writable_by_others_is_warned_about(home, caplog, monkeypatch, exposed):
    token = home / "elsewhere" / "token"
    token.parent.mkdir()
    token.write_text("x")
    os.chmod(token, exposed)
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(token))  # the user's own path is the one checked
    with caplog.at_level(logging.WARNING, logger="geetiles.download"):
        ray_token.warn_if_exposed()
    assert [f"chmod 600 {token}" in r.getMessage() for r in caplog.records] == [True]


def test_a_private_token_or_none_says_nothing(home, caplog, monkeypatch):
    with caplog.at_level(logging.WARNING, logger="geetiles.download"):
        ray_token.warn_if_exposed()  # no token yet
        ray_token.ensure_token()
        ray_token.warn_if_exposed()  # ours, private
        monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
        os.chmod(home / ".ray" / "auth_token", 0o644)
        ray_token.warn_if_exposed()  # authentication off: the token is not used
    assert not caplog.records


def test_nothing_is_made_without_token_authentication_or_with_a_token_given(home, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    ray_token.ensure_token()
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN", "from-the-environment")
    ray_token.ensure_token()
    assert not (home / ".ray").exists()


def test_concurrent_runs_share_one_whole_token(home):
    made = []
    threads = [
        threading.Thread(target=lambda: made.append(ray_token.create_token(ray_token.default_token_path())))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert made.count(True) == 1 and len(made) == 8
    assert len((home / ".ray" / "auth_token").read_text()) == 64
    assert os.listdir(home / ".ray") == ["auth_token"]
