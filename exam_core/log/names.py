"""A log's origin and the key names under it: what ``init`` and ``keys new`` accept.

The origin names the log in every checkpoint, entry and key (DESIGN §3.2), and auditors and
witnesses compare it byte for byte, so it has one spelling.  The rules, from C2SP
(research/tlog.md §2.1–2.4) with the choices this project makes where they leave room:

- a signed-note key name: non-empty, no Unicode space, no ``+`` (signed-note);
- a schema-less URL (tlog-checkpoint), i.e. a tlog-tiles prefix without its scheme and
  without a trailing slash: ``host[:port]/path``, no ``scheme://``, no query or fragment;
- the host a lowercase DNS name (labels of ``a-z``, ``0-9`` and inner ``-``), the port
  1–65535; the path one or more segments, each non-empty, not ``.`` or ``..``, of URL path
  characters (RFC 3986 ``pchar`` without ``+`` and ``%``); ASCII, at most 255 characters.

A key name is the origin, a ``/`` and one or more segments by the same rules (DESIGN §3.2:
``exam.example/c/370100-01/tablet/T017``), so no key name escapes the origin or collides
with another spelling of the same path.
"""

from __future__ import annotations

import re

from exam_core.errors import KeyFormatError
from exam_core.log.note import check_key_name

MAX_NAME_LENGTH = 255
"""The event schemas' bound on ``log`` and ``actor``."""

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?::([1-9][0-9]{{0,4}}))?")
_SEGMENT = re.compile(r"[A-Za-z0-9._~!$&'()*,;=:@-]+")


def _check_segments(segments: list[str], what: str) -> None:
    for segment in segments:
        if not segment:
            raise KeyFormatError(f"{what} has an empty path segment (a '//' or a trailing '/')")
        if segment in (".", ".."):
            raise KeyFormatError(f"{what} has a {segment!r} path segment")
        if not _SEGMENT.fullmatch(segment):
            raise KeyFormatError(
                f"{what} has path segment {segment!r} with a character outside "
                "A-Z a-z 0-9 . _ ~ ! $ & ' ( ) * , ; = : @ -"
            )


def check_origin(origin: str) -> None:
    """Refuse an origin that is not a schema-less URL by the rules above.

    Raises:
        KeyFormatError: the origin breaks one of the rules; the message says which.
    """
    check_key_name(origin)
    if len(origin) > MAX_NAME_LENGTH or not origin.isascii():
        raise KeyFormatError(f"origin is not ASCII of at most {MAX_NAME_LENGTH} characters")
    if "://" in origin or "?" in origin or "#" in origin:
        raise KeyFormatError("origin must be a schema-less URL: no scheme, query or fragment")
    host, slash, path = origin.partition("/")
    if not slash:
        raise KeyFormatError(
            f"origin {origin!r} should be a schema-less URL with a path, e.g. host/path"
        )
    match = _HOST.fullmatch(host)
    if match is None or (match.group(1) is not None and int(match.group(1)) > 65535):
        raise KeyFormatError(f"origin host {host!r} is not a lowercase DNS name [with :port]")
    _check_segments(path.split("/"), "origin")


def check_key_under_origin(name: str, origin: str) -> None:
    """Refuse a key name that is not the origin, ``/`` and path segments by the rules above.

    Raises:
        KeyFormatError: the name is empty, not under ``origin``, too long, or has an empty,
            ``.``, ``..`` or ill-formed segment.
    """
    check_key_name(name)
    if len(name) > MAX_NAME_LENGTH or not name.isascii():
        raise KeyFormatError(f"key name is not ASCII of at most {MAX_NAME_LENGTH} characters")
    if not name.startswith(origin + "/"):
        raise KeyFormatError(f"key name {name!r} is outside the origin {origin!r}")
    _check_segments(name[len(origin) + 1 :].split("/"), "key name")
