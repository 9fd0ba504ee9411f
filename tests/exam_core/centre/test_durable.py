"""Durable writes on a real filesystem: whole files or none, and no overwriting a new file."""

from __future__ import annotations

import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from exam_core.centre.durable import (
    PRIVATE_MODE,
    TEMP_PREFIX,
    replace_atomically,
    write_files,
    write_new,
)
from exam_core.errors import StoreError

FILE_SIZE_LIMIT = 4096
"""The file size the failing writer may reach before the kernel refuses (RLIMIT_FSIZE)."""


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_write_new_creates_the_file_with_its_mode(tmp_path: Path) -> None:
    write_new(tmp_path / "centre.json", b"{}\n")
    write_new(tmp_path / "key.pem", b"secret", mode=PRIVATE_MODE)
    assert (tmp_path / "centre.json").read_bytes() == b"{}\n"
    assert stat.S_IMODE((tmp_path / "centre.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "key.pem").stat().st_mode) == 0o600
    assert _names(tmp_path) == ["centre.json", "key.pem"]


def test_write_new_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "key.pem"
    write_new(target, b"first")
    with pytest.raises(FileExistsError):
        write_new(target, b"second")
    assert target.read_bytes() == b"first"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileExistsError):
        write_new(dangling, b"through the link")
    assert not (tmp_path / "nowhere").exists()
    assert _names(tmp_path) == ["dangling", "key.pem"]  # no temporary file left


def test_write_into_a_missing_folder_fails_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_new(tmp_path / "absent" / "file", b"x")
    with pytest.raises(FileNotFoundError):
        replace_atomically(tmp_path / "absent" / "file", b"x")
    assert _names(tmp_path) == []


def test_replace_atomically_replaces_whole(tmp_path: Path) -> None:
    target = tmp_path / "tile"
    replace_atomically(target, b"old")
    replace_atomically(target, b"new contents")
    assert target.read_bytes() == b"new contents"
    assert stat.S_IMODE(target.stat().st_mode) == PRIVATE_MODE
    assert _names(tmp_path) == ["tile"]


def _write_beyond_the_size_limit(helper: str, target: Path) -> subprocess.CompletedProcess[str]:
    """Run ``helper`` on ``target`` in a process whose files may not grow past the limit: the
    kernel refuses the write half-way, a real failure rather than a simulated one."""
    script = textwrap.dedent(
        f"""
        import errno, resource, signal, sys
        from pathlib import Path
        from exam_core.centre import durable
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, ({FILE_SIZE_LIMIT}, hard))
        try:
            durable.{helper}(Path(sys.argv[1]), b"x" * {FILE_SIZE_LIMIT * 4})
        except OSError as e:
            print(errno.errorcode[e.errno])
        """
    )
    return subprocess.run(
        [sys.executable, "-c", script, str(target)], capture_output=True, text=True, check=True
    )


def test_a_failed_write_new_leaves_no_partial_file(tmp_path: Path) -> None:
    done = _write_beyond_the_size_limit("write_new", tmp_path / "key.pem")
    assert done.stdout.strip() == "EFBIG"
    assert _names(tmp_path) == []


def test_a_failed_replace_leaves_the_old_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "blob"
    replace_atomically(target, b"the old blob")
    done = _write_beyond_the_size_limit("replace_atomically", target)
    assert done.stdout.strip() == "EFBIG"
    assert target.read_bytes() == b"the old blob"
    assert _names(tmp_path) == ["blob"]


def test_write_files_writes_a_tree_and_refuses_paths_out_of_it(tmp_path: Path) -> None:
    write_files(tmp_path, {"policy": b"p", "tile/0/000": b"t", "tile/entries/000.p/3": b"e"})
    assert (tmp_path / "tile/entries/000.p/3").read_bytes() == b"e"
    assert _names(tmp_path) == ["policy", "tile"]
    for bad in ("../escape", "/abs", "tile//x", "./x", ""):
        with pytest.raises(ValueError):
            write_files(tmp_path, {"fine": b"", bad: b""})
    assert not (tmp_path / "fine").exists()  # nothing written when one path is bad
    (tmp_path / "blocked").write_bytes(b"")
    with pytest.raises(StoreError):
        write_files(tmp_path, {"blocked/file": b""})
    assert not any(p.name.startswith(TEMP_PREFIX) for p in tmp_path.rglob("*"))
