"""Ray's authentication token, kept private: whoever reads it may run code on the local Ray as its user.

Ray's own ``ray get-auth-token --generate`` writes ``~/.ray/auth_token`` with the process umask
(0644 in a 0755 folder on most systems). geetiles makes the token itself, readable by its owner only
(0600, in a folder it creates 0700), and never changes a token or folder the user already has: when
an existing token can be read by others, it says so once, with the command that fixes it.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import tempfile
from pathlib import Path

log = logging.getLogger("geetiles.download")

_warned: set[str] = set()  # tokens already warned about, in this process


def default_token_path() -> Path:
    """Where Ray looks for its token unless told otherwise (``~/.ray/auth_token``)."""
    return Path.home() / ".ray" / "auth_token"


def token_in_use() -> Path | None:
    """The token file Ray's token authentication reads, or None when the token comes from the
    environment (``RAY_AUTH_TOKEN``) or authentication is off."""
    if os.environ.get("RAY_AUTH_MODE") != "token" or os.environ.get("RAY_AUTH_TOKEN"):
        return None
    configured = os.environ.get("RAY_AUTH_TOKEN_PATH")
    return Path(configured).expanduser() if configured else default_token_path()


def create_token(path: Path) -> bool:
    """Write a new random token (256 bits, as Ray's generator) to ``path``, mode 0600, unless a file
    is already there; return whether this call made it. The token is written whole to a private
    temporary file and linked into place, so a concurrent run never reads half a token and never has
    its own replaced."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.exists():
        return False
    descriptor, temporary = tempfile.mkstemp(prefix=".auth_token.", dir=path.parent)  # 0600
    try:
        with os.fdopen(descriptor, "w") as stream:
            stream.write(secrets.token_hex(32))
            stream.flush()
            os.fsync(stream.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:  # another run made one meanwhile: theirs is as good
            return False
        return True
    finally:
        os.unlink(temporary)


def ensure_token() -> None:
    """With token authentication on and no token given in the environment, make the default token
    on first use, privately. Ray reads it from there (the local head, its daemons and the driver)."""
    if (
        os.environ.get("RAY_AUTH_MODE") != "token"
        or os.environ.get("RAY_AUTH_TOKEN")
        or os.environ.get("RAY_AUTH_TOKEN_PATH")
    ):
        return
    path = default_token_path()
    if create_token(path):
        log.info("made Ray's authentication token %s (readable by you only)", path)


def warn_if_exposed() -> None:
    """Once per token and process: a warning when the token in use can be read or changed by other
    users, with the fix. The file is the user's: it is left as it is."""
    path = token_in_use()
    if path is None or str(path) in _warned:
        return
    try:
        mode = path.stat().st_mode
    except OSError:  # none yet (the local head makes it privately) or unreadable: nothing to say
        return
    if stat.S_IMODE(mode) & 0o077:
        _warned.add(str(path))
        log.warning(
            "Ray's authentication token %s can be read by other users of this machine (mode %04o), who "
            "could then run code as you on the local Ray; make it private: chmod 600 %s",
            path,
            stat.S_IMODE(mode),
            path,
        )
