"""``examctl tokens``: make a token (printed once), list tokens, revoke by id or by actor."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.cli.main import main
from exam_core.centre.centre import Centre
from exam_core.centre.tokens import TokenStore
from exam_core.errors import TokenError

ORIGIN = "exam.example/c/370100-01"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    Centre.create(tmp_path / "centre", ORIGIN).close()
    return tmp_path / "centre"


def store(root: Path) -> TokenStore:
    centre = Centre.open(root)
    centre.close()  # the engine stays usable for reads after dispose
    return TokenStore(centre.store.engine)


def test_new_prints_the_token_once_and_it_works(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["tokens", "new", "--dir", str(root), "--role", "tablet", "--name", "tablet/T1"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert token.startswith("eit_")
    assert "shown only now" in err
    record = store(root).authenticate(token)
    assert (record.role, record.actor) == ("tablet", f"{ORIGIN}/tablet/T1")
    assert main(["tokens", "list", "--dir", str(root)]) == 0
    listing = capsys.readouterr().out
    assert record.token_id in listing
    assert token.rsplit("_", 1)[1] not in listing


def test_revoke_by_id_and_by_actor(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tokens = store(root)
    one, first = tokens.issue("auditor", f"{ORIGIN}/inspector/1")
    two, _ = tokens.issue("auditor", f"{ORIGIN}/inspector/2")
    assert main(["tokens", "revoke", "--dir", str(root), "--id", first.token_id]) == 0
    assert main(["tokens", "revoke", "--dir", str(root), "--name", "inspector/2"]) == 0
    out = capsys.readouterr().out
    assert out.count("revoked ") == 2
    for token in (one, two):
        with pytest.raises(TokenError):
            tokens.authenticate(token)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["revoke", "--id", "00000000000000aa"], "no token 00000000000000aa"),
        (["revoke", "--id", "nonsense"], "not a token id"),
        (["new", "--role", "admin", "--name", "bad name"], "invalid key name"),
    ],
)
def test_bad_requests_are_one_line_errors(
    root: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["tokens", args[0], "--dir", str(root), *args[1:]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("examctl: error:")
    assert message in err
    assert err.count("\n") == 1


def test_not_a_centre_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tokens", "list", "--dir", str(tmp_path)]) == 2
    assert "not a centre directory" in capsys.readouterr().err
