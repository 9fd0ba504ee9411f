"""The public log endpoints serve exactly what a C2SP tlog-tiles client expects, with no token.

The tiles and entry bundles served are compared with those that ``exam_core.log.tiles`` makes
from the entries (the audit bundle's writer), proofs are checked with the RFC 9162 verifiers,
and every path the tiles layout does not allow is a 404 problem.
"""

from __future__ import annotations

import base64

import pytest

from exam_core.centre.centre import Centre
from exam_core.log.checkpoint import verify_checkpoint
from exam_core.log.merkle import (
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from exam_core.log.note import ed25519_verifier_from_vkey
from exam_core.log.policy import parse_policy
from exam_core.log.tiles import bundle_files, decode_entry_bundle, tiles_for_size
from exam_core.log.tlog_proof import verify_receipt
from tests.api.http.conftest import Actor, AppClient

PROBLEM = "urn:exam-integrity:problem:"


def grow(client: AppClient, actor: Actor, count: int) -> None:
    for _ in range(count):
        assert client.post("/entries", content=actor.entry()).status_code == 201


def all_entries(client: AppClient) -> list[bytes]:
    size = client.get("/health").json()["published_size"]
    return [client.get(f"/entries/{i}").content for i in range(size)]


def test_checkpoint_vkey_and_policy_agree(client: AppClient, served_centre: Centre) -> None:
    vkey = client.get("/vkey").text.strip()
    assert vkey == served_centre.log_vkey
    note = client.get("/checkpoint")
    assert note.headers["content-type"].startswith("text/plain")
    checkpoint = verify_checkpoint(note.content, ed25519_verifier_from_vkey(vkey))
    assert checkpoint.origin == served_centre.origin
    policy = parse_policy(client.get("/policy").content)
    policy.verify_checkpoint(note.content)


def test_tiles_and_bundles_are_the_tlog_tiles_of_the_log(client: AppClient, demo: Actor) -> None:
    # 300 entries: a full level-0 tile, a partial one, a partial level-1 tile, two bundles.
    grow(client, demo, 298)
    entries = all_entries(client)
    assert len(entries) == 300
    expected = bundle_files(entries)
    paths = [t.path for t in tiles_for_size(300)]
    assert sorted(paths) == sorted(expected)
    for path in paths:
        answer = client.get("/" + path)
        assert answer.status_code == 200, path
        assert answer.content == expected[path], path
        assert answer.headers["content-type"] == "application/octet-stream"
        immutable = "immutable" in answer.headers["cache-control"]
        assert immutable == (".p/" not in path)
    # A partial tile narrower than the newest is a prefix of it, as tlog-tiles allows.
    assert client.get("/tile/0/001.p/3").content == expected["tile/0/001.p/44"][: 3 * 32]
    assert decode_entry_bundle(client.get("/tile/entries/001.p/2").content) == entries[256:258]


@pytest.mark.parametrize(
    "path",
    [
        "/tile/0/002",  # beyond the log
        "/tile/0/000.p/5",  # wider than the log (one entry: the genesis)
        "/tile/1/000.p/1",  # no level-1 hash before 256 entries
        "/tile/entries/001",
        "/tile/0/0",  # not three digits
        "/tile/0/x000/000",  # leading x000 group
        "/tile/0/000.p/0",
        "/tile/0/000.p/256",
        "/tile/0/000.p/007",
        "/tile/64/000",
        "/tile/-1/000",
        "/tile/entries/000.p/",
        "/tile/",
        "/tile/0/000/extra",
        "/tile/0/" + "x123/" * 7 + "123",  # more groups than any index has
        "/tile/entries/" + "x999/" * 6 + "999",  # a valid shape, beyond any log
    ],
)
def test_paths_outside_the_layout_are_404_problems(client: AppClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == PROBLEM + "not-found"


def test_inclusion_consistency_and_receipt_verify(client: AppClient, demo: Actor) -> None:
    grow(client, demo, 20)
    entries = all_entries(client)
    size = len(entries)
    root = verify_checkpoint(
        client.get("/checkpoint").content,
        ed25519_verifier_from_vkey(client.get("/vkey").text.strip()),
    ).root_hash
    for index in (0, 7, size - 1):
        proof = client.get("/proof/inclusion", params={"index": index}).json()
        assert proof["tree_size"] == size
        path = [base64.b64decode(h) for h in proof["hashes"]]
        verify_inclusion(leaf_hash(entries[index]), index, size, path, root)
        receipt = client.get(f"/receipt/{index}").content
        verify_receipt(receipt, entries[index], parse_policy(client.get("/policy").content))
    old = client.get("/proof/inclusion", params={"index": 2, "size": 5}).json()
    assert old["tree_size"] == 5
    proof = client.get("/proof/consistency", params={"from": 5, "to": size}).json()
    old_root = served_root(entries[:5])
    verify_consistency(5, size, [base64.b64decode(h) for h in proof["hashes"]], old_root, root)


def served_root(entries: list[bytes]) -> bytes:
    return root_from_leaf_hashes([leaf_hash(e) for e in entries])


@pytest.mark.parametrize(
    ("path", "params", "status", "name"),
    [
        ("/proof/inclusion", {"index": 3}, 404, "not-found"),
        ("/proof/inclusion", {"index": 0, "size": 99}, 404, "not-found"),
        ("/proof/inclusion", {"index": -1}, 422, "request-invalid"),
        ("/proof/inclusion", {"index": "x"}, 422, "request-invalid"),
        ("/proof/inclusion", {"index": 2**80}, 422, "request-invalid"),
        ("/proof/consistency", {"from": 2, "to": 1}, 404, "not-found"),
        ("/proof/consistency", {"from": 0, "to": 1}, 422, "request-invalid"),
        ("/proof/consistency", {"to": 1}, 422, "request-invalid"),
        ("/receipt/3", {}, 404, "not-found"),
        ("/entries/3", {}, 404, "not-found"),
        ("/entries/99999999999999999999999", {}, 422, "request-invalid"),
        ("/seq", {}, 422, "request-invalid"),
        ("/seq", {"actor": "a" * 513}, 422, "request-invalid"),
    ],
)
def test_bad_proof_requests_are_precise_problems(
    client: AppClient, path: str, params: dict[str, object], status: int, name: str
) -> None:
    answer = client.get(path, params=params)
    assert answer.status_code == status, answer.text
    assert answer.json()["type"] == PROBLEM + name


def test_next_seq_and_health(client: AppClient, demo: Actor) -> None:
    assert client.get("/seq", params={"actor": demo.signer.name}).json() == {
        "actor": demo.signer.name,
        "next_seq": 1,
    }
    grow(client, demo, 2)
    assert client.get("/seq", params={"actor": demo.signer.name}).json()["next_seq"] == 3
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert health["published_size"] == 4  # genesis, the demo key, two entries
