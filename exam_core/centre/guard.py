"""A rule of admission that lives above the log: a guard checks each entry before it is
sequenced and records it after, in sequence order.

Why it exists: the exam day's state machine (``exam_core.exam_day``) must refuse a step out of
order before it reaches the log, but the log service sits below the exam day and may not import
it.  The centre takes any object of this shape instead: its writer calls ``check`` for each
entry the registry admitted (a refusal leaves the entry out of the batch and changes nothing),
then ``apply`` — so that the next entry of the same batch is checked against it — and hands it
every entry already in the log that it has not seen (``replay``, as bytes: the guard may skip
entries of types it does not care for without parsing them).  After a batch that could not be
written the writer calls ``reset`` and replays the log into it again: the log is the truth.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from exam_core.log.entry import Entry

if TYPE_CHECKING:
    from exam_core.centre.blobs import BlobStore
    from exam_core.centre.store import LogStore


class EntryGuard(Protocol):
    """Checks and records entries of the log in order; ``size`` entries seen so far."""

    @property
    def size(self) -> int:
        """How many entries of the log (from index 0) it has seen."""
        ...

    def check(self, index: int, entry: Entry) -> None:
        """Whether ``entry`` may be sequenced at ``index`` (which is ``size``).

        Raises:
            EntryError: or ``ExamDayError`` (its subclasses included): the entry is refused.
        """
        ...

    def apply(self, index: int, entry: Entry) -> None:
        """Record ``entry`` at ``index`` (admitted in this batch, or read from the log)."""
        ...

    def replay(self, index: int, data: bytes) -> None:
        """Record the logged entry bytes ``data`` at ``index``."""
        ...

    def reset(self) -> None:
        """Forget everything (``size`` becomes 0): the writer replays the log into it again."""
        ...


GuardFactory = Callable[[str, "LogStore", "BlobStore"], EntryGuard]
"""``make(origin, store, blobs)``: the guard of the centre whose origin, log and blobs these
are."""

__all__ = ["EntryGuard", "GuardFactory"]
