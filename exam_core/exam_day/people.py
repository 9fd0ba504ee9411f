"""The people behind keyed hashes: the one place the centre opens one (DESIGN §3.1).

Why it exists: a keyed hash in an entry is opened only for an investigator, and only once the
investigator's signed ``identity.opened`` entry has been sequenced, so that every opening is on
the record.  The caller (the centre's service) appends that entry first and hands it here; this
module checks that it is such an entry and then reads the person from the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from exam_core.db.exam_day import Candidate
from exam_core.errors import PersonalDataError

OPENED = "identity.opened"


@dataclass(frozen=True)
class OpenedIdentity:
    """Who a keyed hash stands for: shown to the investigator whose entry asked for it."""

    candidate: str
    id_number: str
    name: str


def open_keyed_hash(db: Session, opened: Mapping[str, object]) -> OpenedIdentity:
    """The candidate whose ID number has the keyed hash named by the sequenced ``opened`` event.

    Raises:
        RuntimeError: ``opened`` is not an ``identity.opened`` event (a caller bug: the entry
            must be in the log before anything is shown).
        PersonalDataError: no candidate of this centre has that keyed hash.
    """
    if opened.get("type") != OPENED or not isinstance(opened.get("id_hash"), str):
        raise RuntimeError("a keyed hash is opened only for a sequenced identity.opened entry")
    row = db.scalars(select(Candidate).where(Candidate.id_hash == opened["id_hash"])).first()
    if row is None:
        raise PersonalDataError("unknown_hash", "no candidate of this centre has that keyed hash")
    return OpenedIdentity(candidate=row.id, id_number=row.id_number, name=row.name)
