"""The tlog-witness rules: every answer of the spec, and hostile input that changes nothing."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable

import pytest

from exam_core.errors import (
    InconsistentTreeError,
    LogSignatureError,
    SizeConflictError,
    UnknownLogError,
    WitnessError,
    WitnessRequestError,
)
from exam_core.log.checkpoint import Checkpoint
from exam_core.log.cosignature import (
    CosignatureVerifier,
    add_cosignatures,
    cosignature_timestamps,
    cosignature_verifier_from_vkey,
    verified_witnesses,
)
from exam_core.log.merkle import EMPTY_ROOT
from exam_core.log.note import Ed25519Signer, parse_note, sign_note
from exam_core.log.tlog_witness import add_checkpoint_body
from exam_core.monitoring.home import Monitor
from tests.exam_core.monitoring.conftest import SecondsClock
from tests.exam_core.monitoring.signed_tree import SignedTree


def witness_key(monitor: Monitor) -> CosignatureVerifier:
    return cosignature_verifier_from_vkey(monitor.witness.vkey)


def cosign(monitor: Monitor, body: bytes) -> bytes:
    return monitor.witness.add_checkpoint(body)


def state(monitor: Monitor, origin: str) -> tuple[int, bytes] | None:
    record = monitor.store.witness_state(origin)
    return None if record is None else (record.size, record.root_hash)


def assert_cosigned(monitor: Monitor, tree: SignedTree, size: int, line: bytes) -> None:
    note = add_cosignatures(tree.checkpoint(size), [line])
    cp, names = verified_witnesses(note, tree.signer.verifier, [witness_key(monitor)])
    assert names == (monitor.witness.name,)
    assert cp.size == size
    assert state(monitor, tree.origin) == (size, tree.root(size))


def test_a_first_checkpoint_then_a_consistent_one_are_cosigned(
    monitor: Monitor, tree: SignedTree, clock: SecondsClock
) -> None:
    assert_cosigned(monitor, tree, 10, cosign(monitor, tree.request(0)))
    tree.grow(13)
    clock.now += 5
    line = cosign(monitor, tree.request(10))
    assert_cosigned(monitor, tree, 23, line)
    stamps = cosignature_timestamps(
        add_cosignatures(tree.checkpoint(), [line]), [witness_key(monitor)]
    )
    assert stamps == {monitor.witness.name: clock.now}
    # The same checkpoint again (a log that lost the answer) is cosigned again, unchanged.
    assert_cosigned(monitor, tree, 23, cosign(monitor, tree.request(23)))


def test_the_monitoring_copy_holds_the_log_line_and_the_cosignature(
    monitor: Monitor, tree: SignedTree
) -> None:
    assert monitor.witness.cosigned_checkpoint(tree.origin) is None
    stranger = Ed25519Signer.from_seed("stranger.example/k", bytes(32))
    note = tree.checkpoint()
    extra = sign_note(parse_note(note).text, [stranger]).split(b"\n\n")[-1]
    cosign(monitor, add_checkpoint_body(0, [], note + extra))
    served = monitor.witness.cosigned_checkpoint(tree.origin)
    assert served is not None
    # The stranger's line is not served; the log's and the witness's are, and verify.
    assert b"stranger" not in served
    _, names = verified_witnesses(served, tree.signer.verifier, [witness_key(monitor)])
    assert names == (monitor.witness.name,)


def test_the_cosignature_time_never_goes_back(
    monitor: Monitor, tree: SignedTree, clock: SecondsClock
) -> None:
    first = cosign(monitor, tree.request(0))
    clock.now -= 3600  # the clock was set back
    tree.grow(1)
    second = cosign(monitor, tree.request(10))
    key = [witness_key(monitor)]
    t1 = cosignature_timestamps(add_cosignatures(tree.checkpoint(10), [first]), key)
    t2 = cosignature_timestamps(add_cosignatures(tree.checkpoint(11), [second]), key)
    assert t2[monitor.witness.name] == t1[monitor.witness.name] == clock.now + 3600


def test_a_log_with_extension_lines_is_cosigned(monitor: Monitor, tree: SignedTree) -> None:
    # The witness serves any C2SP log, and tlog-checkpoint allows extension lines.
    text = (
        f"{tree.origin}\n10\n{base64.b64encode(tree.root(10)).decode()}\nextension line\n"
    ).encode()
    note = sign_note(text, [tree.signer])
    line = cosign(monitor, add_checkpoint_body(0, [], note))
    key = witness_key(monitor)
    assert key.verify(text, base64.b64decode(line.split(b" ")[-1])[4:])


# --- every refusal of the spec, each changing no state -----------------------------------


@pytest.fixture
def cosigned_at_10(monitor: Monitor, tree: SignedTree) -> SignedTree:
    cosign(monitor, tree.request(0))
    return tree.grow(10)


def refused(
    monitor: Monitor,
    tree: SignedTree,
    body: bytes,
    error: type[WitnessError],
    match: str | None = None,
) -> WitnessError:
    before = monitor.store.witness_state(tree.origin)
    with pytest.raises(error, match=match) as caught:
        cosign(monitor, body)
    assert monitor.store.witness_state(tree.origin) == before
    return caught.value


def test_404_for_a_log_it_does_not_watch(monitor: Monitor, cosigned_at_10: SignedTree) -> None:
    other = SignedTree.new("other.example/log", seed=7).grow(3)
    error = refused(monitor, cosigned_at_10, other.request(0), UnknownLogError)
    assert error.status == 404


@pytest.mark.parametrize("case", ["other key, same name", "tampered", "unsigned by the log"])
def test_403_without_a_valid_log_signature(
    monitor: Monitor, cosigned_at_10: SignedTree, case: str
) -> None:
    tree = cosigned_at_10
    if case == "other key, same name":
        forger = SignedTree(Ed25519Signer.from_seed(tree.origin, bytes(32)), tree.leaves)
        body = forger.request(10)
    elif case == "tampered":
        body = tree.request(10)
        sig = body.rindex(b" ") + 10
        body = body[:sig] + (b"A" if body[sig : sig + 1] != b"A" else b"B") + body[sig + 1 :]
    else:
        stranger = Ed25519Signer.from_seed("stranger.example/k", bytes(32))
        text = parse_note(tree.checkpoint()).text
        body = add_checkpoint_body(10, tree.proof(10), sign_note(text, [stranger]))
    assert refused(monitor, tree, body, LogSignatureError).status == 403


def test_400_for_an_old_size_above_the_checkpoint(
    monitor: Monitor, cosigned_at_10: SignedTree
) -> None:
    tree = cosigned_at_10
    body = add_checkpoint_body(21, [], tree.checkpoint())
    assert refused(monitor, tree, body, WitnessRequestError, "larger").status == 400


@pytest.mark.parametrize(
    ("old", "expected"),
    [(0, 10), (5, 10), (15, 10)],
)
def test_409_names_the_witness_size(
    monitor: Monitor, cosigned_at_10: SignedTree, old: int, expected: int
) -> None:
    tree = cosigned_at_10
    body = add_checkpoint_body(old, tree.proof(old) if old else [], tree.checkpoint())
    error = refused(monitor, tree, body, SizeConflictError)
    assert isinstance(error, SizeConflictError)
    assert (error.status, error.size) == (409, expected)


def test_409_size_0_for_a_log_never_cosigned(monitor: Monitor, tree: SignedTree) -> None:
    error = refused(monitor, tree, tree.grow(5).request(10), SizeConflictError)
    assert isinstance(error, SizeConflictError)
    assert error.size == 0
    assert monitor.store.witness_state(tree.origin) is None


def test_422_for_a_rewritten_old_entry(monitor: Monitor, cosigned_at_10: SignedTree) -> None:
    forked = cosigned_at_10.fork(3)
    assert refused(monitor, forked, forked.request(10), InconsistentTreeError).status == 422


def test_422_for_another_tree_of_the_cosigned_size(monitor: Monitor, tree: SignedTree) -> None:
    cosign(monitor, tree.request(0))
    forked = tree.fork(9)
    refused(monitor, tree, forked.request(10, 10), InconsistentTreeError, "another root")


@pytest.mark.parametrize("change", ["one hash short", "one hash more", "a hash flipped", "none"])
def test_422_for_a_proof_of_the_wrong_length_or_content(
    monitor: Monitor, cosigned_at_10: SignedTree, change: str
) -> None:
    tree = cosigned_at_10
    proof = tree.proof(10)
    if change == "one hash short":
        proof = proof[:-1]
    elif change == "one hash more":
        proof = [*proof, bytes(32)]
    elif change == "a hash flipped":
        proof = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
    else:
        proof = []
    body = add_checkpoint_body(10, proof, tree.checkpoint())
    refused(monitor, tree, body, InconsistentTreeError)


def test_422_for_a_proof_from_size_0_and_a_wrong_empty_root(
    monitor: Monitor, tree: SignedTree
) -> None:
    body = add_checkpoint_body(0, [bytes(32)], tree.checkpoint())
    refused(monitor, tree, body, InconsistentTreeError, "from size 0")
    empty = Checkpoint(tree.origin, 0, bytes(32))
    from exam_core.log.checkpoint import sign_checkpoint  # noqa: PLC0415

    body = add_checkpoint_body(0, [], sign_checkpoint(empty, [tree.signer]))
    refused(monitor, tree, body, InconsistentTreeError, "empty tree")
    good = sign_checkpoint(Checkpoint(tree.origin, 0, EMPTY_ROOT), [tree.signer])
    cosign(monitor, add_checkpoint_body(0, [], good))
    assert state(monitor, tree.origin) == (0, EMPTY_ROOT)


def test_a_truncated_log_is_refused(monitor: Monitor, cosigned_at_10: SignedTree) -> None:
    tree = cosigned_at_10
    cosign(monitor, tree.request(10))  # at 20
    refused(monitor, tree, tree.request(5, 5), SizeConflictError)
    refused(monitor, tree, add_checkpoint_body(20, [], tree.checkpoint(5)), WitnessRequestError)


def _malformed(tree: SignedTree) -> dict[str, bytes]:
    good = tree.request(10)
    note = tree.checkpoint()
    proof = [base64.b64encode(h) for h in tree.proof(10)]
    return {
        "empty": b"",
        "no old line": note,
        "old without size": b"old \n\n" + note,
        "old with a leading zero": b"old 010\n" + b"\n".join(proof) + b"\n\n" + note,
        "old negative": b"old -1\n\n" + note,
        "old too large": b"old 99999999999999999999\n\n" + note,
        "OLD in capitals": good.replace(b"old", b"OLD", 1),
        "two spaces": good.replace(b"old ", b"old  ", 1),
        "CRLF": good.replace(b"\n", b"\r\n", 2),
        "no blank line": b"old 10\n" + b"\n".join(proof) + b"\n",
        "no checkpoint": b"old 10\n" + b"\n".join(proof) + b"\n\n",
        "proof not base64": b"old 10\n***\n\n" + note,
        "proof of 31 bytes": b"old 10\n" + base64.b64encode(bytes(31)) + b"\n\n" + note,
        "proof not canonical": b"old 10\n" + proof[0][:-2] + b"B=\n\n" + note,
        "64 proof lines": b"old 10\n" + (base64.b64encode(bytes(32)) + b"\n") * 64 + b"\n" + note,
        "note without signatures": b"old 10\n\n" + parse_note(note).text + b"\n",
        "note not UTF-8": b"old 10\n\n" + note.replace(b"witnessed", b"witness\xff", 1),
        "size with leading zero": b"old 10\n\n" + note.replace(b"\n20\n", b"\n020\n", 1),
        "root not base64": b"old 10\n\n" + note.replace(b"=\n", b"!\n", 1),
        "control character": b"old 10\n\n" + note.replace(b"witnessed", b"witness\x07d", 1),
        "giant body": b"old 10\n" + b"A" * 300_000,
    }


@pytest.mark.parametrize(
    "case",
    list(_malformed(SignedTree.new().grow(20))),
)
def test_400_for_malformed_requests(
    monitor: Monitor, cosigned_at_10: SignedTree, case: str
) -> None:
    body = _malformed(cosigned_at_10)[case]
    assert refused(monitor, cosigned_at_10, body, WitnessRequestError).status == 400


def test_refusals_leave_the_witness_able_to_go_on(
    monitor: Monitor, cosigned_at_10: SignedTree
) -> None:
    tree = cosigned_at_10
    for body in _malformed(tree).values():
        with pytest.raises(WitnessError):
            cosign(monitor, body)
    assert_cosigned(monitor, tree, 20, cosign(monitor, tree.request(10)))


# --- durability and races ---------------------------------------------------------------


def test_the_state_survives_a_restart(
    open_again: Callable[[], Monitor], monitor: Monitor, cosigned_at_10: SignedTree
) -> None:
    tree = cosigned_at_10
    cosign(monitor, tree.request(10))
    monitor.close()
    again = open_again()
    with pytest.raises(SizeConflictError) as caught:
        cosign(again, tree.request(10))
    assert caught.value.size == 20
    refused(again, tree.fork(15), tree.fork(15).request(20, 20), InconsistentTreeError)
    assert_cosigned(again, tree.grow(1), 21, cosign(again, tree.request(20)))


def test_a_lost_answer_is_recovered_by_the_spec_retry(
    monitor: Monitor, cosigned_at_10: SignedTree
) -> None:
    # The witness commits before it answers: if the answer is lost, the log's retry from its
    # old size learns the new size (409) and gets the same checkpoint cosigned again.
    tree = cosigned_at_10
    cosign(monitor, tree.request(10))  # the answer never reached the log
    with pytest.raises(SizeConflictError) as caught:
        cosign(monitor, tree.request(10))
    assert_cosigned(monitor, tree, 20, cosign(monitor, tree.request(caught.value.size)))


def race(witnesses: list[Monitor], bodies: list[bytes]) -> list[bytes | WitnessError]:
    """Send each body to its witness from its own thread, all released together."""
    barrier = threading.Barrier(len(bodies))
    results: list[bytes | WitnessError] = [WitnessRequestError("not run")] * len(bodies)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = cosign(witnesses[i], bodies[i])
        except WitnessError as e:
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize("rivals", ["two honest sizes", "honest and forked"])
def test_two_racing_requests_cannot_both_advance(
    open_again: Callable[[], Monitor], monitor: Monitor, tree: SignedTree, rivals: str
) -> None:
    cosign(monitor, tree.request(0))  # at 10
    for attempt in range(5):
        base = len(tree.leaves)
        tree.grow(4)
        a_body = tree.request(base)
        if rivals == "two honest sizes":
            b_tree = SignedTree(tree.signer, tree.leaves[:-2])
        else:
            b_tree = tree.fork(base + 1)
        b_body = b_tree.request(base)
        # Two processes sharing the database, released at the same instant.
        results = race([monitor, open_again()], [a_body, b_body])
        won = [i for i, r in enumerate(results) if isinstance(r, bytes)]
        assert len(won) == 1, (attempt, results)
        loser = results[1 - won[0]]
        assert isinstance(loser, SizeConflictError | InconsistentTreeError), loser
        winner = tree if won[0] == 0 else b_tree
        size = len(winner.leaves)
        assert state(monitor, tree.origin) == (size, winner.root(size))
        if won[0] == 1:
            # Continue from the winner's view so the next round starts where the witness is.
            tree.leaves = list(winner.leaves)
