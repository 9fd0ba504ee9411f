"""POST /entries: a signed entry in, its index out; every refusal precise, and changing nothing."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest

from exam_core.centre.centre import Centre
from exam_core.centre.tokens import TokenStore
from exam_core.errors import ProofError
from exam_core.exam_day.plan import exam_id
from exam_core.log.entry import make_entry
from exam_core.log.note import Ed25519Signer
from exam_core.log.policy import parse_policy
from exam_core.log.schemas.types import GATEWAY, TABLET
from exam_core.log.tiles import encode_entry_bundle
from exam_core.log.tlog_proof import verify_receipt
from tests.api.http.conftest import Actor, AppClient, bearer, make_actor
from tests.api.http.day_fixture import ServedDay
from tests.conftest import ORIGIN
from tests.exam_core.exam_day import day_script as ds

PROBLEM = "urn:exam-integrity:problem:"


def size(client: AppClient) -> int:
    return int(client.get("/health").json()["published_size"])


def refused(
    client: AppClient, body: bytes, status: int, name: str, code: str | None = None
) -> httpx.Response:
    """Post ``body``, expect the problem ``name`` with ``status``, and that nothing changed."""
    before = client.get("/checkpoint").content
    answer = client.post("/entries", content=body)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"] == PROBLEM + name
    assert problem["status"] == status
    assert "Traceback" not in answer.text
    if code is not None:
        assert problem["code"] == code
    assert client.get("/checkpoint").content == before
    return answer


def test_an_entry_gets_its_index_and_is_served_as_signed(client: AppClient, demo: Actor) -> None:
    start = size(client)
    data = demo.entry()
    answer = client.post("/entries", content=data)
    assert answer.status_code == 201
    assert answer.json() == {"index": start, "duplicate": False, "receipt": None}
    assert client.get(f"/entries/{start}").content == data
    assert size(client) == start + 1


def test_waiting_for_publication_returns_a_receipt_that_verifies(
    client: AppClient, demo: Actor
) -> None:
    data = demo.entry()
    answer = client.post("/entries", params={"wait": "published"}, content=data)
    assert answer.status_code == 201
    receipt = answer.json()["receipt"].encode()
    policy = parse_policy(client.get("/policy").content)
    checkpoint = verify_receipt(receipt, data, policy)
    assert checkpoint.size > answer.json()["index"]
    with pytest.raises(ProofError):
        verify_receipt(receipt, data.replace(b'"n":1', b'"n":2'), policy)


def test_a_resubmission_after_a_lost_answer_gets_the_same_index(
    client: AppClient, demo: Actor
) -> None:
    first, second = demo.entry(), demo.entry()
    index = client.post("/entries", content=first).json()["index"]
    # Published before the size is read: the size must not move for the resubmissions alone.
    client.post("/entries", params={"wait": "published"}, content=second)
    grown = size(client)
    for _ in range(3):
        again = client.post("/entries", content=first)
        assert again.status_code == 200
        assert again.json() == {"index": index, "duplicate": True, "receipt": None}
    assert size(client) == grown
    with_receipt = client.post("/entries", params={"wait": "published"}, content=first).json()
    assert with_receipt["duplicate"] is True
    assert with_receipt["receipt"].startswith("c2sp.org/tlog-proof@v1\nindex ")


def test_a_replayed_seq_with_other_bytes_is_a_conflict(client: AppClient, demo: Actor) -> None:
    client.post("/entries", content=demo.entry())
    replay = demo.entry(seq=1, fields={"n": 99})
    refused(client, replay, 409, "entry-bad-seq", "bad_seq")


def test_reordered_entries_are_refused_until_their_turn(client: AppClient, demo: Actor) -> None:
    one, two = demo.entry(), demo.entry()
    refused(client, two, 409, "entry-bad-seq", "bad_seq")
    assert client.post("/entries", content=one).status_code == 201
    assert client.post("/entries", content=two).status_code == 201


def test_a_mis_signed_entry_is_forbidden(client: AppClient, demo: Actor) -> None:
    impostor = Actor(Ed25519Signer.generate(demo.signer.name), demo.clock_ms)
    refused(client, impostor.entry(), 403, "entry-bad-signature", "bad_signature")
    data = demo.entry()
    flipped = data.replace(b'"n":1', b'"n":7')
    refused(client, flipped, 403, "entry-bad-signature", "bad_signature")


def test_unknown_revoked_and_wrong_role_keys_are_forbidden(
    client: AppClient, served_centre: Centre, clock: list[int]
) -> None:
    stranger = Actor(Ed25519Signer.generate(f"{ORIGIN}/demo/stranger"), clock[0])
    refused(client, stranger.entry(), 403, "entry-unknown-key", "unknown_key")
    tablet = make_actor(served_centre, "tablet/T1", TABLET, clock[0])
    refused(client, tablet.entry("demo.event"), 403, "entry-role-forbidden", "role_forbidden")
    gone = make_actor(served_centre, "demo/gone", clock_ms=clock[0])
    served_centre.revoke_key("demo/gone", "lost")
    refused(client, gone.entry(), 403, "entry-revoked-key", "revoked_key")


def test_an_expired_or_future_entry_is_refused_for_clock_skew(
    client: AppClient, demo: Actor
) -> None:
    stale = demo.entry(ts=demo.clock_ms - 3_600_000)
    refused(client, stale, 422, "entry-clock-skew", "clock_skew")
    demo.seq -= 1
    future = demo.entry(ts=demo.clock_ms + 3_600_000)
    refused(client, future, 422, "entry-clock-skew", "clock_skew")


def test_malformed_and_off_schema_entries_are_refused(client: AppClient, demo: Actor) -> None:
    data = demo.entry()
    demo.seq -= 1
    refused(client, b"", 400, "entry-malformed", "malformed_note")
    refused(client, b"not a note\n", 400, "entry-malformed", "malformed_note")
    refused(client, data[:-10], 400, "entry-malformed", "malformed_note")
    refused(client, data + b"trailing", 400, "entry-malformed")
    refused(client, b"\xff\xfe" + data, 400, "entry-malformed")
    refused(client, demo.entry(fields={"n": -1}), 422, "entry-schema", "schema")
    demo.seq -= 1
    refused(client, demo.entry(log="exam.example/c/other"), 422, "entry-wrong-log", "wrong_log")
    demo.seq -= 1
    refused(client, demo.entry("no.such.type", {}), 422, "entry-schema", "unknown_type")


def test_an_oversized_entry_is_refused_before_it_is_read(client: AppClient) -> None:
    refused(client, b"x" * 65_536, 413, "body-too-large")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(70):
            yield b"y" * 1024

    before = size(client)
    answer = client.post("/entries", content=chunks())  # chunked: no Content-Length
    assert answer.status_code == 413
    assert answer.json()["type"] == PROBLEM + "body-too-large"
    assert size(client) == before


def test_an_entry_naming_a_blob_needs_the_blob_first(
    client: AppClient, day: ServedDay, tokens: TokenStore
) -> None:
    candidate = day.first()
    exam = exam_id(ds.SESSION, candidate)
    day.start(candidate, exam)
    unit = ds.unit(day.assignment[candidate])
    chunk = b"frames" * 100
    sha = hashlib.sha256(chunk).hexdigest()
    fields = {
        "exam": exam,
        "chunk": 0,
        "first_frame": 0,
        "frames": 10,
        "sha256": sha,
        "length": len(chunk),
    }
    data = day.signed("telemetry.chunk", unit, ds.START + 3_000, **fields)
    answer = refused(client, data, 409, "entry-blob-missing")
    assert answer.json()["blobs"] == [sha]
    token, _ = tokens.issue("vehicle", unit)
    assert client.put(f"/blobs/{sha}", content=chunk, headers=bearer(token)).status_code == 201
    assert client.post("/entries", content=data).status_code == 201


def test_entries_of_several_actors_interleave(
    client: AppClient, served_centre: Centre, clock: list[int]
) -> None:
    actors = [make_actor(served_centre, f"demo/m{i}", clock_ms=clock[0]) for i in range(3)]
    indices = []
    for _ in range(4):
        for actor in actors:
            answer = client.post("/entries", content=actor.entry())
            assert answer.status_code == 201
            indices.append(answer.json()["index"])
    assert indices == sorted(indices)
    assert len(set(indices)) == 12


ROOM = {
    "room": "field-7",
    "kind": "field",
    "jammers": [{"device": "field-7/jammer", "bands": [1, 2]}],
    "detectors": [],
    "canaries": [],
    "max_age_ms": 2000,
}


def test_a_room_over_http_needs_a_registered_gateway_key(
    client: AppClient, served_centre: Centre, clock: list[int]
) -> None:
    """The day refuses, as ``examctl admin room`` does, a room whose gateway is not a
    registered, unrevoked gateway key: 422 with the code ``room_gateway``, nothing logged."""
    admin = Actor(served_centre.admin(), clock[0])
    unknown = f"{ORIGIN}/gateway/nobody"
    tablet = served_centre.register_key("tablet/T7", TABLET).name
    revoked = served_centre.register_key("gateway/old", GATEWAY).name
    served_centre.revoke_key("gateway/old", "replaced")
    admin.seq = served_centre.next_seq(admin.signer.name) - 1
    for gateway, why in (
        (unknown, f"gateway {unknown} is not a registered key"),
        (tablet, f"gateway {tablet} is a tablet key, not a gateway key"),
        (revoked, f"gateway {revoked} is a revoked key"),
    ):
        data = admin.entry("room.configured", ROOM | {"gateway": gateway})
        answer = refused(client, data, 422, "day/exam-day-refused", "room_gateway")
        assert answer.json()["detail"].startswith(why)
        admin.seq -= 1  # refused: the seq is not used up
    gateway = served_centre.register_key("gateway/g7", GATEWAY).name
    admin.seq = served_centre.next_seq(admin.signer.name) - 1
    data = admin.entry("room.configured", ROOM | {"gateway": gateway})
    accepted = client.post("/entries", content=data)
    assert accepted.status_code == 201, accepted.text


def test_the_admin_signs_key_registrations_over_http(
    client: AppClient, served_centre: Centre, clock: list[int]
) -> None:
    admin = served_centre.admin()
    device = Ed25519Signer.generate(f"{ORIGIN}/tablet/T9")
    seq = served_centre.next_seq(admin.name)
    event = {
        "v": 1,
        "log": ORIGIN,
        "type": "key.registered",
        "ts": clock[0],
        "actor": admin.name,
        "seq": seq,
        "name": device.name,
        "vkey": device.vkey,
        "role": "tablet",
    }
    data = make_entry(admin, event)
    assert client.post("/entries", content=data).status_code == 201
    assert client.post("/entries", content=data).status_code == 200
    event["seq"] = seq + 1
    refused(client, make_entry(admin, event), 409, "entry-key-exists", "key_exists")


@pytest.mark.parametrize("served_centre", [0, 1], ids=["parsed-here", "workers"], indirect=True)
def test_a_bundle_appends_in_order_and_answers_each_entry(client: AppClient, demo: Actor) -> None:
    start = size(client)
    first, second, third = demo.entry(), demo.entry(), demo.entry()
    skipped = demo.entry()  # seq 4 is never sent: the one after it is out of order
    late = demo.entry()
    bundle = encode_entry_bundle([first, second, b"junk\n", third, late])
    answer = client.post("/entries/bundle", content=bundle)
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["index"] for r in results[:2]] == [start, start + 1]
    assert results[2]["problem"]["type"] == PROBLEM + "entry-malformed"
    assert results[3]["index"] == start + 2
    assert results[4]["problem"]["type"] == PROBLEM + "entry-bad-seq"
    assert size(client) == start + 3
    # The same bundle again (an answer lost): the same indices, nothing new.
    again = client.post("/entries/bundle", content=bundle).json()["results"]
    assert [(r["index"], r["duplicate"]) for r in again if r["index"] is not None] == [
        (start, True),
        (start + 1, True),
        (start + 2, True),
    ]
    assert size(client) == start + 3
    assert client.post("/entries/bundle", content=encode_entry_bundle([skipped, late])).json()[
        "results"
    ] == [
        {"index": start + 3, "duplicate": False, "problem": None},
        {"index": start + 4, "duplicate": False, "problem": None},
    ]


@pytest.mark.parametrize("body", [b"", b"\x00", b"\x00\x05abc", b"\x00\x00", b"\x00\x01a" * 257])
def test_a_body_that_is_not_a_bundle_is_refused_whole(client: AppClient, body: bytes) -> None:
    before = size(client)
    answer = client.post("/entries/bundle", content=body)
    assert answer.status_code == 400
    assert answer.json()["type"] == PROBLEM + "bundle-malformed"
    assert size(client) == before
