"""``POST /day/sessions/{session}/identify``: the check-in terminal's ID card, read by the centre.

Why it exists: the terminal reads a GB 11643-1999 number from the candidate's ID card, but the
keyed hash that binds a number to a pseudonymous candidate is made under the centre secret,
which never leaves the centre (docs/exam_day.md).  So the terminal sends the number here; the
centre validates it (check character, birth date, province; a legacy 15-digit number converted),
finds the candidate booked for the session, and answers their pseudonymous id and keyed hash —
the two values the terminal then signs into its ``checkin.*`` entry.  The number is not logged.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from api.http.deps import CentreDep, Permit
from api.http.permissions import Permission
from api.http.problems import Problem
from exam_core.errors import ExamDayError
from exam_core.exam_day.db_session import exam_day_session
from exam_core.exam_day.people import centre_secret_for
from exam_core.exam_day.session_rows import identify

router = APIRouter(tags=["exam day"])

Identifier = Annotated[object, Depends(Permit(Permission.IDENTIFY))]
SessionId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/\-]*$")
]


class IdCard(BaseModel):
    """What the terminal read from the card."""

    model_config = ConfigDict(extra="forbid")
    id_number: str = Field(min_length=1, max_length=32)


class Identified(BaseModel):
    candidate: str
    id_hash: str


@router.post(
    "/day/sessions/{session:path}/identify",
    summary="The booked candidate holding an ID card: pseudonymous id and keyed hash",
    responses={422: {"description": "identity-refused: not a valid number, or not booked"}},
)
def identify_card(
    session: SessionId, card: IdCard, centre: CentreDep, _caller: Identifier
) -> Identified:
    try:
        with exam_day_session(centre) as db:
            secret = centre_secret_for(centre.root, db)
            candidate, id_hash = identify(db, secret, session, card.id_number)
    except ExamDayError as e:
        raise Problem("identity-refused", e.message, extra={"code": e.code}) from e
    return Identified(candidate=candidate, id_hash=id_hash)
