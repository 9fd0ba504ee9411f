"""``IncrementalIndex``: each replayed entry sees exactly the admitted entries before it."""

from __future__ import annotations

import pytest

from exam_core.audit.history import IncrementalIndex, MemoryHistory
from exam_core.log.entry import Entry, parse_entry
from tests.exam_core.audit.bundle_factory import demo_log

READS = frozenset({"demo.event"})


class Seen:
    """Records the indices it learns; fails on request, to test a half-read index."""

    fail_at: int | None = None

    def __init__(self) -> None:
        self.indices: list[int] = []

    def learn(self, index: int, entry: Entry) -> None:
        if index == Seen.fail_at:
            raise RuntimeError("replayer bug")
        self.indices.append(index)


@pytest.fixture
def history() -> MemoryHistory:
    return MemoryHistory([parse_entry(e) for e in demo_log(12).entries], refused={6})


def test_reads_each_entry_once_in_order(history: MemoryHistory) -> None:
    index = IncrementalIndex(READS, Seen)
    first = index.before(5, history)
    assert first.indices == [3, 4]
    later = index.before(9, history)
    assert later is first  # read on from where it stopped
    assert later.indices == [3, 4, 5, 7, 8]  # 6 was refused


def test_starts_again_for_another_history_or_an_earlier_index(history: MemoryHistory) -> None:
    index = IncrementalIndex(READS, Seen)
    index.before(9, history)
    assert index.before(5, history).indices == [3, 4]
    other = MemoryHistory(history.entries)
    assert index.before(8, other).indices == [3, 4, 5, 6, 7]


def test_a_half_read_index_is_read_again(
    history: MemoryHistory, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = IncrementalIndex(READS, Seen)
    monkeypatch.setattr(Seen, "fail_at", 7)
    with pytest.raises(RuntimeError):
        index.before(10, history)
    monkeypatch.setattr(Seen, "fail_at", None)
    assert index.before(10, history).indices == [3, 4, 5, 7, 8, 9]
