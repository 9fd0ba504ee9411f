"""Blobs by content hash, request bounds, and the problem document of every kind of failure."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from api.http.problems import PROBLEMS, Problem, problem_of
from exam_core.centre.centre import Centre
from exam_core.centre.tokens import TokenStore
from exam_core.errors import EntryError
from tests.api.http.conftest import SMALL_LIMITS, AppClient, bearer

PROBLEM = "urn:exam-integrity:problem:"


@pytest.fixture
def writer(tokens: TokenStore) -> dict[str, str]:
    return bearer(tokens.issue("vehicle", "vehicle/V1")[0])


@pytest.fixture
def reader(tokens: TokenStore) -> dict[str, str]:
    return bearer(tokens.issue("scorer", "scorer/S1")[0])


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_blob_is_stored_once_and_read_back(
    client: AppClient, served_centre: Centre, writer: dict[str, str], reader: dict[str, str]
) -> None:
    data = b"\x00\x01frames" * 50
    first = client.put(f"/blobs/{sha(data)}", content=data, headers=writer)
    assert first.status_code == 201
    assert first.json() == {"sha256": sha(data), "length": len(data), "created": True}
    again = client.put(f"/blobs/{sha(data)}", content=data, headers=writer)
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert served_centre.blobs.digests() == [sha(data)]
    answer = client.get(f"/blobs/{sha(data)}", headers=reader)
    assert answer.content == data
    assert answer.headers["content-type"] == "application/octet-stream"


def test_a_blob_that_does_not_match_its_hash_is_refused(
    client: AppClient, served_centre: Centre, writer: dict[str, str]
) -> None:
    answer = client.put(f"/blobs/{sha(b'a')}", content=b"b", headers=writer)
    assert answer.status_code == 422
    assert answer.json()["type"] == PROBLEM + "blob-hash-mismatch"
    assert served_centre.blobs.digests() == []


@pytest.mark.parametrize(
    "name", ["ABCDEF" + "0" * 58, "0" * 63, "0" * 65, "g" * 64, "..%2F..%2Fcentre.json"]
)
def test_a_blob_name_that_is_not_a_sha256_is_refused(
    client: AppClient, writer: dict[str, str], name: str
) -> None:
    answer = client.put(f"/blobs/{name}", content=b"x", headers=writer)
    assert answer.status_code in (404, 422)
    assert answer.headers["content-type"] == "application/problem+json"


def test_an_oversized_blob_is_refused_whether_declared_or_streamed(
    client: AppClient, served_centre: Centre, writer: dict[str, str]
) -> None:
    big = b"z" * (SMALL_LIMITS.max_blob_bytes + 1)
    answer = client.put(f"/blobs/{sha(big)}", content=big, headers=writer)
    assert answer.status_code == 413
    assert answer.json()["type"] == PROBLEM + "body-too-large"

    async def stream() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"z" * 1024

    answer = client.put(f"/blobs/{sha(b'z' * 5120)}", content=stream(), headers=writer)
    assert answer.status_code == 413
    assert served_centre.blobs.digests() == []
    exact = b"q" * SMALL_LIMITS.max_blob_bytes
    assert client.put(f"/blobs/{sha(exact)}", content=exact, headers=writer).status_code == 201


def test_a_blob_the_store_cannot_write_is_503_and_stored_on_the_retry(
    client: AppClient, served_centre: Centre, writer: dict[str, str], reader: dict[str, str]
) -> None:
    # The store's OSError was a 500, which no client retries: the in-car unit's chunk was lost.
    data = b"a telemetry chunk the disk cannot take yet"
    folder = served_centre.blobs.path(sha(data)).parent
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_bytes(b"not a folder")  # the store cannot make the blob's folder
    answer = client.put(f"/blobs/{sha(data)}", content=data, headers=writer)
    assert answer.status_code == 503, answer.text
    assert answer.json()["type"] == PROBLEM + "store-unavailable"
    assert answer.headers["Retry-After"] == "1"
    assert not served_centre.blobs.has(sha(data))
    folder.unlink()
    assert client.put(f"/blobs/{sha(data)}", content=data, headers=writer).status_code == 201
    assert client.get(f"/blobs/{sha(data)}", headers=reader).content == data


def test_a_missing_blob_is_404(client: AppClient, reader: dict[str, str]) -> None:
    answer = client.get(f"/blobs/{sha(b'never')}", headers=reader)
    assert answer.status_code == 404
    assert answer.json()["type"] == PROBLEM + "not-found"


def test_headers_too_many_or_too_large_are_431(client: AppClient) -> None:
    answer = client.get("/health", headers={"X-Padding": "p" * 9000})
    assert answer.status_code == 431
    assert answer.json()["type"] == PROBLEM + "headers-too-large"
    many = {f"X-H{i}": "1" for i in range(80)}
    assert client.get("/health", headers=many).status_code == 431


def test_a_path_or_query_too_long_is_414(client: AppClient) -> None:
    for target in ("/tile/0/" + "x123/" * 500 + "123", "/seq?actor=" + "a" * 3000):
        answer = client.get(target)
        assert answer.status_code == 414
        assert answer.json()["type"] == PROBLEM + "uri-too-long"
    assert client.get("/seq", params={"actor": "a" * 512}).status_code == 200


@pytest.mark.parametrize(
    "declared",
    [
        b"3, 3",  # two values: a request-smuggling shape
        "\u00b3".encode("latin-1"),  # a digit to ``str.isdigit``, not to ``int``: was a 500
    ],
)
def test_a_malformed_content_length_is_400(client: AppClient, declared: bytes) -> None:
    answer = client.post("/entries", content=b"abc", headers={b"Content-Length": declared})
    assert answer.status_code == 400
    assert answer.json()["type"] == PROBLEM + "bad-request"
    assert answer.json()["detail"] == "Content-Length must be one decimal number"


def test_a_length_of_thousands_of_digits_is_too_large_and_leading_zeros_are_a_length(
    client: AppClient,
) -> None:
    """The monitoring centre's rule too (``api.request_body``): 5,000 digits declare a body
    over any bound, unread; zeros before a length change nothing."""
    answer = client.post("/entries", content=b"abc", headers={b"Content-Length": b"9" * 5000})
    assert answer.status_code == 413
    assert answer.json()["type"] == PROBLEM + "body-too-large"
    answer = client.post("/entries", content=b"abc", headers={b"Content-Length": b"0" * 40 + b"3"})
    assert answer.status_code == 400  # read whole, then refused as an entry
    assert answer.json()["type"] == PROBLEM + "entry-malformed"


def test_unknown_paths_and_methods_are_problems(client: AppClient) -> None:
    assert client.get("/nowhere").json()["type"] == PROBLEM + "not-found"
    answer = client.delete("/checkpoint")
    assert answer.status_code == 405
    assert answer.json()["type"] == PROBLEM + "method-not-allowed"
    assert "allow" in answer.headers


def test_an_unexpected_error_is_logged_and_answered_without_a_traceback(
    app: FastAPI, client: AppClient, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise ZeroDivisionError("secret internals")

    with caplog.at_level(logging.ERROR, "exam_integrity.http"):
        answer = client.get("/boom")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == PROBLEM + "internal-error"
    assert "secret internals" not in answer.text
    assert "Traceback" not in answer.text
    assert "ZeroDivisionError" in caplog.text


def test_every_problem_type_is_unique_and_stable() -> None:
    assert len({t.uri for t in PROBLEMS.values()}) == len(PROBLEMS)
    assert all(400 <= t.status < 600 for t in PROBLEMS.values())
    refusal = problem_of(EntryError("bad_seq", "seq of a is 3, expected 2"))
    assert (refusal.type.name, refusal.extra) == ("entry-bad-seq", {"code": "bad_seq"})
    assert problem_of(EntryError("some_new_code", "x")).type.name == "entry-refused"
    with pytest.raises(KeyError):
        Problem("no-such-problem", "x")


def test_openapi_is_published_and_names_the_problem_schema(client: AppClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "/entries" in document["paths"]
    assert "ProblemDocument" in document["components"]["schemas"]
    assert "HTTPBearer" in document["components"]["securitySchemes"]
