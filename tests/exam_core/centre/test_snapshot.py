"""Opening a centre from its snapshot: as good as a replay, and never trusted unchecked."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

import pytest

from exam_core.centre.centre import KEYS_DIR, SNAPSHOT_FILE, Centre, key_file_name
from exam_core.centre.ingest import AdmissionState
from exam_core.centre.keys import read_key_file
from exam_core.centre.sequencer import DEFAULT_SAVE_EVERY
from exam_core.centre.snapshot import (
    FORMAT,
    CentreSnapshot,
    decode_snapshot,
    encode_snapshot,
    verify_snapshot,
)
from exam_core.errors import StoreError
from exam_core.log.checkpoint import Checkpoint, sign_checkpoint
from exam_core.log.merkle import MerkleFrontier
from exam_core.log.note import ed25519_verifier_from_vkey
from exam_core.log.registry import KeyRegistry, RegistryState
from exam_core.log.schemas.types import DEMO
from tests.conftest import ORIGIN

View = tuple[RegistryState, tuple[bytes, ...], bytes, int, dict[str, int]]


def view(centre: Centre) -> View:
    """All a writer resumes with: registry, tree frontier and root, next index, next seqs."""
    ingest = centre.sequencer.registry_view
    registry = ingest.registry
    actors = {name for name, _ in registry.state().last_seq} | set(registry.keys)
    return (
        registry.state(),
        ingest.frontier.subtree_hashes,
        ingest.frontier.root(),
        centre.sequencer.published_size(),
        {actor: centre.next_seq(actor) for actor in sorted(actors)},
    )


def grow(centre: Centre, entries: int) -> None:
    """Keys registered, one revoked, entries from several actors."""
    actors = [centre.register_key(f"demo/a{i}", DEMO) for i in range(3)]
    centre.register_key("demo/lost", DEMO)
    centre.revoke_key("demo/lost", "tablet stolen")
    futures = [centre.submit(actors[n % 3], "demo.event", {"n": n}) for n in range(entries)]
    for future in futures:
        future.result(30)


def grown_and_closed(centre: Centre, entries: int) -> Path:
    """``grow`` the centre's log, close it (which saves its snapshot), return its folder."""
    grow(centre, entries)
    centre.close()
    return centre.root


def reopen(centre: Centre, snapshot_every: int = DEFAULT_SAVE_EVERY) -> Centre:
    return Centre.open(centre.root, max_age_ms=5, snapshot_every=snapshot_every)


def replayed_view(root: Path) -> View:
    """The view of a centre that replays its whole log (its snapshot moved aside)."""
    path = root / SNAPSHOT_FILE
    kept = path.read_bytes() if path.exists() else None
    path.unlink(missing_ok=True)
    with Centre.open(root, max_age_ms=5) as replaying:
        assert replaying.opening.snapshot_size is None
        assert replaying.opening.replayed == replaying.sequencer.published_size()
        seen = view(replaying)
    if kept is not None:
        path.write_bytes(kept)
    return seen


class SnapshotChange(TypedDict, total=False):
    """Fields of ``CentreSnapshot`` that ``forge`` replaces."""

    origin: str
    checkpoint: bytes
    state: AdmissionState


def forge(root: Path, change: SnapshotChange) -> None:
    """Rewrite the snapshot with some fields changed, and a digest that matches again."""
    path = root / SNAPSHOT_FILE
    snapshot = decode_snapshot(path.read_bytes())
    path.write_bytes(encode_snapshot(dataclasses.replace(snapshot, **change)))


def test_reopened_from_snapshot_is_indistinguishable_from_replay(centre: Centre) -> None:
    root = grown_and_closed(centre, 40)
    saved = (root / SNAPSHOT_FILE).read_bytes()
    assert decode_snapshot(saved).size == 46
    with reopen(centre) as resumed:
        assert resumed.opening.snapshot_size == 46
        assert resumed.opening.replayed == 0
        assert resumed.opening.refused is None
        from_snapshot = view(resumed)
    assert replayed_view(root) == from_snapshot
    # Both carry on alike: the next entry gets the next index and the actor's next seq.
    with reopen(centre) as resumed:
        signer = resumed.signer("demo/a1")
        assert resumed.next_seq(signer.name) == 14
        assert resumed.append(signer, "demo.event", {"n": 99}) == 46
    # A replaying writer saves the very snapshot the writer saved: same state, same bytes.
    (root / SNAPSHOT_FILE).unlink()
    with reopen(centre):
        pass
    resaved = decode_snapshot((root / SNAPSHOT_FILE).read_bytes())
    assert resaved.size == 47


def test_replayed_snapshot_is_byte_identical(centre: Centre) -> None:
    root = grown_and_closed(centre, 10)
    saved = (root / SNAPSHOT_FILE).read_bytes()
    (root / SNAPSHOT_FILE).unlink()
    with reopen(centre, snapshot_every=1):  # a replay saves at once: it read ≥ 1 entry
        assert (root / SNAPSHOT_FILE).read_bytes() == saved


def test_snapshots_are_saved_while_publishing(centre: Centre) -> None:
    root = centre.root
    centre.close()
    with reopen(centre, snapshot_every=4) as writing:
        demo = writing.register_key("demo/d", DEMO)
        sizes = []
        for n in range(10):
            writing.append(demo, "demo.event", {"n": n})
            sizes.append(decode_snapshot((root / SNAPSHOT_FILE).read_bytes()).size)
        # Saved at publication once 4 entries had been published since the last save.
        assert sizes == [1, 1, 5, 5, 5, 5, 9, 9, 9, 9]
        kept = view(writing)
    # (A crash here would leave the snapshot of size 9 and 3 entries after it.)
    with reopen(centre) as resumed:
        assert resumed.opening.snapshot_size == 12
        assert view(resumed) == kept


def test_snapshot_older_than_the_log_is_caught_up(centre: Centre) -> None:
    root = grown_and_closed(centre, 9)
    old = (root / SNAPSHOT_FILE).read_bytes()
    with reopen(centre) as writing:
        grow_more = writing.register_key("demo/late", DEMO)
        for n in range(7):
            writing.append(grow_more, "demo.event", {"n": n})
        writing.revoke_key("demo/a0", "retired")
    (root / SNAPSHOT_FILE).write_bytes(old)
    with reopen(centre) as resumed:
        assert resumed.opening.snapshot_size == 15
        assert resumed.opening.replayed == 9
        caught_up = view(resumed)
    assert replayed_view(root) == caught_up


def test_snapshot_with_one_changed_byte_is_refused_and_replayed(
    centre: Centre, caplog: pytest.LogCaptureFixture
) -> None:
    root = grown_and_closed(centre, 12)
    path = root / SNAPSHOT_FILE
    data = bytearray(path.read_bytes())
    at = data.index(b'"seq":{') + 60  # inside the per-actor seqs
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    expected = replayed_view(root)
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING), reopen(centre) as opened:
        assert opened.opening.snapshot_size is None
        assert opened.opening.refused == (
            "snapshot body does not match its SHA-256: the file was changed"
        )
        assert opened.opening.replayed == 18
        assert view(opened) == expected
    assert any(
        "refused" in r.getMessage() and "replaying the whole log" in r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING
    )
    # The next close saved a good snapshot again.
    assert decode_snapshot(path.read_bytes()).size == 18


def test_every_single_byte_change_is_refused(centre: Centre) -> None:
    root = grown_and_closed(centre, 3)
    data = (root / SNAPSHOT_FILE).read_bytes()
    log_key = ed25519_verifier_from_vkey(centre.log_vkey)
    with reopen(centre) as opened:
        logged = opened.store.checkpoint(decode_snapshot(data).size)
    verify_snapshot(decode_snapshot(data), ORIGIN, log_key, logged)
    for at in range(len(data)):
        changed = bytearray(data)
        changed[at] ^= 0x01
        with pytest.raises(StoreError):
            verify_snapshot(decode_snapshot(bytes(changed)), ORIGIN, log_key, logged)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "header"),
        (b"exam-integrity/centre-snapshot/v1 sha256:" + b"0" * 64, "header"),
        (b"exam-integrity/centre-snapshot/v2 sha256:" + b"0" * 64 + b"\n{}\n", "header"),
        (b"\xff" * 100, "header"),
    ],
)
def test_malformed_snapshots_are_refused(
    centre: Centre, content: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    centre.close()
    (centre.root / SNAPSHOT_FILE).write_bytes(content)
    with caplog.at_level(logging.WARNING), reopen(centre) as opened:
        assert opened.opening.refused is not None
        assert reason in opened.opening.refused
        assert opened.sequencer.published_size() == 1
    assert "refused" in caplog.text


def test_truncated_and_oversized_snapshots_are_refused(centre: Centre) -> None:
    root = grown_and_closed(centre, 2)
    path = root / SNAPSHOT_FILE
    data = path.read_bytes()
    for bad in (data[: len(data) // 2], data[:-1], data + b"\n", data + b"x"):
        path.write_bytes(bad)
        with reopen(centre) as opened:
            assert opened.opening.refused is not None
            assert opened.opening.snapshot_size is None
    path.unlink()
    with path.open("wb") as f:  # sparse: 64 MiB + 1 of zeros without writing them
        f.truncate(64 * 1024 * 1024 + 1)
    with reopen(centre) as opened:
        assert opened.opening.refused == "snapshot is over 67108864 bytes"


def test_unreadable_snapshot_is_refused_and_the_centre_still_works(
    centre: Centre, caplog: pytest.LogCaptureFixture
) -> None:
    centre.close()
    path = centre.root / SNAPSHOT_FILE
    path.unlink()
    path.mkdir()
    with caplog.at_level(logging.WARNING), reopen(centre) as opened:
        assert opened.opening.refused is not None
        assert "cannot read" in opened.opening.refused
        demo = opened.register_key("demo/d", DEMO)
        assert opened.append(demo, "demo.event", {"n": 1}) == 2
    # Saving over a directory failed: said so, and nothing was lost.
    assert "was not saved" in caplog.text
    assert path.is_dir()
    assert not [p for p in centre.root.iterdir() if p.name.startswith(f".{SNAPSHOT_FILE}.")]


def test_snapshot_claiming_a_tree_the_log_does_not_have_is_refused(
    centre: Centre, caplog: pytest.LogCaptureFixture
) -> None:
    root = grown_and_closed(centre, 5)
    good = (root / SNAPSHOT_FILE).read_bytes()
    snapshot = decode_snapshot(good)
    log_key = read_key_file(root / KEYS_DIR / key_file_name(ORIGIN), ORIGIN)
    size = snapshot.size
    expected = replayed_view(root)

    def signed(tree_size: int, root_hash: bytes) -> bytes:
        return sign_checkpoint(Checkpoint(ORIGIN, tree_size, root_hash), [log_key])

    # A frontier that does not make the checkpoint's root (the digest made to match).
    other_tree = tuple(bytes([7]) * 32 for _ in snapshot.state.frontier)
    forged_frontier = dataclasses.replace(snapshot.state, frontier=other_tree)
    # A checkpoint the log key signed for a root the log never had, at the same size.
    other = MerkleFrontier.from_subtree_hashes(size, other_tree)
    # A longer tree, signed, with a frontier that makes its root: the log is not that long.
    longer = MerkleFrontier.from_subtree_hashes(size, snapshot.state.frontier)
    for n in range(3):
        longer.append(bytes([n]) * 32)
    longer_registry = dataclasses.replace(snapshot.state.registry, size=size + 3)
    cases: list[tuple[SnapshotChange, str]] = [
        ({"state": forged_frontier}, "does not reproduce the checkpoint's root"),
        (
            {"state": forged_frontier, "checkpoint": signed(size, other.root())},
            f"the log's checkpoint of size {size} is another one",
        ),
        (
            {
                "state": AdmissionState(longer_registry, longer.subtree_hashes),
                "checkpoint": signed(size + 3, longer.root()),
            },
            f"the log has no checkpoint of size {size + 3}",
        ),
        ({"checkpoint": signed(size + 1, longer.root())}, "names a checkpoint of"),
        ({"origin": "exam.example/c/other"}, "is of log 'exam.example/c/other'"),
    ]
    for change, reason in cases:
        (root / SNAPSHOT_FILE).write_bytes(good)
        forge(root, change)
        caplog.clear()
        with caplog.at_level(logging.WARNING), reopen(centre) as opened:
            assert opened.opening.refused is not None
            assert reason in opened.opening.refused
            assert view(opened) == expected
        assert "replaying the whole log" in caplog.text


def test_snapshot_of_another_centre_is_refused(centre: Centre, tmp_path: Path) -> None:
    """Same origin, another log key: the checkpoint does not verify (a copied directory)."""
    centre.close()
    with Centre.create(tmp_path / "twin", ORIGIN, max_age_ms=5) as twin:
        twin.register_key("demo/t", DEMO)
    os.replace(tmp_path / "twin" / SNAPSHOT_FILE, centre.root / SNAPSHOT_FILE)
    with reopen(centre) as opened:
        assert opened.opening.refused is not None
        assert "does not verify under the log key" in opened.opening.refused


def test_snapshot_registry_must_not_contradict_itself(centre: Centre) -> None:
    grow(centre, 1)
    centre.close()
    snapshot = decode_snapshot((centre.root / SNAPSHOT_FILE).read_bytes())
    registry = snapshot.state.registry
    twice = dataclasses.replace(registry, keys=registry.keys + registry.keys[:1])
    zero_seq = dataclasses.replace(registry, last_seq=((registry.last_seq[0][0], 0),))
    for bad in (twice, zero_seq):
        state = dataclasses.replace(snapshot.state, registry=bad)
        with pytest.raises(StoreError, match="snapshot registry"):
            decode_snapshot(encode_snapshot(dataclasses.replace(snapshot, state=state)))
        with pytest.raises(ValueError, match="twice or"):
            KeyRegistry.from_state(ORIGIN, bad)
    # A registry that has seen one entry more than the checkpoint it claims to be at.
    wrong_size = dataclasses.replace(registry, size=registry.size + 1)
    state = dataclasses.replace(snapshot.state, registry=wrong_size)
    with pytest.raises(StoreError, match="names a checkpoint of"):
        verify_snapshot(
            CentreSnapshot(ORIGIN, snapshot.checkpoint, state),
            ORIGIN,
            ed25519_verifier_from_vkey(centre.log_vkey),
            snapshot.checkpoint,
        )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda text: text.replace('"frontier":["', '"frontier":["\u00e9', 1), "not base64"),
        (lambda text: text.replace('"origin":"', '"origin":"\\udcff', 1), "lone surrogate"),
    ],
)
def test_a_resealed_snapshot_with_odd_text_is_refused(
    centre: Centre, change: Callable[[str], str], reason: str
) -> None:
    """A snapshot whose digest matches but whose text holds what no writer writes (a frontier
    hash that is not ASCII, an escaped lone surrogate) is refused with ``StoreError``."""
    data = (grown_and_closed(centre, 3) / SNAPSHOT_FILE).read_bytes()
    body = change(data.split(b"\n", 1)[1].decode()).encode()
    forged = FORMAT + b" sha256:" + hashlib.sha256(body).hexdigest().encode() + b"\n" + body
    with pytest.raises(StoreError, match=reason):
        decode_snapshot(forged)
