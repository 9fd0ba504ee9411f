"""All of a command's output directory or none of it: staged beside the target, then renamed.

``alloc demo`` and ``score simulate`` write several files that only mean something together (a
manifest without its proof, telemetry without the result).  They write them into a fresh
temporary directory next to the target and rename it into place once everything is written,
so a failure — a refused cap, a full disk, an interrupt — leaves no partial output, and a
reader never sees a half-written directory.

An existing target is never silently replaced: an empty directory is taken (it holds nothing to
lose), anything else is refused unless the caller passes ``force`` (``--force``), and even then
the old output is removed only after the new one is complete.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


class OutputDirError(Exception):
    """The output directory cannot be written: it exists (without ``--force``) or is unusable."""


def _is_empty_dir(path: Path) -> bool:
    if path.is_symlink() or not path.is_dir():
        return False
    with os.scandir(path) as entries:
        return next(entries, None) is None


def check_output_dir(target: Path, *, force: bool) -> None:
    """Refuse ``target`` before any work when it exists, holds something and ``force`` is off.

    Raises:
        OutputDirError: ``target`` exists and is not an empty directory, and ``force`` is off.
    """
    if os.path.lexists(target) and not force and not _is_empty_dir(target):
        raise OutputDirError(f"{target} already exists; give --force to replace it")


@contextlib.contextmanager
def staged_output_dir(target: Path, *, force: bool) -> Iterator[Path]:
    """A fresh directory beside ``target`` to write into; renamed to ``target`` on success.

    On an exception the staged directory is removed and ``target`` is left as it was.

    Raises:
        OutputDirError: ``target`` exists (see ``check_output_dir``), or its parent cannot be
            created or written.
    """
    check_output_dir(target, force=force)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.partial-"))
        # mkdtemp makes it private; the output is a directory like any other the user makes.
        staged.chmod(0o777 & ~_umask())
    except OSError as e:
        raise OutputDirError(f"cannot write beside {target}: {e.strerror or e}") from e
    try:
        yield staged
        _sync_tree(staged)
        _move_into_place(staged, target, force=force)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync_tree(root: Path) -> None:
    """fsync every file and directory written, so the rename publishes durable contents."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(Path(folder) / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _move_into_place(staged: Path, target: Path, *, force: bool) -> None:
    if not os.path.lexists(target) or _is_empty_dir(target):
        os.replace(staged, target)  # over nothing, or over an empty directory
        return
    check_output_dir(target, force=force)  # appeared while the command ran
    # The old output steps aside first and goes only once the new one is in place.
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
    os.replace(target, old / "previous")
    os.replace(staged, target)
    shutil.rmtree(old, ignore_errors=True)
