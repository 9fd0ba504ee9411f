"""A bundle is held to the checkpoints an auditor saw outside it, and to its witnesses.

A log-key holder can export a bundle cut back to an older checkpoint the log really signed, or
a rewritten one: whole, and consistent with itself.  Only what the auditor saw elsewhere (a
receipt, the monitoring centre, an earlier audit) or a witness's cosignature tells it apart.
"""

from __future__ import annotations

import pytest

from exam_core.audit.check import AuditReport, check_bundle
from exam_core.audit.reader import bundle_from_files
from exam_core.log.checkpoint import Checkpoint, sign_checkpoint
from exam_core.log.merkle import MerkleFrontier, leaf_hash
from exam_core.log.note import Ed25519Signer
from tests.exam_core.audit.bundle_factory import ORIGIN, LogBuilder, cut_back, demo_log


@pytest.fixture(scope="module")
def log() -> LogBuilder:
    """Checkpoints 0, 1 and 2 at sizes 11, 22 and 30, each cosigned by the policy's witness."""
    return demo_log(30, checkpoint_every=11)


def audit(files: dict[str, bytes], *outside: tuple[str, bytes]) -> AuditReport:
    return check_bundle(bundle_from_files(files), policy=files["policy"], outside=outside)


def codes(report: AuditReport) -> set[tuple[str, int | None]]:
    return {(f.code, f.index) for f in report.findings}


def test_a_bundle_cut_back_to_an_older_signed_checkpoint_fails_against_a_later_one(
    log: LogBuilder,
) -> None:
    rolled = cut_back(log.files(), 1)
    alone = audit(rolled)
    assert alone.ok  # whole and consistent with itself
    assert alone.tree_size == 22
    report = audit(rolled, ("receipt", log.checkpoints[2]))
    assert codes(report) == {("bundle_rolled_back", 22)}
    message = report.errors[0].message
    assert message.startswith("receipt: the log signed a tree of 30 entries")


def test_checkpoints_seen_elsewhere_that_the_bundle_extends_pass(log: LogBuilder) -> None:
    seen = [(f"earlier-{k}", note) for k, note in enumerate(log.checkpoints)]
    assert audit(log.files(), *seen).findings == ()


def _signed(size: int, entries: list[bytes], key: Ed25519Signer) -> bytes:
    frontier = MerkleFrontier()
    for data in entries[:size]:
        frontier.append(leaf_hash(data))
    return sign_checkpoint(Checkpoint(ORIGIN, size, frontier.root()), [key])


def test_a_checkpoint_of_a_forked_log_seen_elsewhere_fails(log: LogBuilder) -> None:
    fork = [*log.entries[:15], b"another entry\n", *log.entries[16:]]
    for size in (20, 30):
        report = audit(log.files(), ("monitor", _signed(size, fork, log.log_key)))
        assert codes(report) == {("checkpoint_outside_inconsistent", size - 1)}


def test_a_checkpoint_the_log_key_did_not_sign_proves_nothing(log: LogBuilder) -> None:
    impostor = Ed25519Signer.from_seed(ORIGIN, b"\x44" * 32)
    report = audit(log.files(), ("forged", _signed(40, log.entries, impostor)))
    assert codes(report) == {("checkpoint_outside_invalid", None)}
    assert audit(log.files(), ("garbage", b"not a note\n")).errors[0].code == (
        "checkpoint_outside_invalid"
    )


def test_a_newest_tree_no_witness_cosigned_is_vouched_for_by_the_centre_alone() -> None:
    log = LogBuilder(witnesses=1, quorum=0)
    log.append(log.key("d1", "demo"), "demo.event", n=1)
    cosigned = log.checkpoint()
    bare = _signed(len(log.entries), log.entries, log.log_key)
    files = log.files() | {"checkpoint": bare, "checkpoints/000000000000": bare}
    report = audit(files)
    assert report.ok
    assert [(f.code, f.severity) for f in report.findings] == [
        ("checkpoint_unwitnessed", "warning")
    ]
    assert "vouched for by the centre alone" in report.findings[0].message
    # The same tree, cosigned by the policy's witness, seen at the monitoring centre.
    assert audit(files, ("monitor", cosigned)).findings == ()
    assert audit(log.files()).findings == ()
