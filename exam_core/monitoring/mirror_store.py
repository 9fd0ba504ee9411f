"""The mirror's persistence: its schedule and row locks, verified heads, tiles, entries, findings.

Several monitor processes share the mirrored logs through this database, with no coordinator:
``claim`` locks the schedule row of one due log with ``SELECT … FOR UPDATE SKIP LOCKED`` on
PostgreSQL and holds that lock, on a connection of its own, for as long as the pull lasts.
Another process skips the locked row and takes the next due log; a process that dies loses its
connection and the lock with it, so the log is due again at once.  (SQLite has no row locks:
there, one monitor process mirrors.)

The progress of a pull is written apart from that lock, in short transactions that each move
the head forward by compare-and-swap on where it was: ``advance_tree`` (a newer verified
checkpoint and its tiles) and ``advance_entries`` (entries verified against those tiles, the
registry after them, and the findings they gave, together).  What is committed is never
downloaded again; a finding is committed with the progress it belongs to, or before the pull
gives up, so a killed process loses neither.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from exam_core.db.failures import store_error
from exam_core.db.mirror import MirrorBundle, MirrorFinding, MirrorHead, MirrorSchedule, MirrorTile
from exam_core.db.monitoring import MonitoredLog
from exam_core.errors import CheckpointError, StoreError
from exam_core.findings import ERROR, Finding
from exam_core.log.merkle import EMPTY_ROOT
from exam_core.log.tiles import TILE_WIDTH, decode_entry_bundle

__all__ = ["Claim", "MirrorHeadRecord", "MirrorStore", "NewFinding", "RecordedFinding"]


@dataclass(frozen=True)
class MirrorHeadRecord:
    """How far the copy of one log is verified (see ``exam_core.db.mirror``)."""

    origin: str
    tree_size: int
    root_hash: bytes
    checkpoint: bytes | None
    entries_size: int
    key_registry: bytes
    cosigned: bytes | None


@dataclass(frozen=True)
class NewFinding:
    """A finding about a log, with the evidence that shows it, not yet recorded.

    ``fingerprint`` makes it once per log: the same rewrite seen on every pull is one finding.
    """

    finding: Finding
    evidence: Mapping[str, Any]
    fingerprint: str


@dataclass(frozen=True)
class RecordedFinding:
    """A finding as the mirror recorded it: numbered in the order recorded (``id``)."""

    id: int
    origin: str
    finding: Finding
    evidence: Mapping[str, Any]
    recorded_ms: int


@dataclass
class Claim:
    """A due log locked for this process; set ``next_pull_ms`` (and ``contact_ms`` when the
    centre answered) before the claim ends."""

    origin: str
    last_contact_ms: int
    next_pull_ms: int
    contact_ms: int | None = field(default=None)


def _bundle(entries: Sequence[bytes]) -> bytes:
    """``entries`` as an entry bundle's bytes (each prefixed with its uint16 length; every entry
    the mirror holds came out of a bundle, so each fits)."""
    return b"".join(len(e).to_bytes(2, "big") + e for e in entries)


class MirrorStore:
    """The mirror's tables on ``engine`` (migrated by ``MonitorStore.open``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    @contextmanager
    def _begin(self, what: str) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as e:
            raise store_error(what, e) from e

    # --- the schedule ----------------------------------------------------------------------

    def schedule_new_logs(self, now_ms: int) -> int:
        """Give every watched log with a URL that the mirror does not know yet its schedule row
        and an empty head; return how many were added.

        Raises:
            StoreError: the database cannot be written.
        """
        with self._begin("cannot schedule the mirrored logs") as conn:
            known = set(conn.scalars(select(MirrorSchedule.origin)))
            rows = conn.execute(
                select(MonitoredLog.origin, MonitoredLog.added_ms).where(
                    MonitoredLog.url.is_not(None)
                )
            ).all()
            new = [(str(o), int(t)) for o, t in rows if o not in known]
            for origin, added_ms in new:
                conn.execute(
                    self._insert_ignore(MirrorSchedule).values(
                        origin=origin, next_pull_ms=now_ms, last_contact_ms=added_ms
                    )
                )
                conn.execute(
                    self._insert_ignore(MirrorHead).values(
                        origin=origin,
                        tree_size=0,
                        root_hash=EMPTY_ROOT,
                        checkpoint=None,
                        entries_size=0,
                        key_registry=b"",
                        cosigned=None,
                    )
                )
        return len(new)

    @contextmanager
    def claim(self, now_ms: int) -> Iterator[Claim | None]:
        """Lock one log that is due at ``now_ms`` (the longest overdue first), or None.

        The lock is held until the ``with`` block ends, when the schedule row takes the claim's
        ``next_pull_ms`` and ``contact_ms``; an exception inside leaves the row as it was.

        Raises:
            StoreError: the database cannot be read or written.
        """  # noqa: DOC501 - ``store_error`` builds the StoreError named above
        try:
            conn = self.engine.connect()
        except SQLAlchemyError as e:
            raise store_error("cannot claim a log to mirror", e) from e
        try:
            with conn:
                trans = conn.begin()
                query = (
                    select(MirrorSchedule.origin, MirrorSchedule.last_contact_ms)
                    .where(MirrorSchedule.next_pull_ms <= now_ms)
                    .order_by(MirrorSchedule.next_pull_ms, MirrorSchedule.origin)
                    .limit(1)
                )
                if self._postgres:
                    query = query.with_for_update(skip_locked=True)
                row = conn.execute(query).first()
                if row is None:
                    trans.rollback()
                    yield None
                    return
                claim = Claim(str(row[0]), int(row[1]), now_ms)
                if not self._postgres:
                    trans.commit()  # SQLite: no row lock to hold; one process mirrors
                yield claim
                values: dict[str, int] = {"next_pull_ms": claim.next_pull_ms}
                if claim.contact_ms is not None:
                    values["last_contact_ms"] = claim.contact_ms
                stmt = update(MirrorSchedule).where(MirrorSchedule.origin == claim.origin)
                if self._postgres:
                    conn.execute(stmt.values(**values))
                    trans.commit()
                else:
                    with conn.begin():
                        conn.execute(stmt.values(**values))
        except SQLAlchemyError as e:
            raise store_error("cannot claim a log to mirror", e) from e

    def schedule(self, origin: str) -> tuple[int, int] | None:
        """(next pull, last contact) of ``origin``, in ms; None if it is not mirrored.

        Raises:
            StoreError: the database cannot be read.
        """
        with self._begin("cannot read the mirror's schedule") as conn:
            row = conn.execute(
                select(MirrorSchedule.next_pull_ms, MirrorSchedule.last_contact_ms).where(
                    MirrorSchedule.origin == origin
                )
            ).first()
            return None if row is None else (int(row[0]), int(row[1]))

    # --- the verified copy -----------------------------------------------------------------

    def head(self, origin: str) -> MirrorHeadRecord | None:
        """How far the copy of ``origin`` is verified, or None if it is not mirrored.

        Raises:
            StoreError: the database cannot be read.
        """
        with self._begin("cannot read the mirror's head") as conn:
            row = conn.execute(select(MirrorHead).where(MirrorHead.origin == origin)).first()
            if row is None:
                return None
            h = row._mapping
            return MirrorHeadRecord(
                origin=str(h["origin"]),
                tree_size=int(h["tree_size"]),
                root_hash=bytes(h["root_hash"]),
                checkpoint=None if h["checkpoint"] is None else bytes(h["checkpoint"]),
                entries_size=int(h["entries_size"]),
                key_registry=bytes(h["key_registry"]),
                cosigned=None if h["cosigned"] is None else bytes(h["cosigned"]),
            )

    def heads(self) -> list[MirrorHeadRecord]:
        """Every mirrored log's head, by origin.

        Raises:
            StoreError: the database cannot be read.
        """
        with self._begin("cannot read the mirror's heads") as conn:
            origins = list(conn.scalars(select(MirrorHead.origin).order_by(MirrorHead.origin)))
        return [h for h in (self.head(o) for o in origins) if h is not None]

    def tile(self, origin: str, level: int, n: int) -> bytes | None:
        """The stored tile ``level``/``n`` of ``origin``'s verified tree, or None.

        Raises:
            StoreError: the database cannot be read.
        """
        with self._begin("cannot read a mirrored tile") as conn:
            data = conn.scalar(
                select(MirrorTile.data).where(
                    MirrorTile.origin == origin, MirrorTile.level == level, MirrorTile.n == n
                )
            )
            return None if data is None else bytes(data)

    def tiles(self, origin: str, level: int, first: int, end: int) -> dict[int, bytes]:
        """The stored tiles ``first`` … ``end`` − 1 of ``level`` of ``origin``, by index (those
        held): one query where ``tile`` would make one each.

        Raises:
            StoreError: the database cannot be read.
        """
        with self._begin("cannot read mirrored tiles") as conn:
            rows = conn.execute(
                select(MirrorTile.n, MirrorTile.data).where(
                    MirrorTile.origin == origin,
                    MirrorTile.level == level,
                    MirrorTile.n >= first,
                    MirrorTile.n < end,
                )
            )
            return {int(n): bytes(data) for n, data in rows}

    def entries(self, origin: str, start: int, end: int) -> list[bytes]:
        """The stored entries ``start`` … ``end`` − 1 of ``origin`` (fewer if not held).

        Raises:
            StoreError: the database cannot be read, or a stored bundle does not decode.
        """
        if end <= start:
            return []
        first = start // TILE_WIDTH
        with self._begin("cannot read mirrored entries") as conn:
            rows = conn.execute(
                select(MirrorBundle.n, MirrorBundle.data)
                .where(MirrorBundle.origin == origin, MirrorBundle.n >= first)
                .where(MirrorBundle.n <= (end - 1) // TILE_WIDTH)
                .order_by(MirrorBundle.n)
            ).all()
        held: list[bytes] = []
        for n, data in rows:
            if int(n) != first + len(held) // TILE_WIDTH or len(held) % TILE_WIDTH:
                break  # not held from here on
            held.extend(_decode_held(origin, int(n), bytes(data)))
        skip = start - first * TILE_WIDTH
        return held[skip : skip + end - start]

    def advance_tree(
        self,
        origin: str,
        expected_size: int,
        *,
        checkpoint: bytes,
        size: int,
        root_hash: bytes,
        tiles: Mapping[tuple[int, int], bytes],
    ) -> bool:
        """Move the verified tree of ``origin`` from ``expected_size`` to the checkpoint, storing
        its new tiles; False, changing nothing, if the head is no longer at ``expected_size``.

        Raises:
            StoreError: the database cannot be written.
        """
        with self._begin("cannot store the verified tree") as conn:
            moved = conn.execute(
                update(MirrorHead)
                .where(MirrorHead.origin == origin, MirrorHead.tree_size == expected_size)
                .values(tree_size=size, root_hash=root_hash, checkpoint=checkpoint)
            )
            if int(getattr(moved, "rowcount", 0)) != 1:
                return False  # nothing was written
            if tiles:
                # A partial tile is replaced by its longer self: drop each level's tail first.
                first: dict[int, int] = {}
                for level, n in tiles:
                    first[level] = min(n, first.get(level, n))
                for level, n in first.items():
                    conn.execute(
                        delete(MirrorTile).where(
                            MirrorTile.origin == origin,
                            MirrorTile.level == level,
                            MirrorTile.n >= n,
                        )
                    )
                conn.execute(
                    insert(MirrorTile),
                    [
                        {"origin": origin, "level": level, "n": n, "data": data}
                        for (level, n), data in tiles.items()
                    ],
                )
        return True

    def advance_entries(
        self,
        origin: str,
        expected_size: int,
        *,
        entries: Sequence[bytes],
        key_registry: bytes,
        findings: Sequence[NewFinding],
        now_ms: int,
        leaf_tiles: Mapping[int, bytes] | None = None,
    ) -> bool:
        """Store ``entries`` from index ``expected_size`` on, with the registry after them, the
        findings they gave and ``leaf_tiles`` (the full level-0 tiles, by index, that the
        mirror made from these entries and held to their level-1 hashes), in one transaction;
        False, changing nothing, if the head's entries are no longer at ``expected_size``.
        Every stored entry thus has its level-0 tile stored, which inclusion proofs read.

        Raises:
            StoreError: the database cannot be written.
        """
        with self._begin("cannot store mirrored entries") as conn:
            moved = conn.execute(
                update(MirrorHead)
                .where(
                    MirrorHead.origin == origin,
                    MirrorHead.entries_size == expected_size,
                    MirrorHead.tree_size >= expected_size + len(entries),
                )
                .values(entries_size=expected_size + len(entries), key_registry=key_registry)
            )
            if int(getattr(moved, "rowcount", 0)) != 1:
                return False  # nothing was written
            if entries:
                self._store_entries(conn, origin, expected_size, entries)
            if leaf_tiles:
                conn.execute(
                    insert(MirrorTile),
                    [
                        {"origin": origin, "level": 0, "n": n, "data": data}
                        for n, data in leaf_tiles.items()
                    ],
                )
            self._insert_findings(conn, origin, findings, now_ms)
        return True

    def set_cosigned(self, origin: str, size: int, note: bytes) -> None:
        """Keep the mirror's cosigned checkpoint of ``origin`` at ``size`` (if still the head's).

        Raises:
            StoreError: the database cannot be written.
        """
        with self._begin("cannot store the mirror's cosignature") as conn:
            conn.execute(
                update(MirrorHead)
                .where(MirrorHead.origin == origin, MirrorHead.entries_size == size)
                .values(cosigned=note)
            )

    def _store_entries(
        self, conn: Connection, origin: str, start: int, entries: Sequence[bytes]
    ) -> None:
        """Write ``entries`` from index ``start`` on into their bundles' rows: a bundle held in
        part is completed (its row replaced), the others are new rows.

        Raises:
            StoreError: the partial bundle held is not the ``start`` % 256 entries it must be.
        """
        n, k = divmod(start, TILE_WIDTH)
        rows: list[dict[str, Any]] = []
        if k:
            at_n = (MirrorBundle.origin == origin, MirrorBundle.n == n)
            held = conn.scalar(select(MirrorBundle.data).where(*at_n))
            if held is None or len(_decode_held(origin, n, bytes(held))) != k:
                raise StoreError(f"the mirror's bundle {n} of {origin} is not the {k} entries held")
            conn.execute(delete(MirrorBundle).where(*at_n))
            taken = TILE_WIDTH - k
            rows.append({"origin": origin, "n": n, "data": bytes(held) + _bundle(entries[:taken])})
            entries, n = entries[taken:], n + 1
        rows.extend(
            {"origin": origin, "n": n + i, "data": _bundle(entries[j : j + TILE_WIDTH])}
            for i, j in enumerate(range(0, len(entries), TILE_WIDTH))
        )
        conn.execute(insert(MirrorBundle), rows)

    # --- findings --------------------------------------------------------------------------

    def record_findings(self, origin: str, findings: Sequence[NewFinding], now_ms: int) -> None:
        """Record ``findings`` of ``origin``, each once per fingerprint.

        Raises:
            StoreError: the database cannot be written.
        """
        if findings:
            with self._begin("cannot record the mirror's findings") as conn:
                self._insert_findings(conn, origin, findings, now_ms)

    def findings_after(self, after_id: int = 0, limit: int = 1000) -> list[RecordedFinding]:
        """The findings recorded after the one numbered ``after_id``, oldest first.

        Raises:
            StoreError: the database cannot be read.
        """
        with self._begin("cannot read the mirror's findings") as conn:
            rows = conn.execute(
                select(MirrorFinding)
                .where(MirrorFinding.id > after_id)
                .order_by(MirrorFinding.id)
                .limit(limit)
            ).all()
        return self._recorded(rows)

    def findings_of(
        self, origin: str, after_id: int = 0, limit: int = 1000
    ) -> list[RecordedFinding]:
        """The findings about ``origin`` recorded after the one numbered ``after_id``, oldest
        first.

        Raises:
            StoreError: the database cannot be read.
        """
        with self._begin("cannot read the mirror's findings") as conn:
            rows = conn.execute(
                select(MirrorFinding)
                .where(MirrorFinding.origin == origin, MirrorFinding.id > after_id)
                .order_by(MirrorFinding.id)
                .limit(limit)
            ).all()
        return self._recorded(rows)

    def failed_entries(self, origin: str, start: int, end: int) -> set[int]:
        """The indexes in ``start`` … ``end`` − 1 of ``origin`` with an error finding.

        Raises:
            StoreError: the database cannot be read.
        """
        with self._begin("cannot read the mirror's findings") as conn:
            return {
                int(i or 0)
                for i in conn.scalars(
                    select(MirrorFinding.entry_index).where(
                        MirrorFinding.origin == origin,
                        MirrorFinding.severity == ERROR,
                        MirrorFinding.entry_index >= start,
                        MirrorFinding.entry_index < end,
                    )
                )
            }

    @staticmethod
    def _recorded(rows: Sequence[Any]) -> list[RecordedFinding]:
        return [
            RecordedFinding(
                id=int(r.id),
                origin=str(r.origin),
                finding=Finding(
                    None if r.entry_index is None else int(r.entry_index),
                    str(r.code),
                    str(r.message),
                    str(r.severity),
                ),
                evidence=json.loads(r.evidence),
                recorded_ms=int(r.recorded_ms),
            )
            for r in rows
        ]

    def _insert_findings(
        self, conn: Connection, origin: str, findings: Sequence[NewFinding], now_ms: int
    ) -> None:
        for f in findings:
            conn.execute(
                self._insert_ignore(MirrorFinding).values(
                    origin=origin,
                    code=f.finding.code,
                    severity=f.finding.severity or ERROR,
                    entry_index=f.finding.index,
                    message=f.finding.message,
                    evidence=json.dumps(f.evidence, sort_keys=True),
                    fingerprint=f.fingerprint[:128],
                    recorded_ms=now_ms,
                )
            )

    def _insert_ignore(self, table: Any) -> Any:
        """``INSERT … ON CONFLICT DO NOTHING`` in either dialect."""
        if self._postgres:
            return postgresql.insert(table).on_conflict_do_nothing()
        return sqlite.insert(table).on_conflict_do_nothing()


def _decode_held(origin: str, n: int, data: bytes) -> list[bytes]:
    """The entries of the stored bundle ``n`` of ``origin``.

    Raises:
        StoreError: it does not decode (the mirror wrote it from entries it verified).
    """
    try:
        return decode_entry_bundle(data)
    except CheckpointError as e:
        raise StoreError(f"the mirror's bundle {n} of {origin} is unreadable: {e}") from e
