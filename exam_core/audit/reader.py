"""Reading an audit bundle (DESIGN §3.5) from disk into memory, and nothing else.

The audit itself (``exam_core.audit.check``) is pure: it takes bytes and returns findings, so it can
run anywhere and be tested without a filesystem.  This module is the one layer that touches the
disk.  A bundle comes from the party being audited, so it is hostile input: the reader follows
no symlink, reads no special file, refuses files larger than their format allows, and turns
every odd path into a finding rather than an exception.  Blobs are not read here at all: a
bundle may hold gigabytes of them, so each is a ``BlobFile`` that the audit reads in pieces
(hashing it) or, for a replayer, whole up to a bound the replayer sets.  Tiles and entry bundles
are not read here either: a year's log is a gigabyte of them, so ``Bundle.tiles`` and
``Bundle.entry_bundles`` read each file (by the same rules) when the audit reaches it and keep
nothing — the audit's memory does not depend on what the bundle holds.  Only a bundle that
cannot be read at all (no such directory, or a directory with nothing of the layout) raises
``BundleError``.
``directory_reader`` reads single tiles from such a directory by the same rules, for a client
that needs a few tiles rather than the whole bundle (a mirror, a proof check).

Layout (the contract shared with ``exam_core.centre.export`` and ``exam_core.log.tiles``)::

    checkpoint                      newest checkpoint note, possibly cosigned
    checkpoints/<12-digit ordinal>  every checkpoint seen, oldest first
    policy                          C2SP tlog-policy (log, witnesses, quorum, admin keys)
    tile/<L>/<N>[.p/<W>]            Merkle tiles
    tile/entries/<N>[.p/<W>]        entry bundles (uint16 big-endian length-prefixed)
    blobs/<sha256 hex>              evidence referenced by entries
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from exam_core.errors import BlobError, BundleError, CheckpointError
from exam_core.findings import ERROR, WARNING, Finding
from exam_core.log.tiles import (
    BLOBS_DIR,
    CHECKPOINT_FILE,
    CHECKPOINTS_DIR,
    ENTRY_BUNDLE_MAX_BYTES,
    POLICY_FILE,
    TILE_DIR,
    TILE_MAX_BYTES,
    TilePath,
    TileReader,
    parse_blob_name,
    parse_checkpoint_history_name,
    parse_tile_path,
)

__all__ = [
    "BlobFile",
    "Bundle",
    "BundleLimits",
    "DiskBlob",
    "MemoryBlob",
    "bundle_from_files",
    "directory_reader",
    "read_blob",
    "read_bundle",
]

_LAYOUT = frozenset({POLICY_FILE, CHECKPOINT_FILE, CHECKPOINTS_DIR, TILE_DIR, BLOBS_DIR})
PIECE_BYTES = 1 << 20
"""A blob is read in pieces of this size: what one blob costs in memory while it is hashed."""


class BlobFile(Protocol):
    """A blob of the bundle, not yet read: its size when it was found, and its content in
    pieces."""

    @property
    def size(self) -> int: ...

    def pieces(self) -> Iterator[bytes]:
        """The content, at most ``PIECE_BYTES`` at a time, never more than the reader's limit.

        Raises:
            BlobError: the blob is no longer a readable regular file, or grew past the limit.
        """
        ...


def read_blob(blob: BlobFile, max_bytes: int) -> bytes:
    """The whole content of ``blob``, which must be at most ``max_bytes`` long.

    Raises:
        BlobError: it is longer, or cannot be read.
    """
    if blob.size > max_bytes:
        raise BlobError(f"{blob.size} bytes; at most {max_bytes} are read")
    parts: list[bytes] = []
    read = 0
    for piece in blob.pieces():
        read += len(piece)
        if read > max_bytes:
            raise BlobError(f"grew beyond {max_bytes} bytes while it was read")
        parts.append(piece)
    return b"".join(parts)


@dataclass(frozen=True)
class DiskBlob:
    """A blob file on disk (under a bundle's root, or in a centre's store), opened anew with
    the reader's rules (no symlink, no FIFO, at most ``limit`` bytes) each time it is read."""

    path: Path
    size: int
    limit: int

    def pieces(self) -> Iterator[bytes]:
        fd, _ = _open_regular(self.path)
        try:
            with os.fdopen(fd, "rb", closefd=False) as f:
                read = 0
                while piece := f.read(PIECE_BYTES):
                    read += len(piece)
                    if read > self.limit:
                        raise BlobError(f"grew beyond {self.limit} bytes")
                    yield piece
        except OSError as e:
            raise BlobError(e.strerror or str(e)) from e
        finally:
            os.close(fd)


@dataclass(frozen=True)
class MemoryBlob:
    """A blob already in memory (a bundle given as files, a video uploaded to the centre, a
    test): in pieces like one on disk, and by range (``evidence.segment_match.Recording``)."""

    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def read(self, offset: int, size: int) -> bytes:
        return self.data[offset : offset + size]

    def pieces(self) -> Iterator[bytes]:
        view = memoryview(self.data)
        for start in range(0, len(view), PIECE_BYTES):
            yield bytes(view[start : start + PIECE_BYTES])


def _open_regular(path: Path) -> tuple[int, int]:
    """A read-only descriptor of ``path`` and the file's size when opened: never through a
    symlink, never blocking on a FIFO.

    Raises:
        BlobError: it cannot be opened, or is not a regular file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise BlobError(e.strerror or str(e)) from e
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise BlobError("not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd, status.st_size


def _read_up_to(fd: int, size: int, expected: int) -> bytes:
    """Up to ``size`` bytes of ``fd``, to its end; ``expected`` is the file's size when it was
    opened, which only sizes the reads: a file that grew or shrank since is read as it is.

    Plain ``os.read`` calls, each of a size close to what it will return: ``os.read`` allocates
    the size it is asked for before reading, so asking for an entry bundle's limit (16 MiB) to
    read a file of 80 KB mapped and unmapped that much memory for every file, 30–50 µs a file in
    the kernel, and an audit reads each entry bundle four times.

    Raises:
        OSError: a read failed.
    """
    parts: list[bytes] = []
    ask = expected + 1  # one byte more: a file that grew needs no second read to show it
    while size > 0:
        part = os.read(fd, min(size, ask))
        if not part:
            break
        parts.append(part)
        size -= len(part)
        ask = _READ_MORE
    return parts[0] if len(parts) == 1 else b"".join(parts)


_READ_MORE = 1 << 16
"""The size of each read after the first, which returns nothing unless the file grew."""


class _TileFiles(Mapping[TilePath, bytes]):
    """Tile or entry-bundle files under the bundle's root, found but not read: each is read
    (no symlink, regular file, within its limit) every time it is looked up.

    A file that can no longer be read as it was found raises ``BundleError``, which the audit
    reports as a finding: the bundle changed while it was audited.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._files: dict[TilePath, int] = {}

    def add(self, tile: TilePath, limit: int) -> None:
        self._files[tile] = limit

    def __getitem__(self, tile: TilePath) -> bytes:
        """The file's bytes, read now.

        Raises:
            KeyError: the bundle holds no such file.
            BundleError: the file is no longer a readable regular file within its limit.
        """
        limit = self._files[tile]
        try:
            fd, expected = _open_regular(self._root / tile.path)
        except BlobError as e:
            raise BundleError(f"{tile.path}: {e}") from e
        try:
            data = _read_up_to(fd, limit + 1, expected)
        except OSError as e:
            raise BundleError(f"{tile.path}: {e.strerror or e}") from e
        finally:
            os.close(fd)
        if len(data) > limit:
            raise BundleError(f"{tile.path}: grew beyond {limit} bytes")
        return data

    def __iter__(self) -> Iterator[TilePath]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def __contains__(self, tile: object) -> bool:
        return tile in self._files


@dataclass(frozen=True)
class BundleLimits:
    """Largest file of each kind the reader loads; anything larger is a finding, not a read."""

    note_bytes: int = 1 << 20
    """A checkpoint with its cosignatures, or the policy file."""
    blob_bytes: int = 256 << 20
    """One blob (a telemetry chunk, a photo, a video segment)."""


@dataclass(frozen=True)
class Bundle:
    """Every file of an audit bundle, sorted by role; ``problems`` are reading findings.

    ``checkpoints`` holds (relative path, note bytes) oldest first; ``tiles`` (Merkle tiles)
    and ``entry_bundles`` are keyed by their parsed path, their bytes read from disk on each
    look-up (``BundleError`` if the file changed so that it cannot be read); ``blobs`` by their
    name, unread.  Nothing here has been checked: that is the audit's job.
    """

    policy: bytes | None = None
    checkpoint: bytes | None = None
    checkpoints: tuple[tuple[str, bytes], ...] = ()
    tiles: Mapping[TilePath, bytes] = field(default_factory=dict)
    entry_bundles: Mapping[TilePath, bytes] = field(default_factory=dict)
    blobs: Mapping[str, BlobFile] = field(default_factory=dict)
    problems: tuple[Finding, ...] = ()


def _walks_into(rel: str) -> bool:
    """Only the layout's directories are read: the top ones, and the tree under ``tile/``."""
    top, _, rest = rel.partition("/")
    return (not rest and top in _LAYOUT) or top == TILE_DIR


def _problem(code: str, path: str, message: str, severity: str = ERROR) -> Finding:
    return Finding(None, code, f"{path}: {message}", severity)


class _Reader:
    def __init__(self, root: Path, limits: BundleLimits) -> None:
        self.root = root
        self.limits = limits
        self.problems: list[Finding] = []
        self.policy: bytes | None = None
        self.checkpoint: bytes | None = None
        self.checkpoints: list[tuple[int, str, bytes]] = []
        self.tile_files = _TileFiles(root)
        self.entry_files = _TileFiles(root)
        self.tiles: Mapping[TilePath, bytes] = self.tile_files
        self.entry_bundles: Mapping[TilePath, bytes] = self.entry_files
        self.blobs: dict[str, BlobFile] = {}

    def _open(self, rel: str, limit: int) -> tuple[int, int] | None:
        """(descriptor, size) of a regular file no larger than ``limit``; None with a finding."""
        # No symlink, and no blocking on a FIFO planted in the bundle.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(self.root / rel, flags)
        except OSError as e:
            self.problems.append(_problem("unreadable_file", rel, e.strerror or str(e)))
            return None
        try:
            info = os.fstat(fd)
        except OSError as e:
            os.close(fd)
            self.problems.append(_problem("unreadable_file", rel, e.strerror or str(e)))
            return None
        problem = None
        if not stat.S_ISREG(info.st_mode):
            problem = _problem("unexpected_file", rel, "not a regular file")
        elif info.st_size > limit:
            problem = _problem("oversized_file", rel, f"{info.st_size} bytes; the limit is {limit}")
        if problem is not None:
            os.close(fd)
            self.problems.append(problem)
            return None
        return fd, info.st_size

    def read(self, rel: str, limit: int) -> bytes | None:
        """The file's bytes, or None with a finding when it is not a readable regular file."""
        opened = self._open(rel, limit)
        if opened is None:
            return None
        fd, size = opened
        try:
            data = _read_up_to(fd, limit + 1, size)
        except OSError as e:
            self.problems.append(_problem("unreadable_file", rel, e.strerror or str(e)))
            return None
        finally:
            os.close(fd)
        if len(data) > limit:
            self.problems.append(_problem("oversized_file", rel, f"grew beyond {limit} bytes"))
            return None
        return data

    def blob(self, rel: str, limit: int) -> BlobFile | None:
        """The blob file, unread (its size checked), or None with a finding."""
        opened = self._open(rel, limit)
        if opened is None:
            return None
        fd, size = opened
        os.close(fd)
        return DiskBlob(self.root / rel, size, limit)

    def bundle(self) -> Bundle:
        return Bundle(
            policy=self.policy,
            checkpoint=self.checkpoint,
            checkpoints=tuple((rel, data) for _, rel, data in sorted(self.checkpoints)),
            tiles=self.tiles,
            entry_bundles=self.entry_bundles,
            blobs=self.blobs,
            problems=tuple(self.problems),
        )

    def classify(self, rel: str) -> None:
        parts = rel.split("/")
        top = parts[0]
        if rel == POLICY_FILE:
            self.policy = self.read(rel, self.limits.note_bytes)
        elif rel == CHECKPOINT_FILE:
            self.checkpoint = self.read(rel, self.limits.note_bytes)
        elif top == CHECKPOINTS_DIR and len(parts) == 2:
            self.classify_checkpoint(rel, parts[1])
        elif top == BLOBS_DIR and len(parts) == 2:
            self.classify_blob(rel, parts[1])
        elif top == TILE_DIR:
            self.classify_tile(rel)
        else:
            self.unexpected(rel)

    def unexpected(self, rel: str) -> None:
        self.problems.append(
            _problem("unexpected_file", rel, "not part of the bundle layout", WARNING)
        )

    def classify_checkpoint(self, rel: str, name: str) -> None:
        try:
            ordinal = parse_checkpoint_history_name(name)
        except CheckpointError:
            self.unexpected(rel)
            return
        data = self.read(rel, self.limits.note_bytes)
        if data is not None:
            self.checkpoints.append((ordinal, rel, data))

    def classify_blob(self, rel: str, name: str) -> None:
        try:
            digest = parse_blob_name(name)
        except CheckpointError:
            self.unexpected(rel)
            return
        blob = self.blob(rel, self.limits.blob_bytes)
        if blob is not None:
            self.blobs[digest] = blob

    def classify_tile(self, rel: str) -> None:
        try:
            tile = parse_tile_path(rel)
        except CheckpointError as e:
            self.problems.append(_problem("bad_tile_path", rel, str(e)))
            return
        if tile.path != rel:
            self.problems.append(
                _problem("bad_tile_path", rel, f"is not the canonical {tile.path}")
            )
            return
        self.file_tile(tile, ENTRY_BUNDLE_MAX_BYTES if tile.is_entries else TILE_MAX_BYTES)

    def file_tile(self, tile: TilePath, limit: int) -> None:
        """File ``tile`` unread, once it is found to be a regular file within ``limit``."""
        opened = self._open(tile.path, limit)
        if opened is not None:
            os.close(opened[0])
            (self.entry_files if tile.is_entries else self.tile_files).add(tile, limit)


class _MemoryReader(_Reader):
    def __init__(self, files: Mapping[str, bytes], limits: BundleLimits) -> None:
        super().__init__(Path(), limits)
        self.files = files
        self.tile_bytes: dict[TilePath, bytes] = {}
        self.entry_bytes: dict[TilePath, bytes] = {}
        self.tiles = self.tile_bytes
        self.entry_bundles = self.entry_bytes

    def read(self, rel: str, limit: int) -> bytes | None:
        data = self.files[rel]
        if len(data) > limit:
            self.problems.append(
                _problem("oversized_file", rel, f"{len(data)} bytes; the limit is {limit}")
            )
            return None
        return data

    def blob(self, rel: str, limit: int) -> BlobFile | None:
        data = self.read(rel, limit)
        return None if data is None else MemoryBlob(data)

    def file_tile(self, tile: TilePath, limit: int) -> None:
        data = self.read(tile.path, limit)
        if data is not None:
            (self.entry_bytes if tile.is_entries else self.tile_bytes)[tile] = data


def bundle_from_files(files: Mapping[str, bytes], limits: BundleLimits | None = None) -> Bundle:
    """The bundle made of ``files`` (relative path → bytes), filed as ``read_bundle`` files them.

    For bundles that never touch a disk: a mirror's copy in memory, or tests.
    """
    reader = _MemoryReader(files, limits or BundleLimits())
    for rel in sorted(files):
        reader.classify(rel)
    return reader.bundle()


def read_bundle(
    root: Path,
    limits: BundleLimits | None = None,
    *,
    wanted: Callable[[str], bool] | None = None,
) -> Bundle:
    """Load the bundle at ``root``; raise ``BundleError`` only if it is not a directory.

    ``wanted`` (a relative path → whether to read it) leaves files out unread: an audit
    resuming from a saved state reads only what is new (``exam_core.audit.incremental``).

    Raises:
        BundleError: ``root`` cannot be opened, is a symlink or not a directory, nests directories
            too deeply, or holds nothing of a bundle's layout (no policy, checkpoint, tile or blob).
            Every other defect is a problem in the returned bundle.
    """
    try:
        info = root.lstat()
    except OSError as e:
        raise BundleError(f"cannot open bundle {root}: {e.strerror or e}") from e
    if stat.S_ISLNK(info.st_mode):
        raise BundleError(f"bundle {root} is a symlink; give the directory itself")
    if not stat.S_ISDIR(info.st_mode):
        raise BundleError(f"bundle {root} is not a directory")
    reader = _Reader(root, limits or BundleLimits())

    def walk_error(e: OSError) -> None:
        where = os.path.relpath(e.filename, root) if e.filename else "."
        reader.problems.append(_problem("unreadable_file", where, e.strerror or str(e)))

    layout_seen = False
    try:
        for dirpath, dirnames, filenames in os.walk(root, onerror=walk_error, followlinks=False):
            base = os.path.relpath(dirpath, root)
            prefix = "" if base == "." else base.replace(os.sep, "/") + "/"
            for name in sorted(dirnames):
                rel = prefix + name
                if os.path.islink(os.path.join(dirpath, name)):
                    reader.problems.append(_problem("symlink", rel, "symlinks are not followed"))
                elif not _walks_into(rel):
                    reader.problems.append(
                        _problem("unexpected_file", rel, "directory outside the layout", WARNING)
                    )
                    dirnames.remove(name)
            dirnames.sort()
            for name in sorted(filenames):
                rel = prefix + name
                if os.path.islink(os.path.join(dirpath, name)):
                    reader.problems.append(_problem("symlink", rel, "symlinks are not followed"))
                    continue
                layout_seen = layout_seen or rel.split("/", 1)[0] in _LAYOUT
                if wanted is None or wanted(rel):
                    reader.classify(rel)
    except RecursionError as e:
        raise BundleError(f"bundle {root} nests directories too deeply to be a bundle") from e
    if not layout_seen:
        raise BundleError(f"{root} holds no audit bundle: no policy, checkpoint, tile or blob")
    return reader.bundle()


def directory_reader(root: Path) -> TileReader:
    """A ``TileReader`` over a bundle or mirror directory, with ``read_bundle``'s rules.

    The returned reader raises ``BundleError`` when a tile is missing or unreadable, is a
    symlink or not a regular file, or is larger than a tile or entry bundle can be.
    """

    def read(tile: TilePath) -> bytes:
        reader = _Reader(root, BundleLimits())
        data = reader.read(tile.path, ENTRY_BUNDLE_MAX_BYTES if tile.is_entries else TILE_MAX_BYTES)
        if data is None:
            raise BundleError(f"cannot read {reader.problems[-1].message}")
        return data

    return read
