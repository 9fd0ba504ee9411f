"""CSV files of a small centre for import tests: valid by default, easy to spoil line by line."""

from __future__ import annotations

from exam_core.exam_day.identity import check_character

ORIGIN = "exam.example/c/370100-01"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60


def id_number(n: int, born: str = "19900101") -> str:
    """A valid 18-character ID number, distinct for each ``n`` (0..999)."""
    first17 = "370102" + born + f"{n:03d}"
    return first17 + check_character(first17)


def csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


EXAMINERS = csv(
    "examiner_id,name,classes,former_schools,relatives",
    "E01,李四,C1;C2,school-9,",
    f"E02,王五,C1,,{id_number(900)}",
    "E03,赵六,C1,school-1;school-2,",
)
CANDIDATES = csv(
    "id_number,name,licence_class,school_id,previous_attempts,last_failed_examiner,last_failed_exam,photo",
    f"{id_number(1)},张三,C1,school-1,0,,,c1.jpg",
    f"{id_number(2)},钱七,C1,school-2,1,E01,{'ab' * 16},",
    f"{id_number(3)},孙八,C1,school-1,0,,,",
)
VEHICLES = csv(
    "vehicle_id,plate,licence_class,unit_key",
    f"car-01,鲁A1001学,C1,{ORIGIN}/vehicle/car-01",
    f"car-02,鲁A1002学,C1,{ORIGIN}/vehicle/car-02",
)
SESSIONS = csv(
    "session_id,subject,licence_class,room,route,start,seal_opens_min,seal_closes_min",
    "s-am,2,C1,field-1,k2-field-a/1,2026-03-02T08:30:00+08:00,30,10",
)
CREWS = csv(
    "session_id,examiner_id,tablet_key,vehicle_id",
    f"s-am,E01,{ORIGIN}/tablet/T01,car-01",
    f"s-am,E02,{ORIGIN}/tablet/T02,car-02",
)
BOOKINGS = csv(
    "session_id,id_number",
    f"s-am,{id_number(1)}",
    f"s-am,{id_number(2)}",
    f"s-am,{id_number(3)}",
)
