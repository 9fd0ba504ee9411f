"""Blobs named by entries are checked off the event loop, and a bundle waits once for its
entries: a blob stored behind the service's back is found on disk, a short or absent one is
missing, the memory of stored blobs is bounded; a bundle answers each entry, an entry whose
blob is missing with its problem and the others with their indices."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest

from api.http.all_done import all_done
from api.http.blob_presence import BlobPresence
from exam_core.centre.blobs import BlobStore
from exam_core.centre.tokens import TokenStore
from exam_core.errors import EntryError
from exam_core.exam_day.plan import exam_id
from exam_core.log.tiles import encode_entry_bundle
from tests.api.http.conftest import AppClient, bearer
from tests.api.http.day_fixture import ServedDay
from tests.exam_core.exam_day import day_script as ds

PROBLEM = "urn:exam-integrity:problem:"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_blobs_are_found_on_disk_short_or_absent_ones_are_missing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    presence = BlobPresence(store, remembered=2)
    stored, absent = b"chunk one" * 10, b"never stored"
    store.put(stored)
    refs = [(_sha(absent), len(absent)), (_sha(stored), len(stored) + 1), (_sha(stored), 90)]
    assert asyncio.run(presence.missing(refs)) == [_sha(absent), _sha(stored)]
    assert asyncio.run(presence.missing([])) == []


def test_the_memory_of_stored_blobs_is_bounded(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    presence = BlobPresence(store, remembered=2)
    blobs = [bytes([n]) * 40 for n in range(3)]
    for blob in blobs:  # told, not written: only the memory answers for them
        presence.stored(_sha(blob), len(blob))
    refs = [(_sha(b), len(b)) for b in blobs]
    # The oldest was forgotten, so it is looked up on disk, where it is not.
    assert asyncio.run(presence.missing(refs)) == [_sha(blobs[0])]


def test_all_done_wakes_once_every_future_is_done() -> None:
    async def wait() -> list[object]:
        futures: list[Future[int]] = [Future() for _ in range(50)]

        def finish() -> None:
            for n, f in enumerate(futures):
                if n == 7:
                    f.set_exception(EntryError("seq", "refused"))
                else:
                    f.set_result(n)

        waiting = all_done(futures)
        assert not waiting.done()
        thread = threading.Thread(target=finish)
        thread.start()
        await asyncio.wait_for(waiting, 10)
        thread.join()
        empty = all_done([])
        assert empty.done()  # nothing to wait for: resolved before the loop turns
        await empty
        return [f.exception() or f.result() for f in futures]

    outcomes = asyncio.run(wait())
    assert isinstance(outcomes[7], EntryError)
    assert outcomes[:7] + outcomes[8:] == [n for n in range(50) if n != 7]


def test_all_done_times_out_without_cancelling_the_futures() -> None:
    async def wait() -> Future[int]:
        future: Future[int] = Future()
        with pytest.raises(TimeoutError):
            await all_done([future], timeout=0.01)
        # In time, the timer is cancelled with the wait: nothing fails it later.
        late: Future[int] = Future()
        waiting = all_done([late], timeout=0.05)
        late.set_result(1)
        await waiting
        await asyncio.sleep(0.1)
        assert waiting.exception() is None
        return future

    future = asyncio.run(wait())
    assert not future.done()
    assert not future.cancelled()


@pytest.mark.parametrize("served_centre", [0, 1], ids=["parsed-here", "workers"], indirect=True)
def test_a_bundle_answers_an_entry_whose_blob_is_missing_and_sequences_the_rest(
    client: AppClient, day: ServedDay, tokens: TokenStore
) -> None:
    candidate = day.first()
    exam = exam_id(ds.SESSION, candidate)
    day.start(candidate, exam)
    unit = ds.unit(day.assignment[candidate])
    token, _ = tokens.issue("vehicle", unit)
    chunks = [b"frames %d " % n * 60 for n in range(2)]
    stored = chunks[0]
    assert client.put(f"/blobs/{_sha(stored)}", content=stored, headers=bearer(token)).is_success
    entries = [
        day.signed(
            "telemetry.chunk",
            unit,
            ds.START + 3_000 + n,
            exam=exam,
            chunk=n,
            first_frame=n * 10,
            frames=10,
            sha256=_sha(chunk),
            length=len(chunk),
        )
        for n, chunk in enumerate(chunks)
    ]
    answer = client.post("/entries/bundle", content=encode_entry_bundle(entries))
    assert answer.status_code == 200
    first, second = answer.json()["results"]
    assert first["problem"] is None
    assert day.centre is not None
    assert first["index"] == day.centre.store.size() - 1
    assert second["problem"]["type"] == PROBLEM + "entry-blob-missing"
    assert second["problem"]["blobs"] == [_sha(chunks[1])]
