"""The course maps and rule tables shipped inside the package, found by file name or version.

Why it exists: ``exam.scored`` names the course map and the rule table by version, and the
scorer and the auditor must resolve a version to the same shipped file; the lookup is one piece
of code for both kinds of document, each kind in its own folder under ``data/``.  The shipped
files never change while the package runs, so the loaders above it keep what they parsed
(``functools.lru_cache``): an audit resolves the same map for each of its exams, and parsing
every map of the folder to find one by version cost a demo day's audit about 13 s.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Protocol, TypeVar

from exam_core.errors import ScoringError


class Versioned(Protocol):
    """A parsed shipped document; its version is what signed events name."""

    @property
    def version(self) -> str: ...


DocT = TypeVar("DocT", bound=Versioned)


def _folder(kind: str) -> Traversable:
    return resources.files("exam_core.scoring") / "data" / kind


def load_shipped(kind: str, name: str, parse: Callable[[bytes], DocT], what: str) -> DocT:
    """The document ``data/<kind>/<name>``; a missing file is a ``ScoringError`` naming it.

    Raises:
        ScoringError: the file is missing or unreadable, or (from ``parse``) it does not parse.
    """
    try:
        data = (_folder(kind) / name).read_bytes()
    except OSError as e:
        raise ScoringError(f"no {what} {name}: {e}") from e
    return parse(data)


def shipped_by_version(kind: str, version: str, parse: Callable[[bytes], DocT], what: str) -> DocT:
    """The first document in ``data/<kind>/`` (by file name) whose version is ``version``.

    Raises:
        ScoringError: no shipped document has ``version``, or (from ``parse``) one does not parse.
    """
    for path in sorted(_folder(kind).iterdir(), key=lambda p: p.name):
        if path.name.endswith(".json"):
            doc = parse(path.read_bytes())
            if doc.version == version:
                return doc
    raise ScoringError(f"no {what} with version {version!r}")
