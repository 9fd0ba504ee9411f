"""Files that survive a power cut whole: written, flushed, and named in a flushed directory.

Why it exists: the blob store, the bundle export, the centre's configuration and its snapshot
all write files that must be either absent or complete after a crash.  A file's data reaches
the disk only with ``fsync``, and its *name* only when its folder is synced too; a file that
replaces another is written under a temporary name first and renamed over it, which POSIX
makes atomic.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def fsync_dir(folder: Path) -> None:
    """Flush ``folder``'s entries (new or renamed names) to the disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def write_new(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Create ``path`` holding ``data``, durably; an existing file is never overwritten.

    Raises:
        FileExistsError: ``path`` exists already.
        OSError: the file cannot be created or written (a partial file is removed).
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        _write_all(fd, data)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)
    fsync_dir(path.parent)


def replace_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Make ``path`` hold ``data``: readers see the old file or the new one, never a mix.

    The data goes to a temporary file beside ``path`` (so several writers never share one),
    is flushed, and the temporary file is renamed over ``path``; then the folder is flushed.

    Raises:
        OSError: the file cannot be written or renamed (``path`` keeps its old contents).
    """
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        _write_all(fd, data)
        os.close(fd)
        fd = -1
        os.replace(temporary, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    fsync_dir(path.parent)
