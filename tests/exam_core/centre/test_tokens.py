"""Bearer tokens: shown once, stored as a hash, refused when malformed, unknown or revoked."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from exam_core.centre.store import LogStore
from exam_core.centre.tokens import TokenStore
from exam_core.errors import StoreError, TokenError


@pytest.fixture
def tokens(engine: Engine) -> TokenStore:
    LogStore.open(engine)  # migrates
    clock = iter(range(1_000, 10_000_000, 1_000))
    return TokenStore(engine, clock_ms=lambda: next(clock))


def test_a_token_authenticates_as_its_role_and_actor(tokens: TokenStore) -> None:
    token, record = tokens.issue("tablet", "exam.example/c/1/tablet/T1")
    assert token.startswith(f"eit_{record.token_id}_")
    assert tokens.authenticate(token) == record
    assert (record.role, record.actor, record.revoked) == (
        "tablet",
        "exam.example/c/1/tablet/T1",
        False,
    )


def test_the_database_holds_no_usable_token(tokens: TokenStore, engine: Engine) -> None:
    token, _ = tokens.issue("admin", "boss")
    secret = token.rsplit("_", 1)[1]
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM api_tokens")).all()
    dump = repr(rows).encode()
    assert secret.encode() not in dump
    assert len(rows) == 1


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "eit_",
        "Bearer eit_0123456789abcdef_" + "A" * 43,
        "eit_0123456789ABCDEF_" + "A" * 43,
        "eit_0123456789abcdef_" + "A" * 42,
        "eit_0123456789abcdef_" + "A" * 44,
        "eit_0123456789abcdef_" + "A" * 42 + "=",
        "eit_0123456789abcdef_" + "A" * 43 + "\n",
    ],
)
def test_malformed_tokens_are_refused(tokens: TokenStore, bad: str) -> None:
    with pytest.raises(TokenError, match="malformed"):
        tokens.authenticate(bad)


def test_unknown_ids_and_wrong_secrets_are_refused_alike(tokens: TokenStore) -> None:
    token, record = tokens.issue("auditor", "inspector")
    wrong = f"eit_{record.token_id}_{'x' * 43}"
    for refused in (wrong, "eit_ffffffffffffffff_" + token[-43:]):
        with pytest.raises(TokenError, match="not known"):
            tokens.authenticate(refused)


def test_revocation_is_immediate_dated_once_and_kept(tokens: TokenStore) -> None:
    token, record = tokens.issue("auditor", "inspector")
    revoked = tokens.revoke(record.token_id)
    assert revoked is not None
    assert revoked.revoked_ms is not None
    with pytest.raises(TokenError, match="revoked"):
        tokens.authenticate(token)
    again = tokens.revoke(record.token_id)
    assert again is not None
    assert again.revoked_ms == revoked.revoked_ms
    assert tokens.revoke("00000000000000aa") is None
    with pytest.raises(TokenError, match="not a token id"):
        tokens.revoke("../../etc")
    assert [t.token_id for t in tokens.list()] == [record.token_id]


def test_revoking_an_actor_revokes_only_its_live_tokens(tokens: TokenStore) -> None:
    first, _ = tokens.issue("tablet", "tablet/T1")
    second, _ = tokens.issue("tablet", "tablet/T1")
    other, _ = tokens.issue("tablet", "tablet/T2")
    assert len(tokens.revoke_actor("tablet/T1")) == 2
    assert tokens.revoke_actor("tablet/T1") == []
    for gone in (first, second):
        with pytest.raises(TokenError):
            tokens.authenticate(gone)
    assert tokens.authenticate(other).actor == "tablet/T2"


def test_a_role_and_an_actor_are_required(tokens: TokenStore) -> None:
    for role, actor in (("", "a"), ("admin", ""), ("x" * 65, "a"), ("admin", "a" * 513)):
        with pytest.raises(StoreError):
            tokens.issue(role, actor)
