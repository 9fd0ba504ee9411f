"""Durable file writes: after a power cut a file is there whole, or not at all.

The centre writes few files, but each matters: a key file, ``centre.json``, every blob of
evidence, every file of an exported bundle.  ``write(2)`` and ``rename(2)`` only reach the page
cache, so each of these needs the same steps — write to a temporary name in the same folder,
``fsync`` the file, move it into place, ``fsync`` the folder so that the new name survives too —
and this module is the one place that takes them:

- ``write_new``: create a file that must not exist yet (keys, the centre's configuration);
- ``replace_atomically``: create or replace a file (a blob, a tile);
- ``write_files``: a tree of files under one folder (an exported bundle), each atomically.

A write that fails leaves no file behind, neither under the new name nor under a temporary one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from exam_core.errors import StoreError

__all__ = ["fsync_dir", "replace_atomically", "write_files", "write_new"]

TEMP_PREFIX = ".tmp-"
"""Temporary files start with this; readers of a store skip them (``BlobStore.digests``)."""
DEFAULT_MODE = 0o644
PRIVATE_MODE = 0o600


def fsync_dir(folder: Path) -> None:
    """Flush ``folder``'s entries (new or renamed names) to the disk.

    Raises:
        OSError: the folder cannot be opened or synced.
    """
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(folder: Path, data: bytes, mode: int) -> Path:
    """A new file in ``folder`` under a temporary name, holding ``data`` on the disk.

    The file is created with ``mode`` (less the umask), so a private file is never readable by
    others, not even for an instant, and then given exactly ``mode`` whatever the umask.
    Nothing is left if the write fails.
    """
    temp = folder / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:  # a buffered write retries short writes
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def write_new(path: Path, data: bytes, *, mode: int = DEFAULT_MODE) -> None:
    """Create ``path`` holding ``data``, durably; never replace an existing file.

    The data is written and synced under a temporary name, then linked to ``path`` (a link,
    unlike a rename, refuses an existing name), so ``path`` never holds a partial file, even
    after a crash.  The file gets exactly ``mode`` (``PRIVATE_MODE`` for secrets), set as it
    is created.

    Raises:
        FileExistsError: ``path`` exists (a file, a folder or a symlink, even a dangling one).
        OSError: the folder does not exist, or the file cannot be written or synced.
    """
    temp = _write_temp(path.parent, data, mode)
    try:
        os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def _replace(path: Path, data: bytes, mode: int) -> None:
    temp = _write_temp(path.parent, data, mode)
    try:
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def replace_atomically(path: Path, data: bytes, *, mode: int = PRIVATE_MODE) -> None:
    """Create or replace ``path`` with ``data``, durably: a reader sees the old file or the new
    one, never a mix, and after a crash the old or the new one is there whole.

    Raises:
        OSError: the folder does not exist, ``path`` is a folder, or the file cannot be
            written or synced (the old file, if any, is then left as it was).
    """
    _replace(path, data, mode)
    fsync_dir(path.parent)


def write_files(root: Path, files: Mapping[str, bytes]) -> None:
    """Write ``files`` (relative path → bytes) under ``root``, each atomically, creating folders
    as needed; then sync every folder written into once, so the whole tree is on the disk.

    Raises:
        ValueError: a path is absolute, empty, or has an empty, ``.`` or ``..`` part; nothing
            is written.
        StoreError: a file or folder cannot be written.
    """
    for relative in files:
        if {"", ".", ".."} & set(relative.split("/")):
            raise ValueError(f"{relative!r} is not a relative path inside the bundle")
    folders: set[Path] = set()
    for relative, data in files.items():
        target = root / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            _replace(target, data, PRIVATE_MODE)
        except OSError as e:
            raise StoreError(f"cannot write {relative}: {e.strerror}") from e
        folder = target.parent
        while folder != root and folder not in folders:  # a new folder needs its parent synced
            folders.add(folder)
            folder = folder.parent
        folders.add(root)
    for folder in sorted(folders):
        try:
            fsync_dir(folder)
        except OSError as e:
            raise StoreError(f"cannot sync {folder}: {e.strerror}") from e
