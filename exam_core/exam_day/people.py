"""The people behind keyed hashes: the centre secret they depend on, and opening one.

Why it exists: a keyed hash in an entry is opened only for an investigator, and only once the
investigator's signed ``identity.opened`` entry has been sequenced, so that every opening is on
the record (DESIGN §3.1).  The caller (the centre's service) appends that entry first and hands
it here; ``open_keyed_hash`` checks that it is such an entry and then reads the person from the
database.  ``centre_secret_for`` creates the centre secret on first use, and refuses to create
a new one once the database holds hashes made under a lost one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from exam_core.db.exam_day import Candidate, ExaminerRelative
from exam_core.errors import PersonalDataError
from exam_core.exam_day.secret import (
    SECRET_FILE,
    CentreSecret,
    create_centre_secret,
    has_centre_secret,
    read_centre_secret,
)

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


def centre_secret_for(root: Path, db: Session) -> CentreSecret:
    """The centre secret of centre directory ``root``, created if the database has no hashes yet.

    Raises:
        PersonalDataError: the secret is unreadable, or missing while the database holds keyed
            hashes or sealed photos (a new secret would silently orphan them: restore the file).
    """
    if has_centre_secret(root):
        return read_centre_secret(root)
    hashed = db.scalar(select(select(Candidate.id).exists())) or db.scalar(
        select(select(ExaminerRelative.id_hash).exists())
    )
    if hashed:
        raise PersonalDataError(
            "secret_lost",
            f"{root / SECRET_FILE} is missing but the database holds keyed hashes made under "
            "it; restore it from the backup",
        )
    return create_centre_secret(root)
