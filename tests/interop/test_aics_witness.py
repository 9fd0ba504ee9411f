"""Interoperability with an independent C2SP implementation (aics-witness, aics-tlog).

- its log-side client gets our witness's cosignatures, building its own proofs and recovering
  from 409 by the spec alone;
- the same hostile and misbehaving requests get the same status from its witness and ours;
- our centre is witnessed by its witness: receipts and the audited bundle carry its cosignature.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.monitor.app import create_app
from api.monitor.server import BackgroundServer
from exam_core.audit.check import check_bundle
from exam_core.audit.reader import read_bundle
from exam_core.centre.centre import Centre
from exam_core.centre.export import export_bundle
from exam_core.log.cosignature import (
    add_cosignatures,
    cosignature_verifier_from_vkey,
    verified_witnesses,
)
from exam_core.log.note import Ed25519Signer
from exam_core.log.schemas.types import DEMO
from exam_core.log.tlog_proof import verify_receipt
from exam_core.log.tlog_witness import add_checkpoint_body
from exam_core.monitoring.home import Monitor, create_monitor, open_monitor
from tests.exam_core.monitoring.signed_tree import SignedTree
from tests.interop.aics import aics_witness, require_interop_python, run_script


@pytest.fixture
def python() -> Path:
    return require_interop_python()


@pytest.fixture
def our_witness(tmp_path: Path) -> Iterator[tuple[Monitor, str]]:
    """Our monitor on the real clock (the client checks that cosignatures are fresh)."""
    create_monitor(tmp_path / "monitor", "monitor.example/m1")
    with (
        open_monitor(tmp_path / "monitor") as monitor,
        BackgroundServer(create_app(monitor)) as server,
    ):
        yield monitor, server.url


def test_their_log_client_is_cosigned_by_our_witness(
    python: Path, our_witness: tuple[Monitor, str]
) -> None:
    monitor, url = our_witness
    tree = SignedTree.new().grow(300)
    monitor.add_log(tree.vkey, None, 0)
    sizes = [1, 2, 7, 8, 100, 256, 257, 300]
    job = {
        "url": url,
        "witness_vkey": monitor.witness.vkey,
        "leaves": [base64.b64encode(x).decode() for x in tree.leaves],
        "checkpoints": [base64.b64encode(tree.checkpoint(n)).decode() for n in sizes],
    }
    answer = run_script(python, "aics_feed.py", job)
    assert answer["errors"] == []
    key = cosignature_verifier_from_vkey(monitor.witness.vkey)
    lines = answer["lines"]
    assert isinstance(lines, list)
    for size, line in zip(sizes, lines, strict=True):
        note = add_cosignatures(tree.checkpoint(size), [str(line).encode()])
        assert verified_witnesses(note, tree.signer.verifier, [key])[1] == (key.name,)
    # A second client with no memory starts from old 0 and recovers through 409.
    tree.grow(5)
    job["leaves"] = [base64.b64encode(x).decode() for x in tree.leaves]
    job["checkpoints"] = [base64.b64encode(tree.checkpoint()).decode()]
    again = run_script(python, "aics_feed.py", job)
    assert again["errors"] == []
    record = monitor.store.witness_state(tree.origin)
    assert record is not None
    assert record.size == 305


def _requests(tree: SignedTree) -> dict[str, bytes]:
    """Requests after both witnesses cosigned size 10 of ``tree`` (which has 20 leaves)."""
    forger = SignedTree(Ed25519Signer.from_seed(tree.origin, bytes(32)), tree.leaves)
    proof = tree.proof(10)
    note = tree.checkpoint()
    return {
        "old size not the witness's": add_checkpoint_body(5, tree.proof(5), note),
        "old size above the checkpoint": add_checkpoint_body(21, [], note),
        "unknown origin": SignedTree.new("other.example/log", 9).grow(2).request(0),
        "forged log key": forger.request(10),
        "rewritten entry": tree.fork(3).request(10),
        "proof one hash short": add_checkpoint_body(10, proof[:-1], note),
        "proof one hash more": add_checkpoint_body(10, [*proof, bytes(32)], note),
        "proof from size 0": add_checkpoint_body(0, proof, note),
        "same size, other root": tree.fork(9).request(10, 10),
        "no old line": note,
        "old with a leading zero": b"old 010\n\n" + note,
        "proof not base64": b"old 10\n***\n\n" + note,
        "no blank line": b"old 10\n",
        "64 proof lines": b"old 10\n" + (base64.b64encode(bytes(32)) + b"\n") * 64 + b"\n" + note,
        "note without signatures": b"old 10\n\n" + note[: note.index(b"\n\n") + 1] + b"\n",
        "consistent": tree.request(10),  # last: it moves both witnesses to 20
    }


def test_both_witnesses_answer_alike(
    python: Path, our_witness: tuple[Monitor, str], tmp_path: Path
) -> None:
    monitor, ours = our_witness
    tree = SignedTree.new().grow(10)
    monitor.add_log(tree.vkey, None, 0)
    with aics_witness(python, tmp_path / "aics", {tree.origin: tree.vkey}) as theirs:
        for url in (ours, theirs.url):
            assert httpx.post(url + "/add-checkpoint", content=tree.request(0)).status_code == 200
        tree.grow(10)
        table = {}
        for case, body in _requests(tree).items():
            codes = [
                httpx.post(url + "/add-checkpoint", content=body).status_code
                for url in (ours, theirs.url)
            ]
            table[case] = codes
        # Every refusal changed neither witness, so the consistent request was still accepted.
        assert all(a == b for a, b in table.values()), table
        assert table["consistent"] == [200, 200]
        assert {c for c, _ in table.values()} >= {400, 403, 404, 409, 422}


def test_our_centre_is_cosigned_by_their_witness(python: Path, tmp_path: Path) -> None:
    origin = "exam.example/c/370100-09"
    centre = Centre.create(tmp_path / "centre", origin, max_age_ms=5)
    with aics_witness(python, tmp_path / "aics", {origin: centre.log_vkey}) as theirs:
        centre.add_witness(theirs.vkey, theirs.url)
        centre.close()
        centre = Centre.open(tmp_path / "centre", max_age_ms=5)
        try:
            signer = centre.register_key("demo/i", DEMO)
            indices = [centre.append(signer, "demo.event", {"n": n}) for n in range(40)]
            receipt = centre.wait_receipt(indices[-1], timeout=30)
            verify_receipt(receipt, centre.store.entry(indices[-1]), centre.policy())
            for n in range(40, 45):  # more checkpoints: each resent with a proof from the last
                centre.append(signer, "demo.event", {"n": n})
            bundle = export_bundle(centre, tmp_path / "bundle", wait_witnessed_s=30)
        finally:
            centre.close()
        # Their witness serves what it cosigned: our newest checkpoint with its line.
        served = httpx.get(
            f"{theirs.url}/{hashlib.sha256(origin.encode()).hexdigest()}/checkpoint"
        ).content
    report = check_bundle(read_bundle(bundle.path))
    assert report.ok, report.errors
    cp, names = centre.policy().verify_checkpoint(served)
    assert (cp.size, names) == (bundle.tree_size, (theirs.name,))
