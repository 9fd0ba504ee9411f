"""Durable files: created once, or replaced whole; never a temporary file left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from exam_core.centre.durable import replace_atomically, write_new


def test_write_new_creates_once(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    write_new(path, b"first")
    assert path.read_bytes() == b"first"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    with pytest.raises(FileExistsError):
        write_new(path, b"second")
    assert path.read_bytes() == b"first"


def test_replace_atomically_replaces_whole_and_cleans_up(tmp_path: Path) -> None:
    path = tmp_path / "state"
    replace_atomically(path, b"one")
    replace_atomically(path, b"two" * 100_000, mode=0o600)
    assert path.read_bytes() == b"two" * 100_000
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["state"]


def test_replace_atomically_keeps_the_old_file_when_it_cannot_rename(tmp_path: Path) -> None:
    path = tmp_path / "state"
    path.mkdir()  # a directory where the file should go: the rename fails
    with pytest.raises(OSError):
        replace_atomically(path, b"new")
    assert path.is_dir()
    assert sorted(os.listdir(tmp_path)) == ["state"]
