"""A centre's public log over HTTP as a ``LogSource``: proofs that verify, answers that are refused.

The proofs come from a real ``examctl serve`` on loopback and are checked against checkpoints
the same centre published earlier; the hostile answers are the shapes a lying or broken centre
could send instead of a proof.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from api.client import CentreClient, CentreLog, RemoteLog, RetryPolicy
from api.client.centre_log import parse_consistency_answer
from exam_core.errors import ProofError
from exam_core.log.checkpoint import parse_checkpoint_text
from exam_core.log.merkle import verify_consistency
from exam_core.log.note import parse_note
from tests.api.http.served import Served
from tests.api.http.test_serve import make_centre

QUICK = RetryPolicy(attempts=None, base_s=0.02, max_s=0.3)
GOOD = base64.b64encode(bytes(32)).decode()


def _size_and_root(note: bytes) -> tuple[int, bytes]:
    checkpoint = parse_checkpoint_text(parse_note(note).text)
    return checkpoint.size, checkpoint.root_hash


def test_the_centre_s_proofs_link_its_earlier_checkpoints_to_today(
    tmp_path: Path, db_url: str
) -> None:
    root = tmp_path / "centre"
    demo, _, _ = make_centre(root, db_url)
    served = Served(root, 0, "--batch-ms", "5")
    try:
        with CentreClient(served.url, retry=QUICK) as client:
            log = RemoteLog(client, demo)
            source = CentreLog(client)
            seen = []
            for n in range(6):
                index = log.append("demo.event", {"n": n})
                client.receipt(index)  # waits until the entry is published
                seen.append(_size_and_root(source.checkpoint_note()))
            log.close()
            today_size, today_root = seen[-1]
            for old_size, old_root in seen[:-1]:
                proof = source.consistency_proof(old_size, today_size)
                verify_consistency(old_size, today_size, proof, old_root, today_root)
    finally:
        code, err = served.stop()
    assert code == 0, err


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "not a JSON object"),
        ({"first": 2, "second": 5, "hashes": []}, "not 3 → 5"),
        ({"first": 3, "second": 6, "hashes": []}, "not 3 → 5"),
        ({"first": "3", "second": 5, "hashes": []}, "not 3 → 5"),
        ({"first": 3, "second": 5}, "not a list"),
        ({"first": 3, "second": 5, "hashes": GOOD}, "not a list"),
        ({"first": 3, "second": 5, "hashes": [GOOD] * 129}, "at most 128"),
        ({"first": 3, "second": 5, "hashes": [7]}, "not a string"),
        ({"first": 3, "second": 5, "hashes": ["!!!!"]}, "not base64"),
        ({"first": 3, "second": 5, "hashes": [GOOD[:-4]]}, "not 32"),
        ({"first": 3, "second": 5, "hashes": [base64.b64encode(bytes(33)).decode()]}, "not 32"),
    ],
)
def test_an_answer_that_is_not_a_proof_for_the_sizes_asked_is_refused(
    body: Any, reason: str
) -> None:
    with pytest.raises(ProofError, match=reason):
        parse_consistency_answer(body, 3, 5)


def test_a_well_formed_answer_gives_its_hashes_in_order() -> None:
    hashes = [bytes([n]) * 32 for n in range(3)]
    body = {"first": 3, "second": 5, "hashes": [base64.b64encode(h).decode() for h in hashes]}
    assert parse_consistency_answer(body, 3, 5) == hashes
