"""CSV imports on SQLite and PostgreSQL: whole files or nothing, every bad line named."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exam_core.db.exam_day import (
    Booking,
    Candidate,
    Examiner,
    ExaminerClass,
    ExaminerFormerSchool,
    ExaminerRelative,
    ExamSession,
    SessionCrew,
    SessionRoute,
    Vehicle,
)
from exam_core.errors import ExamDayError, ImportFileError
from exam_core.exam_day.csv_file import MAX_FILE_BYTES
from exam_core.exam_day.imports import ImportContext, import_csv
from tests.exam_core.exam_day import roster_files as rf
from tests.exam_core.exam_day.conftest import SECRET


def count(db: Session, model: type) -> int:
    result = db.scalar(select(func.count()).select_from(model))
    db.rollback()
    return int(result or 0)


def refused(db: Session, kind: str, data: bytes, context: ImportContext) -> list[tuple[int, str]]:
    with pytest.raises(ImportFileError) as caught:
        import_csv(db, kind, data, context)
    assert not db.in_transaction()
    return caught.value.problems


def load_all(db: Session, context: ImportContext) -> None:
    for kind, data in (
        ("examiners", rf.EXAMINERS),
        ("candidates", rf.CANDIDATES),
        ("vehicles", rf.VEHICLES),
        ("sessions", rf.SESSIONS),
        ("crews", rf.CREWS),
        ("bookings", rf.BOOKINGS),
    ):
        assert import_csv(db, kind, data, context).rows == data.count(b"\n") - 1


def test_a_whole_centre_imports(db: Session, context: ImportContext) -> None:
    load_all(db, context)
    assert count(db, Examiner) == 3
    assert count(db, ExaminerClass) == 4
    assert count(db, ExaminerFormerSchool) == 3
    relative = db.scalars(select(ExaminerRelative)).one()
    assert (relative.examiner_id, relative.id_hash) == ("E02", SECRET.id_hash(rf.id_number(900)))
    first = db.get(Candidate, "c-0001")
    assert first is not None
    assert first.id_number == rf.id_number(1)
    assert first.id_hash == SECRET.id_hash(rf.id_number(1))
    assert first.photo is not None
    assert SECRET.open_photo("c-0001", first.photo) == rf.JPEG
    second = db.get(Candidate, "c-0002")
    assert second is not None
    assert (second.last_failed_examiner_id, second.previous_attempts) == ("E01", 1)
    session = db.get(ExamSession, "s-am")
    assert session is not None
    start = int(dt.datetime(2026, 3, 2, 0, 30, tzinfo=dt.UTC).timestamp() * 1000)
    assert (session.start_ms, session.seal_from_ms, session.seal_until_ms) == (
        start,
        start - 30 * 60_000,
        start - 10 * 60_000,
    )
    assert session.face_threshold == 800
    assert count(db, SessionCrew) == 2
    assert count(db, Booking) == 3
    assert count(db, Vehicle) == 2


def test_legacy_numbers_book_the_same_candidate(db: Session, context: ImportContext) -> None:
    load_all(db, context)
    legacy = rf.csv(
        "id_number,name,licence_class,school_id,previous_attempts", "370102800101004,周九,C1,s,0"
    )
    import_csv(db, "candidates", legacy, context)
    session = rf.csv(
        "session_id,subject,licence_class,room,route,start,seal_opens_min,seal_closes_min",
        "s-pm,2,C1,field-1,k2-field-a/1,2026-03-02T14:00+08:00,30,10",
    )
    import_csv(db, "sessions", session, context)
    converted = rf.id_number(4, "19800101")
    import_csv(db, "bookings", rf.csv("session_id,id_number", f"s-pm,{converted}"), context)
    # The 18-digit form of the same number is the same person: booked once already.
    problems = refused(
        db, "bookings", rf.csv("session_id,id_number", "s-pm,370102800101004"), context
    )
    assert problems == [(2, "this candidate is booked for s-pm already")]


def _spoil(data: bytes, line: int, text: str) -> bytes:
    lines = data.decode().splitlines()
    lines[line - 1] = text
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    ("line", "text", "message"),
    [
        (3, "E02,王五,C1;Z9,,", "classes: 'Z9' is not a licence class"),
        (3, "E02,王五,,,", "classes: at least one licence class"),
        (3, "E02,王五,C1;C1,,", "classes: an item appears twice"),
        (3, "E01,王五,C1,,", "examiner_id E01 is also on line 2"),
        (3, "E 2,王五,C1,,", "examiner_id: 'E 2' is not an id"),
        (3, f"E02,{'名' * 65},C1,,", "name: longer than 64 characters"),
        (3, "E02,王五,C1,,110105194912310021", "relatives: the check character does not match"),
        (3, "E02,王五,C1,school 1,", "former_schools: 'school 1' is not an id"),
        (3, "E02,王五,C1,a;;b,", "former_schools: empty item in the list"),
    ],
)
def test_a_bad_examiner_row_refuses_the_file(
    db: Session, context: ImportContext, line: int, text: str, message: str
) -> None:
    problems = refused(db, "examiners", _spoil(rf.EXAMINERS, line, text), context)
    assert len(problems) == 1
    assert problems[0][0] == line
    assert problems[0][1].startswith(message)
    assert count(db, Examiner) == 0
    assert count(db, ExaminerClass) == 0


@pytest.mark.parametrize(
    ("line", "text", "message"),
    [
        (2, f"{rf.id_number(1)[:-1]}0,张三,C1,s,0,,,", "id_number: the check character"),
        (
            2,
            f"{rf.id_number(1, '19900230')},张三,C1,s,0,,,",
            "id_number: 19900230 is not a calendar date",
        ),
        (2, f"{rf.id_number(1, '20270101')},张三,C1,s,0,,,", "id_number: birth date 2027-01-01"),
        (3, f"{rf.id_number(1)},钱七,C1,s,0,,,", "ID number"),
        (2, f"{rf.id_number(1)},张三,C1,s,-1,,,", "previous_attempts: '-1'"),
        (2, f"{rf.id_number(1)},张三,C1,s,01,,,", "previous_attempts: '01'"),
        (
            2,
            f"{rf.id_number(1)},张三,C1,s,1,E99,{'ab' * 16},",
            "last_failed_examiner: no examiner E99",
        ),
        (2, f"{rf.id_number(1)},张三,C1,s,1,E01,,", "last_failed_examiner and last_failed_exam"),
        (2, f"{rf.id_number(1)},张三,C1,s,1,E01,XYZ,", "last_failed_exam: an exam id"),
        (2, f"{rf.id_number(1)},张三,C1,s,0,E01,{'ab' * 16},", "previous_attempts: 0, yet"),
        (2, f"{rf.id_number(1)},张三,Q1,s,0,,,", "licence_class: 'Q1'"),
        (2, f"{rf.id_number(1)},张三,C1,s,0,,,../c1.jpg", "photo: '../c1.jpg' is not a plain"),
        (2, f"{rf.id_number(1)},张三,C1,s,0,,,absent.jpg", "photo: absent.jpg:"),
        (2, f"{rf.id_number(1)},张三,C1,s,0,,,text.png", "photo: text.png is not a JPEG or PNG"),
        (2, f"{rf.id_number(1)},张三,C1,s,0,,,link.jpg", "photo: link.jpg:"),
    ],
)
def test_a_bad_candidate_row_refuses_the_file(
    db: Session, context: ImportContext, tmp_path: Path, line: int, text: str, message: str
) -> None:
    import_csv(db, "examiners", rf.EXAMINERS, context)
    (tmp_path / "text.png").write_bytes(b"not an image")
    (tmp_path / "link.jpg").symlink_to(tmp_path / "c1.jpg")
    problems = refused(db, "candidates", _spoil(rf.CANDIDATES, line, text), context)
    assert [p[0] for p in problems] == [line], problems
    assert message in problems[0][1], problems
    assert count(db, Candidate) == 0


def test_every_bad_line_is_listed(db: Session, context: ImportContext) -> None:
    data = rf.csv(
        "vehicle_id,plate,licence_class,unit_key",
        f"car-01,鲁A1001学,C1,{rf.ORIGIN}/vehicle/car-01",
        f"car-02,ABC,C1,{rf.ORIGIN}/vehicle/car-02",
        "car-03,鲁A1003学,C1,other.example/vehicle/car-03",
        f"car-04,鲁A1001学,C1,{rf.ORIGIN}/vehicle/car-04",
        f"car-05,鲁A1005学,C1,{rf.ORIGIN}/vehicle/car-01",
    )
    problems = refused(db, "vehicles", data, context)
    assert [line for line, _ in problems] == [3, 4, 5, 6]
    assert "plate: 'ABC'" in problems[0][1]
    assert f"a full key name under {rf.ORIGIN}/" in problems[1][1]
    assert "plate 鲁A1001学 is also on line 2" in problems[2][1]
    assert "is also on line 2" in problems[3][1]
    assert count(db, Vehicle) == 0


def test_rows_clashing_with_the_database_refuse_the_file(
    db: Session, context: ImportContext
) -> None:
    load_all(db, context)
    again = {
        "examiners": (
            rf.csv("examiner_id,name,classes", "E09,新,C1", "E01,重,C1"),
            "examiner E01 exists already",
        ),
        "candidates": (
            rf.csv(
                "id_number,name,licence_class,school_id,previous_attempts",
                f"{rf.id_number(3)},孙,C1,s,0",
            ),
            "this candidate exists already",
        ),
        "vehicles": (
            rf.csv(
                "vehicle_id,plate,licence_class,unit_key",
                f"car-09,鲁A1001学,C1,{rf.ORIGIN}/vehicle/car-09",
            ),
            "plate 鲁A1001学 exists already",
        ),
        "sessions": (rf.SESSIONS, "session s-am exists already"),
        "crews": (
            rf.csv(
                "session_id,examiner_id,tablet_key,vehicle_id",
                f"s-am,E03,{rf.ORIGIN}/tablet/T01,car-01",
            ),
            "serves s-am already",
        ),
        "bookings": (
            rf.csv("session_id,id_number", f"s-am,{rf.id_number(2)}"),
            "booked for s-am already",
        ),
    }
    before = {
        m: count(db, m) for m in (Examiner, Candidate, Vehicle, ExamSession, SessionCrew, Booking)
    }
    for kind, (data, message) in again.items():
        problems = refused(db, kind, data, context)
        assert message in problems[-1][1], (kind, problems)
    assert before == {m: count(db, m) for m in before}


def test_references_must_exist_and_agree(db: Session, context: ImportContext) -> None:
    load_all(db, context)
    session = rf.csv(
        "session_id,subject,licence_class,room,route,start,seal_opens_min,seal_closes_min,face_threshold",
        "s-x,4,C1,field-1,k2-field-a/1,2026-03-02T08:30+08:00,30,10,",
        "s-y,2,C1,room-9,k2-field-a/1,2026-03-02T08:30+08:00,30,10,",
        "s-z,2,C1,field-1,k2-field-a/1,2026-03-02 08:30,30,10,",
        "s-w,2,C1,field-1,k2-field-a/1,2026-03-02T08:30+08:00,10,30,",
        "s-v,2,C1,field-1,k2-field-a/1,2026-02-30T08:30+08:00,30,10,",
        "s-u,2,C1,field-1,k2-field-a/1,2026-03-02T08:30+08:00,30,10,1001",
        "s-t,3,C1,field-1,route a,2026-03-02T08:30+08:00,30,10,",
    )
    problems = refused(db, "sessions", session, context)
    assert [line for line, _ in problems] == [2, 3, 4, 5, 6, 7, 8]
    crews = rf.csv(
        "session_id,examiner_id,tablet_key,vehicle_id",
        f"s-am,E99,{rf.ORIGIN}/tablet/T09,car-01",
        f"s-no,E03,{rf.ORIGIN}/tablet/T09,car-01",
        f"s-am,E03,{rf.ORIGIN}/tablet/T09,car-99",
    )
    problems = refused(db, "crews", crews, context)
    assert [m.split(":")[0] for _, m in problems] == ["examiner_id", "session_id", "vehicle_id"]
    bookings = rf.csv("session_id,id_number", f"s-am,{rf.id_number(77)}", f"s-no,{rf.id_number(1)}")
    problems = refused(db, "bookings", bookings, context)
    assert problems == [
        (2, "id_number: no candidate with this ID number"),
        (3, "session_id: no session s-no"),
    ]


def test_classes_must_match_the_session(db: Session, context: ImportContext) -> None:
    load_all(db, context)
    import_csv(db, "examiners", rf.csv("examiner_id,name,classes", "E04,钱,A1"), context)
    import_csv(
        db,
        "vehicles",
        rf.csv(
            "vehicle_id,plate,licence_class,unit_key",
            f"bus-1,鲁A2001学,A1,{rf.ORIGIN}/vehicle/bus-1",
        ),
        context,
    )
    crews = rf.csv(
        "session_id,examiner_id,tablet_key,vehicle_id",
        f"s-am,E04,{rf.ORIGIN}/tablet/T04,car-01",
        f"s-am,E03,{rf.ORIGIN}/tablet/T03,bus-1",
    )
    problems = refused(db, "crews", crews, context)
    assert problems == [
        (2, "examiner E04 may not examine class C1"),
        (3, "vehicle bus-1 is class A1, the session C1"),
    ]


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b"", 0, "the file is empty"),
        (b"examiner_id,name,classes\n", 0, "no rows"),
        (b"examiner_id,name,classes,colour\nE01,a,C1,red\n", 1, "unknown column 'colour'"),
        (b"examiner_id,name\nE01,a\n", 1, "missing column(s) classes"),
        (b"examiner_id,name,classes,name\nE01,a,C1,b\n", 1, "column 'name' appears twice"),
        (b"examiner_id,name,classes\nE01,a\n", 2, "2 fields, the header has 3"),
        (b"examiner_id,name,classes\nE01,a,C1,\n", 2, "4 fields"),
        (b"examiner_id,name,classes\n\nE01,a,C1\n", 2, "blank row"),
        (b'examiner_id,name,classes\nE01,"a,C1\n', 2, "not valid CSV"),
        (b'examiner_id,name,classes\nE01,"a"b,C1\n', 2, "not valid CSV"),
        (b'examiner_id,name,classes\nE01,a"b,C1\n', 2, "quote character"),
        (b'examiner_id,name,classes\nE01,"a\nb",C1\n', 2, "control character"),
        (b"examiner_id,name,classes\nE01, a,C1\n", 2, "leading or trailing space"),
        (b"examiner_id,name,classes\nE01,a\x00,C1\n", 2, "NUL byte"),
        (b"examiner_id,name,classes\nE01,\xe5\xbc\xa0\x85,C1\n", 2, "not UTF-8"),
        ("examiner_id,name,classes\nE01,张三,C1\n".encode("gb18030"), 2, "GB18030"),
        ("examiner_id,name,classes\nE01,a,C1\n".encode("utf-16"), 0, "UTF-16"),
        ("examiner_id,name,classes\nE01,a,C1\n".encode("utf-32"), 0, "UTF-32"),
        (b"x" * (MAX_FILE_BYTES + 1), 0, "larger than"),
        (b"examiner_id,name,classes\nE01," + b"a" * 2000 + b",C1\n", 2, "longer than 1024"),
    ],
)
def test_malformed_files_are_refused(
    db: Session, context: ImportContext, data: bytes, line: int, message: str
) -> None:
    problems = refused(db, "examiners", data, context)
    assert problems[0][0] == line, problems
    assert message in problems[0][1], problems
    assert count(db, Examiner) == 0


def test_a_utf8_byte_order_mark_is_skipped(db: Session, context: ImportContext) -> None:
    assert import_csv(db, "examiners", b"\xef\xbb\xbf" + rf.EXAMINERS, context).rows == 3
    assert count(db, Examiner) == 3


def test_columns_in_any_order_and_crlf_lines(db: Session, context: ImportContext) -> None:
    data = b"classes,name,examiner_id\r\nC1,a,E01\r\nC2,b,E02\r\n"
    assert import_csv(db, "examiners", data, context).rows == 2
    assert db.get(ExaminerClass, ("E02", "C2")) is not None


def test_unknown_kind_is_refused(db: Session, context: ImportContext) -> None:
    with pytest.raises(ExamDayError, match="unknown_kind"):
        import_csv(db, "rooms", rf.EXAMINERS, context)


def test_a_refused_file_leaves_the_database_usable(db: Session, context: ImportContext) -> None:
    refused(db, "examiners", _spoil(rf.EXAMINERS, 4, "E03,赵六,XX,,"), context)
    assert import_csv(db, "examiners", rf.EXAMINERS, context).rows == 3


ROUTED_SESSIONS = rf.csv(
    "session_id,subject,licence_class,room,route,start,seal_opens_min,seal_closes_min",
    "s-k3,3,C1,field-1,k3-north/2;k3-east/1;k3-west/4,2026-03-02T13:30:00+08:00,30,10",
    "s-one,3,C1,field-1,k3-north/2,2026-03-02T15:30:00+08:00,30,10",
)


def test_a_k3_session_lists_its_approved_routes(db: Session, context: ImportContext) -> None:
    assert import_csv(db, "sessions", ROUTED_SESSIONS, context).rows == 2
    k3 = db.get(ExamSession, "s-k3")
    assert k3 is not None
    assert k3.route == "k3-north/2"  # the first listed is the session's route
    assert set(db.scalars(select(SessionRoute.route).where(SessionRoute.session_id == "s-k3"))) == {
        "k3-north/2",
        "k3-east/1",
        "k3-west/4",
    }
    # one route: as before, the session's route and no approved-routes rows
    one = db.get(ExamSession, "s-one")
    assert one is not None
    assert one.route == "k3-north/2"
    assert count(db, SessionRoute) == 3


def test_bad_route_lists_are_refused_by_line(db: Session, context: ImportContext) -> None:
    header = "session_id,subject,licence_class,room,route,start,seal_opens_min,seal_closes_min"
    start = "2026-03-02T08:30+08:00,30,10"
    too_many = ";".join(f"r{k}/1" for k in range(33))
    sessions = rf.csv(
        header,
        f"s-ok,3,C1,field-1,k3-a/1;k3-b/1,{start}",
        f"s-k2,2,C1,field-1,k2-field-a/1;k2-field-b/1,{start}",
        f"s-twice,3,C1,field-1,k3-a/1;k3-a/1,{start}",
        f"s-empty,3,C1,field-1,k3-a/1;,{start}",
        f"s-bad,3,C1,field-1,k3-a/1;route b,{start}",
        f"s-many,3,C1,field-1,{too_many},{start}",
    )
    problems = refused(db, "sessions", sessions, context)
    assert problems == [
        (3, "route: only a 科目三 (subject 3) session draws its route among several"),
        (4, "route: an item appears twice"),
        (5, "route: empty item in the list"),
        (6, "route: 'route b' is not a course map version (name/N)"),
        (7, "route: more than 32 approved routes"),
    ]
    assert count(db, ExamSession) == 0
    assert count(db, SessionRoute) == 0
