"""The one reader of files a user hands to a command: bounded, regular files only.

Every file ``examctl`` reads on a user's say-so (a centre's ``centre.json`` and key files, a
published allocation, an exam directory, a gateway configuration, an emulator scenario, a
pinned policy) comes through ``read_input_file``, so that none of them can make a command hang
or grow without bound; a file too large to hold in memory (an exam's video) is an
``InputFile``, opened by the same rules and read in ranges:

- the file is opened non-blocking, so a FIFO does not wait for a writer, and refused unless
  it is a regular file (a FIFO, a character device such as ``/dev/zero``, a socket or a
  directory is named as such);
- its size is checked before reading and the read stops one byte past the limit, so a file
  that grows while it is read is refused too;
- every failure is an ``InputFileError`` that names the file and says what is wrong.

``read_json_file`` adds the strict parse of ``exam_core.log.canonical.parse_strict_json``
(integers only, within ±(2^53−1), no duplicate keys, bounded nesting).  The audit's bundle
reader (``exam_core.audit.reader``) applies the same rules but reports findings instead.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from exam_core.errors import CanonicalError, InputFileError
from exam_core.log.canonical import parse_strict_json

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_READ_STEP = 1 << 20


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _open_input_file(
    path: Path | str,
    *,
    limit: int,
    what: str,
    check_stat: Callable[[os.stat_result], None] | None = None,
) -> tuple[int, os.stat_result]:
    """A read-only descriptor of the regular file ``path`` of at most ``limit`` bytes, and its
    status when opened: the checks every input file passes before a byte of it is read.

    Raises:
        InputFileError: the file cannot be opened, is not a regular file, or is over ``limit``.
        RuntimeError: ``limit`` is negative (a caller bug).
    """
    if limit < 0:
        raise RuntimeError("a size limit is never negative")
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as e:
        raise InputFileError(f"cannot read {what} {path}: {e.strerror or e}") from e
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError(
                f"{what} {path} is {_kind(info.st_mode)}; a regular file is expected"
            )
        if info.st_size > limit:
            raise InputFileError(
                f"{what} {path} is {info.st_size} bytes; the limit is {limit} bytes"
            )
        if check_stat is not None:
            check_stat(info)
    except OSError as e:
        os.close(fd)
        raise InputFileError(f"cannot read {what} {path}: {e.strerror or e}") from e
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def read_input_file(
    path: Path | str,
    *,
    limit: int,
    what: str,
    check_stat: Callable[[os.stat_result], None] | None = None,
) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    ``what`` names the file in errors ("gateway configuration"); ``check_stat``, when given,
    sees the opened file's status before it is read and raises to refuse it (a key file that
    others can read).

    Raises:
        InputFileError: the file cannot be opened, is not a regular file, or holds more than
            ``limit`` bytes.
        RuntimeError: ``limit`` is negative (a caller bug).
    """
    fd, _ = _open_input_file(path, limit=limit, what=what, check_stat=check_stat)
    try:
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(_READ_STEP, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        raise InputFileError(f"cannot read {what} {path}: {e.strerror or e}") from e
    finally:
        os.close(fd)
    if size > limit:
        raise InputFileError(f"{what} {path} grew beyond the limit of {limit} bytes while read")
    return b"".join(chunks)


class InputFile:
    """A regular input file kept open and read in ranges, for a file too large to read whole
    (an exam's video, up to gigabytes): the checks of ``read_input_file`` when opened, then
    only the ranges asked for, each read where it lies (``os.pread``).

    The size is the one the file had when opened, and no read goes past it.  A file that
    shrinks under a read, or whose size is no longer the one it was opened with when the reader
    asks (``check_unchanged``), is refused: the answer would be about bytes that are not the
    file's.  Use it as a context manager; it closes the descriptor.
    """

    def __init__(self, path: Path | str, *, limit: int, what: str) -> None:
        """Open ``path`` (``read_input_file``'s rules and messages).

        Raises:
            InputFileError: as ``read_input_file``.
        """
        self._path = path
        self._what = what
        self._fd: int | None
        self._fd, info = _open_input_file(path, limit=limit, what=what)
        self.size = info.st_size

    def __enter__(self) -> InputFile:
        return self

    def __exit__(self, *_: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _descriptor(self) -> int:
        if self._fd is None:
            raise RuntimeError(f"{self._what} {self._path} is read after it was closed")
        return self._fd

    def _changed(self, now: int) -> InputFileError:
        return InputFileError(
            f"{self._what} {self._path} changed size while it was read "
            f"({self.size} bytes when opened, {now} now); nothing of it was verified"
        )

    def read(self, offset: int, size: int) -> bytes:
        """The ``size`` bytes at ``offset``, which must lie within the size the file was
        opened with (the caller bounds ``size``: it is what the read costs in memory).

        Raises:
            InputFileError: the file is shorter now, or cannot be read.
            RuntimeError: the range is outside the file, or the file is closed (a caller bug).
        """
        if offset < 0 or size < 0 or offset + size > self.size:
            raise RuntimeError(f"bytes {offset}..{offset + size} are outside {self.size}")
        fd = self._descriptor()
        parts: list[bytes] = []
        done = 0
        try:
            while done < size:
                part = os.pread(fd, size - done, offset + done)
                if not part:
                    raise self._changed(os.fstat(fd).st_size)
                parts.append(part)
                done += len(part)
        except OSError as e:
            raise InputFileError(f"cannot read {self._what} {self._path}: {e.strerror or e}") from e
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def check_unchanged(self) -> None:
        """Refuse the file if its size is not the one it was opened with.

        Raises:
            InputFileError: it grew or shrank, or cannot be examined.
        """
        try:
            now = os.fstat(self._descriptor()).st_size
        except OSError as e:
            raise InputFileError(f"cannot read {self._what} {self._path}: {e.strerror or e}") from e
        if now != self.size:
            raise self._changed(now)


def read_json_file(path: Path | str, *, limit: int, what: str) -> Any:
    """The value of the strict, integer-only JSON file ``path`` (see ``read_input_file``).

    Raises:
        InputFileError: the file cannot be read within ``limit``, or is not strict JSON (the
            message says where and why).
    """
    data = read_input_file(path, limit=limit, what=what)
    try:
        return parse_strict_json(data)
    except CanonicalError as e:
        raise InputFileError(f"{what} {path}: {e}") from e
