"""Opening a keyed hash: only for an investigator, only after the opening is in the log."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from exam_core.centre.centre import Centre
from exam_core.db.engine import make_engine
from exam_core.db.exam_day import Candidate
from exam_core.errors import EntryError, PersonalDataError
from exam_core.exam_day.people import open_keyed_hash
from exam_core.exam_day.secret import CentreSecret
from exam_core.log.entry import parse_entry
from exam_core.log.schemas.types import INVESTIGATOR, TERMINAL

NUMBER = "11010519491231002X"
SECRET = CentreSecret(bytes(range(32)))


def _people(engine: Engine) -> str:
    id_hash = SECRET.id_hash(NUMBER)
    with Session(engine) as db, db.begin():
        db.add(
            Candidate(
                id="c-1",
                id_number=NUMBER,
                id_hash=id_hash,
                name="张三",
                licence_class="C1",
                school_id="school-1",
                previous_attempts=0,
            )
        )
    return id_hash


def test_investigator_opens_a_keyed_hash_on_the_record(centre: Centre, db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        id_hash = _people(engine)
        investigator = centre.register_key("investigator/i1", INVESTIGATOR)
        fields = {"id_hash": id_hash, "case": "case-2026-017", "basis": "investigation"}
        index = centre.append(investigator, "identity.opened", fields)
        opened = parse_entry(centre.store.entry(index)).event
        with Session(engine) as db:
            person = open_keyed_hash(db, opened)
            assert (person.candidate, person.id_number, person.name) == ("c-1", NUMBER, "张三")
            unknown = dict(opened, id_hash="00" * 32)
            with pytest.raises(PersonalDataError, match="no candidate"):
                open_keyed_hash(db, unknown)
            with pytest.raises(RuntimeError, match=r"identity\.opened"):
                open_keyed_hash(db, dict(opened, type="checkin.verified"))
    finally:
        engine.dispose()


def test_only_an_investigator_may_sign_an_opening(centre: Centre) -> None:
    terminal = centre.register_key("terminal/k1", TERMINAL)
    fields = {"id_hash": "ab" * 32, "case": "c1", "basis": "investigation"}
    with pytest.raises(EntryError, match="role_forbidden"):
        centre.append(terminal, "identity.opened", fields)
    investigator = centre.register_key("investigator/i1", INVESTIGATOR)
    for bad in (
        dict(fields, basis="curiosity"),
        dict(fields, id_hash="AB" * 32),
        dict(fields, case="张三"),
        dict(fields, name="张三"),
    ):
        with pytest.raises(EntryError, match="schema"):
            centre.append(investigator, "identity.opened", bad)
