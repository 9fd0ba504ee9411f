"""How a replayer's own memory survives between audits: two methods, for ``--since``.

An incremental audit (``exam_core.audit.incremental``) resumes where an earlier audit stopped.
The audit itself saves what it kept for every replayer — the admitted entries of the types the
replayers ``reads``, and every entry's signer and ``ts`` — so a replayer that learns everything
from ``AuditHistory`` rebuilds its index from those on its first call.  What a replayer keeps
beyond that, or an option that changes its findings, it saves itself by implementing
``ResumableReplayer``:

- ``save_state()`` returns a JSON value (objects, arrays, strings, integers, booleans, null;
  no floats) of what it remembers after the last entry it replayed;
- ``restore_state(value)`` takes that value back before the first new entry, checking it as
  hostile input, and raises ``AuditStateError`` for anything it did not write.

A replayer without these two methods cannot be resumed: ``--save-state`` and ``--since``
refuse to run with it (``not_resumable``) rather than give another answer than a full audit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeAlias, runtime_checkable

from exam_core.audit.history import Replayer
from exam_core.errors import AuditStateError

__all__ = [
    "JsonValue",
    "RebuiltFromHistory",
    "ResumableReplayer",
    "not_resumable",
    "replayer_name",
]

JsonValue: TypeAlias = "dict[str, JsonValue] | list[JsonValue] | str | int | bool | None"
"""What a replayer's saved state may be made of: JSON without floats."""


@runtime_checkable
class ResumableReplayer(Protocol):
    """A ``Replayer`` whose own state can be saved after an audit and restored before the next."""

    def save_state(self) -> JsonValue:
        """What this replayer remembers beyond the audit's history, as a JSON value."""
        ...

    def restore_state(self, state: JsonValue) -> None:
        """Take back what ``save_state`` returned, before replaying any entry.

        Raises:
            AuditStateError: ``state`` is not one this replayer saves (or was saved with
                other options).
        """
        ...


def replayer_name(replayer: Replayer) -> str:
    """The name a replayer's state is saved under: its class's."""
    return type(replayer).__name__


def not_resumable(replayers: Sequence[Replayer]) -> list[str]:
    """The names of the replayers that cannot save and restore their state."""
    return [replayer_name(r) for r in replayers if not isinstance(r, ResumableReplayer)]


class RebuiltFromHistory:
    """For a replayer that keeps nothing beyond the audit's history: its index of earlier
    entries (``IncrementalIndex``) starts again on the first new entry of another audit and
    rebuilds itself from the kept entries, so the only state it saves, ``{}``, is the only one
    it restores.  A replayer inherits the two methods instead of writing them again."""

    def save_state(self) -> JsonValue:
        """Nothing of its own: its index is rebuilt from the entries the audit keeps."""
        return {}

    def restore_state(self, state: JsonValue) -> None:
        """Take back ``{}``.

        Raises:
            AuditStateError: ``state`` is anything else.
        """
        if state != {}:
            raise AuditStateError(
                f"{type(self).__name__} saves no state of its own; the audit state holds one"
            )
