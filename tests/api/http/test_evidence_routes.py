"""Evidence from the service: a candidate's receipt, and whether a video file is sealed video.

The exam of the scripted day seals two segments, runs, ends and is scored in a served centre;
its receipt then verifies offline under the centre's policy, and the sealed segments — one,
both, or both joined — are proved over HTTP with inclusion proofs that lead to the checkpoint
the answer names.  Altered, trimmed, swapped, foreign and oversized files are refused with the
reason and change nothing.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi import FastAPI

from api.http import Limits, create_app
from exam_core.centre.centre import Centre
from exam_core.centre.tokens import TokenStore
from exam_core.evidence.result_receipt import verify_result_receipt
from exam_core.evidence.video_chain import GENESIS, Seal, sealed_fields
from exam_core.exam_day.plan import exam_id
from exam_core.log.checkpoint import parse_checkpoint_text
from exam_core.log.entry import parse_entry
from exam_core.log.merkle import leaf_hash, verify_inclusion
from exam_core.log.note import parse_note
from exam_core.log.policy import parse_policy
from tests.api.http.conftest import AppClient, bearer
from tests.api.http.day_fixture import ROUTE, ServedDay
from tests.exam_core.exam_day import day_script as ds

PROBLEM = "urn:exam-integrity:problem:"
SEGMENTS = (b"first five seconds of video " * 40, b"the next five seconds, shorter " * 25)
VIDEO_LIMIT = 8_192


@pytest.fixture
def app(served_centre: Centre) -> FastAPI:
    return create_app(served_centre, limits=Limits(max_video_bytes=VIDEO_LIMIT))


@pytest.fixture
def exam(day: ServedDay) -> str:
    """The boarded exam seals ``SEGMENTS``, runs, ends and is scored."""
    now = day.clock[0]
    candidate = day.first()
    exam = exam_id(ds.SESSION, candidate)
    unit = ds.unit(day.assignment[candidate])
    prev = GENESIS
    for number, data in enumerate(SEGMENTS):
        start = ds.START + 5_000 * number
        fields = sealed_fields(
            exam, segment=number, prev=prev, data=data, start_ms=start, end_ms=start + 5_000
        )
        step = day.do("video.sealed", unit, ds.START + 1_500 + number, **fields)
        prev = Seal.of(step.index, unit, step.event).link
    day.start(candidate, exam)
    day.chunk(candidate, exam, 0)
    ended = {"exam": exam, "chunks": 1, "video_segments": len(SEGMENTS), "video_head": prev.hex()}
    day.do("exam.ended", unit, ds.START + 60_000, **ended)
    day.do("exam.scored", ds.SCORER, ds.START + 70_000, **(ds.scored(exam, 1) | {"map": ROUTE}))
    day.clock[0] = now
    return exam


@pytest.fixture
def investigator(tokens: TokenStore) -> dict[str, str]:
    return bearer(tokens.issue("investigator", "investigator/i1")[0])


def test_a_scored_exam_s_receipt_verifies_under_the_centre_s_policy(
    client: AppClient, exam: str
) -> None:
    answer = client.get(f"/evidence/receipt/{exam}")
    assert answer.status_code == 200, answer.text
    policy = parse_policy(client.get("/policy").content)
    result = verify_result_receipt(answer.content, policy)
    assert result.exam == exam
    assert result.event["type"] == "exam.scored"
    assert result.pinned
    assert ds.id_hash(ds.BOOKED[0]) not in answer.text  # no personal data in clear


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/evidence/receipt/{'0' * 32}", 404),  # no such exam
        ("/evidence/receipt/NOT-HEX", 422),
        (f"/evidence/receipt/{'a' * 33}", 422),
    ],
)
def test_a_receipt_of_no_result_is_a_precise_problem(
    client: AppClient, exam: str, path: str, status: int
) -> None:
    answer = client.get(path)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_an_exam_not_yet_scored_has_no_receipt(client: AppClient, day: ServedDay) -> None:
    answer = client.get(f"/evidence/receipt/{exam_id(ds.SESSION, day.first())}")
    assert answer.status_code == 404
    assert "no published result" in answer.json()["detail"]


def _proved(client: AppClient, headers: dict[str, str], data: bytes) -> dict[str, Any]:
    answer = client.post("/evidence/video", content=data, headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    checkpoint = parse_checkpoint_text(parse_note(body["checkpoint"].encode()).text)
    for segment in body["segments"]:
        path = [base64.b64decode(h) for h in segment["inclusion_proof"]]
        entry = client.get(f"/entries/{segment['index']}").content
        assert parse_entry(entry).type == "video.sealed"
        verify_inclusion(
            leaf_hash(entry), segment["index"], checkpoint.size, path, checkpoint.root_hash
        )
    return body


def test_sealed_segments_are_proved_with_paths_to_the_named_checkpoint(
    client: AppClient, exam: str, investigator: dict[str, str]
) -> None:
    first = _proved(client, investigator, SEGMENTS[0])
    assert first["exam"] == exam
    assert [(s["segment"], s["offset"]) for s in first["segments"]] == [(0, 0)]
    assert first["chain_findings"] == []
    both = _proved(client, investigator, SEGMENTS[0] + SEGMENTS[1])
    assert [(s["segment"], s["offset"]) for s in both["segments"]] == [
        (0, 0),
        (1, len(SEGMENTS[0])),
    ]
    assert both["segments"][1]["start_ms"] == ds.START + 5_000


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"X" + SEGMENTS[0][1:], "re-encoded or altered"),
        (SEGMENTS[0] + SEGMENTS[1][:-3], "trimmed"),
        (SEGMENTS[1] + SEGMENTS[0], "out of order"),
        (b"a video the centre never sealed", "re-encoded or altered"),
        (b"", "empty"),
    ],
)
def test_a_file_that_is_not_sealed_video_is_refused_with_the_reason(
    client: AppClient, exam: str, investigator: dict[str, str], data: bytes, reason: str
) -> None:
    before = client.get("/checkpoint").content
    answer = client.post("/evidence/video", content=data, headers=investigator)
    assert answer.status_code == 422, answer.text
    assert answer.json()["type"] == PROBLEM + "evidence/not-sealed"
    assert reason in answer.json()["detail"]
    assert client.get("/checkpoint").content == before


def test_an_oversized_file_is_refused_before_it_is_read(
    client: AppClient, exam: str, investigator: dict[str, str]
) -> None:
    answer = client.post("/evidence/video", content=b"v" * (VIDEO_LIMIT + 1), headers=investigator)
    assert answer.status_code == 413
    assert answer.json()["type"] == PROBLEM + "body-too-large"


def test_a_centre_with_no_sealed_video_says_so(
    client: AppClient, day: ServedDay, investigator: dict[str, str]
) -> None:
    answer = client.post("/evidence/video", content=SEGMENTS[0], headers=investigator)
    assert answer.status_code == 422
    assert "no sealed video" in answer.json()["detail"]


def test_the_centre_explains_a_refusal_with_its_stored_segment_only_while_it_is_intact(
    client: AppClient, served_centre: Centre, exam: str, investigator: dict[str, str]
) -> None:
    sha = served_centre.blobs.put(SEGMENTS[0])
    altered = SEGMENTS[0][:5] + b"X" + SEGMENTS[0][6:]
    answer = client.post("/evidence/video", content=altered, headers=investigator)
    assert answer.status_code == 422, answer.text
    size = len(SEGMENTS[0])
    assert answer.json()["detail"] == (
        f"altered: the {size} bytes from offset 0 match segment 0 of exam {exam} ({size} bytes) "
        "up to its byte 5, which differs"
    )
    # The stored copy changed on disk (to the file itself): it no longer hashes to its name,
    # and explains nothing.
    served_centre.blobs.path(sha).write_bytes(altered)
    answer = client.post("/evidence/video", content=altered, headers=investigator)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(
        f"re-encoded or altered: the {size} bytes from offset 0 start no sealed segment"
    )
