"""The centres' tokens: kept owner-only, replaced whole, refused when unsafe or malformed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exam_core.errors import StoreError
from exam_core.monitoring.centre_tokens import TOKENS_FILE, read_tokens, store_token


def test_tokens_are_kept_owner_only_and_replaced(tmp_path: Path) -> None:
    assert read_tokens(tmp_path) == {}
    store_token(tmp_path, "exam.example/c/1", "tok-1")
    store_token(tmp_path, "exam.example/c/2", "tok-2")
    store_token(tmp_path, "exam.example/c/1", "tok-1b")
    path = tmp_path / TOKENS_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_tokens(tmp_path) == {"exam.example/c/1": "tok-1b", "exam.example/c/2": "tok-2"}
    assert [p.name for p in tmp_path.iterdir()] == [TOKENS_FILE]  # no temporary file left


@pytest.mark.parametrize("token", ["", "has space", "line\nbreak", "x" * 4097])
def test_a_malformed_token_is_refused_and_nothing_is_written(tmp_path: Path, token: str) -> None:
    with pytest.raises(StoreError, match="printable"):
        store_token(tmp_path, "exam.example/c/1", token)
    assert not (tmp_path / TOKENS_FILE).exists()


def test_a_tokens_file_readable_by_others_or_malformed_is_refused(tmp_path: Path) -> None:
    path = tmp_path / TOKENS_FILE
    path.write_text(json.dumps({"exam.example/c/1": "t"}))
    path.chmod(0o644)
    with pytest.raises(StoreError, match="readable by others"):
        read_tokens(tmp_path)
    path.chmod(0o600)
    path.write_text('["not", "an", "object"]')
    with pytest.raises(StoreError, match="origin"):
        read_tokens(tmp_path)
    path.write_text("{not json")
    with pytest.raises(StoreError, match="unreadable"):
        read_tokens(tmp_path)
