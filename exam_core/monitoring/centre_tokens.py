"""The bearer tokens the monitoring centre reads centres' blobs with, one per watched log.

A centre serves its blobs (``GET /blobs/<sha256>``) only to a caller with a token of a role
holding ``blob.read`` (role ``monitor``); the mirror needs it for each session's manifest,
which the statistics read.  ``examctl monitor add-centre --token`` keeps it here:

    DIR/centre-tokens.json   {"<origin>": "<token>", …}, mode 0600, replaced whole

A token is a secret, so the file is created with mode 0600 and replaced by rename (no moment
at which it is readable by others or half written).  A log without a token has its entries and
findings fed to the warnings all the same, but no manifest and so no statistics.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from exam_core.errors import StoreError

__all__ = ["TOKENS_FILE", "check_token", "read_tokens", "store_token"]

TOKENS_FILE = "centre-tokens.json"
MAX_TOKEN_CHARS = 4096


def read_tokens(root: Path) -> dict[str, str]:
    """Every stored token by origin (none if the file does not exist).

    Raises:
        StoreError: the file is unreadable, not JSON, or readable by others.
    """
    path = root / TOKENS_FILE
    try:
        if path.stat().st_mode & 0o077:
            raise StoreError(f"{path} is readable by others; chmod 600 it")
        body = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise StoreError(f"{path} is unreadable: {e}") from e
    if not isinstance(body, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in body.items()
    ):
        raise StoreError(f"{path} is not an object of origin → token")
    return dict(body)


def check_token(token: str) -> None:
    """Refuse a token that could not be sent as a bearer token.

    Raises:
        StoreError: it is empty, longer than 4,096 characters, or has spaces or controls.
    """
    if not token or len(token) > MAX_TOKEN_CHARS or not token.isprintable() or " " in token:
        raise StoreError("a centre token is 1–4096 printable characters without spaces")


def store_token(root: Path, origin: str, token: str) -> None:
    """Keep ``token`` for ``origin``, replacing any earlier one.

    Raises:
        StoreError: the token is empty, too long or has spaces or controls; the file is unusable.
        OSError: the file cannot be written.
    """
    check_token(token)
    tokens = read_tokens(root)
    tokens[origin] = token
    data = json.dumps(tokens, indent=2, sort_keys=True).encode() + b"\n"
    tmp = root / f".{TOKENS_FILE}.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, root / TOKENS_FILE)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
