"""The log's persistence: the one module that opens SQLAlchemy sessions on the log tables.

Writers and readers of the log go through ``LogStore``:

- a **writer** (``LogStore.write``) holds the database's write lock for one transaction — SQLite
  ``BEGIN IMMEDIATE``, PostgreSQL ``LOCK TABLE … IN EXCLUSIVE MODE`` — reads the size it appends
  to, and commits a whole batch at once: the entries, the new node hashes and the checkpoint
  that covers them (DESIGN §3.3, §8).  A crash before the commit leaves nothing of the batch;
  after it, everything.  So no checkpoint ever covers an entry that is not durable, two writers
  never share an index (also a primary key), and the tree state is always complete.
- **readers** get entries, checkpoints (oldest first), node hashes, tiles and proofs, each from
  the stored hashes: O(log n) rows per proof, never a pass over all leaves;
- witnesses' **cosignatures** arrive after a checkpoint is published and are kept beside it
  (``add_cosignature``); readers that hand checkpoints out (receipts, the export) get them with
  their cosignature lines appended (``cosigned_checkpoint``, ``cosigned_checkpoints``).

Rows are only ever inserted; the database's own triggers refuse UPDATE and DELETE.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, and_, func, or_, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from exam_core.db.engine import WRITE_LOCK_OPTION
from exam_core.db.failures import store_error
from exam_core.db.migrate import upgrade_store
from exam_core.db.models import (
    LogActorSeq,
    LogCheckpoint,
    LogCosignature,
    LogEntry,
    LogNode,
    actor_hash,
)
from exam_core.errors import CheckpointError, EntryError, StoreError
from exam_core.log.cosignature import add_cosignatures
from exam_core.log.entry import Entry, parse_entry
from exam_core.log.merkle import (
    HashSource,
    MerkleFrontier,
    consistency_proof,
    frontier_nodes,
    inclusion_proof,
    leaf_hash,
    node_hash,
)
from exam_core.log.tiles import MAX_TILE_LEVEL, TILE_HEIGHT, TILE_WIDTH

_PLACEHOLDER = bytes(32)


@dataclass(frozen=True)
class _InsertStatements:
    entries: str
    nodes: str
    checkpoint: str
    actor_seqs: str


_INSERTS = {
    "qmark": _InsertStatements(
        "INSERT INTO log_entries (idx, data) VALUES (?, ?)",
        "INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)",
        "INSERT INTO log_checkpoints (size, data, published_ms) VALUES (?, ?, ?)",
        "INSERT INTO log_actor_seqs (actor_hash, seq, idx) VALUES (?, ?, ?)",
    ),
    "pyformat": _InsertStatements(
        "INSERT INTO log_entries (idx, data) VALUES (%s, %s)",
        "INSERT INTO log_nodes (level, idx, hash) VALUES (%s, %s, %s)",
        "INSERT INTO log_checkpoints (size, data, published_ms) VALUES (%s, %s, %s)",
        "INSERT INTO log_actor_seqs (actor_hash, seq, idx) VALUES (%s, %s, %s)",
    ),
}
"""The batch inserts in each driver's own parameter style (sqlite3: qmark; psycopg: pyformat)."""

CheckpointSigner = Callable[[int, bytes], bytes]
"""``sign(size, root)`` → the signed checkpoint note for that tree."""


@dataclass(frozen=True)
class AppendResult:
    """What one committed batch became: its first index, the new size, its checkpoint and the
    tree's frontier at that size."""

    first_index: int
    size: int
    checkpoint: bytes
    frontier: MerkleFrontier


class LogWriter:
    """One locked write transaction on the log; obtained from ``LogStore.write``."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._size = _read_size(session)
        self._done = False

    @property
    def size(self) -> int:
        """The size of the log when the lock was taken (or after this writer's append)."""
        return self._size

    def entries(self, start: int, end: int) -> list[bytes]:
        """Entries ``[start, end)`` as committed (a writer catches up on others' appends)."""
        return _read_entries(self._session, start, end)

    def checkpoint(self, size: int) -> bytes | None:
        """The checkpoint committed for exactly ``size`` entries, if one was."""
        return _read_checkpoint(self._session, size)

    def append(
        self,
        entries: Sequence[bytes],
        sign: CheckpointSigner,
        now_ms: int,
        frontier: MerkleFrontier | None = None,
        actor_seqs: Sequence[tuple[str, int]] | None = None,
    ) -> AppendResult:
        """Stage ``entries`` at the end of the log, their node hashes and a signed checkpoint.

        ``frontier`` is the tree of the log as it stands, when the caller keeps it (the
        sequencer does, checked against the log's checkpoints); otherwise it is read from the
        stored nodes.  ``actor_seqs`` is each entry's actor and ``seq``, when the caller has
        parsed them (the sequencer has); otherwise each entry is parsed here for them.
        Nothing is durable until the ``LogStore.write`` block ends and commits.

        Raises:
            RuntimeError: a second batch in one transaction, an empty batch, a frontier of
                another size than the log, or not one actor and seq per entry (caller bugs).
            EntryError: ``actor_seqs`` is not given and an entry does not parse.
        """
        if self._done:
            raise RuntimeError("a writer appends one batch per transaction")
        if not entries:
            raise RuntimeError("an empty batch has nothing to publish")
        first = self._size
        if frontier is None:
            stack = _read_frontier(self._session, first)
        elif frontier.size == first:
            levels = [level for level, _ in frontier_nodes(first)]
            stack = list(zip(levels, frontier.subtree_hashes, strict=True))
        else:
            raise RuntimeError(f"a frontier of size {frontier.size} for a log of size {first}")
        if actor_seqs is None:
            actor_seqs = [_actor_seq(parse_entry(data)) for data in entries]
        elif len(actor_seqs) != len(entries):
            raise RuntimeError(f"{len(actor_seqs)} actors and seqs for {len(entries)} entries")
        self._done = True
        nodes: list[tuple[int, int, bytes]] = []
        size = first
        for data in entries:
            h = leaf_hash(data)
            nodes.append((0, size, h))
            level, n = 0, size
            # Like a binary counter: each trailing 1 bit of the old size merges two subtrees.
            while n & 1:
                _, left = stack.pop()
                h = node_hash(left, h)
                level += 1
                n >>= 1
                nodes.append((level, size >> level, h))
            stack.append((level, h))
            size += 1
        frontier = MerkleFrontier.from_subtree_hashes(size, [h for _, h in stack])
        checkpoint = sign(size, frontier.root())
        # Rows go to the driver's executemany as they are: on the hot path of every batch the
        # ORM's per-row bookkeeping would cost more than the database itself.
        connection = self._session.connection()
        sql = _INSERTS[connection.dialect.paramstyle]
        connection.exec_driver_sql(sql.entries, [(first + i, d) for i, d in enumerate(entries)])
        connection.exec_driver_sql(sql.nodes, nodes)
        connection.exec_driver_sql(sql.checkpoint, [(size, checkpoint, now_ms)])
        connection.exec_driver_sql(
            sql.actor_seqs,
            [(actor_hash(a), s, first + i) for i, (a, s) in enumerate(actor_seqs)],
        )
        self._size = size
        return AppendResult(first, size, checkpoint, frontier)


class LogStore:
    """The log of one centre in one database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write_engine = engine.execution_options(**{WRITE_LOCK_OPTION: True})

    @classmethod
    def open(cls, engine: Engine, migrate: bool = True) -> LogStore:
        """Open the log on ``engine``, creating or upgrading its tables first if asked.

        Raises:
            StoreError: the tables cannot be created or upgraded.
        """
        if migrate:
            upgrade_store(engine, "log database")
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    # --- writing ---------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[LogWriter]:
        """A locked transaction; commits when the block ends, rolls back if it raises.

        Raises:
            StoreError: another writer appended at the same index, or the log cannot be
                written; nothing of the block is committed.
        """  # noqa: DOC501 - ``store_error`` builds the StoreError named above
        try:
            with Session(self._write_engine) as session, session.begin():
                if session.get_bind().dialect.name == "postgresql":
                    # EXCLUSIVE blocks other writers but not readers; it is per schema.
                    session.execute(text("LOCK TABLE log_checkpoints IN EXCLUSIVE MODE"))
                yield LogWriter(session)
        except IntegrityError as e:
            raise store_error("another writer appended at the same index", e) from e
        except SQLAlchemyError as e:
            raise store_error("cannot write the log", e) from e

    # --- reading ---------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Session]:
        try:
            with Session(self.engine) as session, session.begin():
                yield session
        except SQLAlchemyError as e:
            raise store_error("cannot read the log", e) from e

    def size(self) -> int:
        """Number of published entries (the size of the newest checkpoint)."""
        with self._read() as session:
            return _read_size(session)

    def entries(self, start: int, end: int) -> list[bytes]:
        """The exact bytes of entries ``[start, end)``, in index order."""
        with self._read() as session:
            return _read_entries(session, start, end)

    def entry(self, index: int) -> bytes:
        found = self.entries(index, index + 1)
        if not found:
            raise StoreError(f"no entry {index}")
        return found[0]

    def find_entry(self, data: bytes) -> int | None:
        """The index of the entry whose bytes are exactly ``data``, if the log holds it.

        Found by its actor and ``seq`` (``log_actor_seqs``), then compared byte for byte: a
        client that resubmits an entry after losing the answer is told the index it already
        has.  Bytes that do not parse as an entry are not in the log.

        Raises:
            StoreError: the database cannot be read.
        """
        try:
            actor, seq = _actor_seq(parse_entry(data))
        except EntryError:
            return None
        with self._read() as session:
            rows = session.execute(
                select(LogActorSeq.idx).where(
                    LogActorSeq.actor_hash == actor_hash(actor), LogActorSeq.seq == seq
                )
            )
            candidates = sorted(int(i) for i in rows.scalars())
            for index in candidates:
                if _read_entries(session, index, index + 1) == [data]:
                    return index
        return None

    def checkpoints(self) -> list[bytes]:
        """Every published checkpoint, oldest (smallest) first."""
        with self._read() as session:
            rows = session.execute(select(LogCheckpoint.data).order_by(LogCheckpoint.size))
            return [bytes(d) for d in rows.scalars()]

    def checkpoint_sizes(self) -> list[int]:
        with self._read() as session:
            rows = session.execute(select(LogCheckpoint.size).order_by(LogCheckpoint.size))
            return [int(s) for s in rows.scalars()]

    def checkpoint(self, size: int) -> bytes | None:
        """The checkpoint published for exactly ``size`` entries, if one was.

        Raises:
            StoreError: the database cannot be read.
        """
        with self._read() as session:
            return _read_checkpoint(session, size)

    def latest_checkpoint(self) -> bytes | None:
        with self._read() as session:
            data = session.execute(
                select(LogCheckpoint.data).order_by(LogCheckpoint.size.desc()).limit(1)
            ).scalar_one_or_none()
            return None if data is None else bytes(data)

    # --- cosignatures ----------------------------------------------------------------------

    def add_cosignature(self, size: int, witness: str, line: bytes, now_ms: int) -> bool:
        """Keep a witness's verified cosignature line on the checkpoint of ``size``.

        False when that witness's line for that size is kept already (the first one stays:
        a cosignature, once received, is evidence that is never replaced).

        Raises:
            StoreError: no checkpoint of that size was published, or the database fails.
        """  # noqa: DOC501 - ``store_error`` builds the StoreError named above
        try:
            with Session(self.engine) as session, session.begin():
                if session.get(LogCheckpoint, size) is None:
                    raise StoreError(f"no checkpoint of size {size} to cosign")
                if session.get(LogCosignature, (size, witness)) is not None:
                    return False
                session.add(
                    LogCosignature(size=size, witness=witness, line=line, received_ms=now_ms)
                )
        except IntegrityError:
            return False  # another process kept the same witness's line meanwhile
        except SQLAlchemyError as e:
            raise store_error("cannot keep the cosignature", e) from e
        return True

    def cosignatures(self, min_size: int = 0) -> dict[int, dict[str, bytes]]:
        """The kept cosignature lines of checkpoints of at least ``min_size``, by size and
        witness name."""
        with self._read() as session:
            rows = session.execute(
                select(LogCosignature.size, LogCosignature.witness, LogCosignature.line).where(
                    LogCosignature.size >= min_size
                )
            )
            found: dict[int, dict[str, bytes]] = {}
            for size, witness, line in rows:
                found.setdefault(int(size), {})[str(witness)] = bytes(line)
            return found

    def cosigned_size(self, witness: str) -> int | None:
        """The largest checkpoint size ``witness`` cosigned, if any."""
        with self._read() as session:
            size = session.execute(
                select(func.max(LogCosignature.size)).where(LogCosignature.witness == witness)
            ).scalar_one_or_none()
            return None if size is None else int(size)

    def cosigned_checkpoint(self, size: int) -> bytes | None:
        """The checkpoint of ``size`` with every kept cosignature line appended."""
        note = self.checkpoint(size)
        if note is None:
            return None
        return _with_lines(note, self.cosignatures(size).get(size, {}))

    def cosigned_checkpoints(self) -> list[bytes]:
        """Every published checkpoint, oldest first, each with its kept cosignature lines."""
        lines = self.cosignatures()
        with self._read() as session:
            rows = session.execute(
                select(LogCheckpoint.size, LogCheckpoint.data).order_by(LogCheckpoint.size)
            )
            return [_with_lines(bytes(d), lines.get(int(s), {})) for s, d in rows]

    def node_hashes(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored hashes of the given (level, index) nodes that exist.

        Raises:
            StoreError: the database cannot be read.
        """
        wanted = sorted(set(keys))
        found: dict[tuple[int, int], bytes] = {}
        with self._read() as session:
            for i in range(0, len(wanted), 500):
                found.update(_read_nodes(session, wanted[i : i + 500]))
        return found

    def hash_source(self, size: int) -> HashSource:
        """A ``HashSource`` reading one stored node per call, bounded by ``size``."""

        def get_node(level: int, index: int) -> bytes:
            if (index + 1) << level > size:
                raise StoreError(f"node ({level}, {index}) is beyond tree size {size}")
            found = self.node_hashes([(level, index)])
            if not found:
                raise StoreError(f"node ({level}, {index}) is not stored")
            return found[(level, index)]

        return get_node

    def _prefetched(self, size: int, build: Callable[[HashSource], list[bytes]]) -> list[bytes]:
        # Run the proof builder twice: once to learn which nodes it reads, once on those nodes
        # fetched in one query.  A proof touches O(log n) nodes.
        needed: list[tuple[int, int]] = []

        def record(level: int, index: int) -> bytes:
            needed.append((level, index))
            return _PLACEHOLDER

        build(record)
        for level, index in needed:
            if (index + 1) << level > size:
                raise StoreError(f"node ({level}, {index}) is beyond tree size {size}")
        found = self.node_hashes(needed)
        missing = [k for k in needed if k not in found]
        if missing:
            raise StoreError(f"tree nodes {missing[:3]} are not stored")
        return build(lambda level, index: found[(level, index)])

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 9162 inclusion proof of entry ``index`` in the tree of ``size``.

        Raises:
            StoreError: ``index`` is not below ``size``, the tree's nodes are not stored, or
                the database cannot be read.
        """
        if not 0 <= index < size:
            raise StoreError(f"index {index} is not in a tree of size {size}")
        return self._prefetched(size, lambda src: inclusion_proof(src, index, size))

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """RFC 9162 consistency proof from ``size1`` to ``size2`` (0 < size1 ≤ size2).

        Raises:
            StoreError: the sizes are not 0 < size1 ≤ size2, the tree's nodes are not stored,
                or the database cannot be read.
        """
        if not 0 < size1 <= size2:
            raise StoreError(f"no consistency proof from size {size1} to {size2}")
        return self._prefetched(size2, lambda src: consistency_proof(src, size1, size2))

    def frontier(self, size: int) -> MerkleFrontier:
        """The compact range of the tree of ``size``, from stored hashes."""
        with self._read() as session:
            pairs = _read_frontier(session, size)
        return MerkleFrontier.from_subtree_hashes(size, [h for _, h in pairs])

    def tile(self, level: int, index: int, width: int = TILE_WIDTH) -> bytes:
        """The tlog-tiles hash tile ``<level>/<index>`` (``width`` < 256: a partial tile).

        Raises:
            StoreError: no such tile can exist (level, index or width out of range), the log
                does not hold its ``width`` hashes yet, or the database cannot be read.
        """
        if not 0 <= level <= MAX_TILE_LEVEL or index < 0 or not 1 <= width <= TILE_WIDTH:
            raise StoreError(f"no tile {level}/{index} of width {width}")
        tree_level = level * TILE_HEIGHT
        first = index * TILE_WIDTH
        with self._read() as session:
            rows = session.execute(
                select(LogNode.hash)
                .where(
                    LogNode.level == tree_level,
                    LogNode.idx >= first,
                    LogNode.idx < first + width,
                )
                .order_by(LogNode.idx)
            )
            hashes = [bytes(h) for h in rows.scalars()]
        if len(hashes) != width:
            raise StoreError(f"tile {level}/{index} has {len(hashes)} of {width} hashes")
        return b"".join(hashes)


def _actor_seq(entry: Entry) -> tuple[str, int]:
    """The entry's actor and ``seq`` as ``log_actor_seqs`` keeps them: -1 for a ``seq`` that
    is not a non-negative 64-bit integer (the registry admits no such entry; the store keeps
    whatever bytes it is given, and finds them again the same way)."""
    seq = entry.event.get("seq")
    return entry.actor, seq if type(seq) is int and 0 <= seq < 2**63 else -1


def _with_lines(note: bytes, lines: dict[str, bytes]) -> bytes:
    if not lines:
        return note
    try:
        return add_cosignatures(note, [lines[name] for name in sorted(lines)])
    except CheckpointError as e:
        raise StoreError(f"a kept cosignature does not fit its checkpoint: {e}") from e


_MAX_SIZE = select(func.max(LogCheckpoint.size))


def _read_size(session: Session) -> int:
    # Core on the session's connection: read before every batch, the ORM's statement handling
    # cost more than the query.
    size = session.connection().execute(_MAX_SIZE).scalar_one_or_none()
    return 0 if size is None else int(size)


def _read_checkpoint(session: Session, size: int) -> bytes | None:
    data = session.execute(
        select(LogCheckpoint.data).where(LogCheckpoint.size == size)
    ).scalar_one_or_none()
    return None if data is None else bytes(data)


def _read_entries(session: Session, start: int, end: int) -> list[bytes]:
    if start < 0 or end < start:
        raise StoreError(f"bad entry range [{start}, {end})")
    rows = session.execute(
        select(LogEntry.data)
        .where(LogEntry.idx >= start, LogEntry.idx < end)
        .order_by(LogEntry.idx)
    )
    return [bytes(d) for d in rows.scalars()]


def _read_nodes(session: Session, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored hashes of the given (level, index) nodes, looked up by primary key.

    One ``level = L AND idx IN (…)`` term per level: SQLite plans a row-value
    ``(level, idx) IN (…)`` as a scan of the whole table (docs/log.md), which made every batch
    and every proof cost time in proportion to the log.
    """
    by_level: dict[int, list[int]] = {}
    for level, idx in keys:
        by_level.setdefault(level, []).append(idx)
    if not by_level:
        return {}
    rows = session.execute(
        select(LogNode.level, LogNode.idx, LogNode.hash).where(
            or_(*(and_(LogNode.level == lv, LogNode.idx.in_(ix)) for lv, ix in by_level.items()))
        )
    )
    return {(int(level), int(idx)): bytes(h) for level, idx, h in rows}


def _read_frontier(session: Session, size: int) -> list[tuple[int, bytes]]:
    keys = frontier_nodes(size)
    found = _read_nodes(session, keys)
    missing = [k for k in keys if k not in found]
    if missing:
        raise StoreError(f"the stored tree of size {size} lacks nodes {missing}")
    return [(level, found[(level, idx)]) for level, idx in keys]
