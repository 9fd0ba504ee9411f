"""The values of an imported CSV row, checked one column at a time.

Why it exists: every kind of import reads ids, names, licence classes, integers, lists, ID
numbers, key names and times, and each must be refused the same way — with the column named —
whatever file it comes from.  A wrong value raises ``RowError``, which ``rowwise`` records
against the row's line; it never leaves an import.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence

from allocation.roster import LICENCE_CLASSES
from exam_core.db.exam_day import NAME_LEN
from exam_core.errors import ExamDayError, KeyFormatError
from exam_core.exam_day.csv_file import CsvRow, Problems
from exam_core.exam_day.identity import IdNumber, parse_id_number
from exam_core.log.note import check_key_name

PSEUDONYM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}", re.ASCII)
"""The ids of people, schools, sessions, rooms and vehicles (as the log's schemas accept them)."""
EXAM_ID = re.compile(r"[0-9a-f]{32}", re.ASCII)
ROUTE = re.compile(r"[a-z0-9][a-z0-9.\-]*/[0-9]+", re.ASCII)
"""A course map version, as the scorer signs it (``k2-field-a/1``)."""
PLATE = re.compile(
    r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
    r"[A-HJ-NP-Z][A-HJ-NP-Z0-9]{4,6}[学警挂]?"
)
"""A mainland licence plate: province, issuing-office letter, 5 or 6 characters (no I or O)."""
_INTEGER = re.compile(r"0|[1-9][0-9]{0,8}", re.ASCII)
_ISO_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?([+-][0-9]{2}:[0-9]{2}|Z)"
)


class RowError(Exception):
    """One value of a row is wrong; recorded as a problem of that row, never raised further."""


def required(row: CsvRow, column: str) -> str:
    """The non-empty value of ``column``.

    Raises:
        RowError: the value is missing or malformed.
    """
    value = row.values[column]
    if not value:
        raise RowError(f"{column}: empty")
    return value


def pseudonym(row: CsvRow, column: str) -> str:
    """An id in ``column``.

    Raises:
        RowError: the value is missing or malformed.
    """
    value = required(row, column)
    if PSEUDONYM.fullmatch(value) is None:
        raise RowError(f"{column}: {value!r} is not an id (letters, digits, . _ : / -; ≤ 64)")
    return value


def person_name(row: CsvRow) -> str:
    """A person's name in ``name``.

    Raises:
        RowError: the value is missing or malformed.
    """
    value = required(row, "name")
    if len(value) > NAME_LEN:
        raise RowError(f"name: longer than {NAME_LEN} characters")
    return value


def licence_class_of(row: CsvRow, column: str = "licence_class") -> str:
    """A licence class in ``column``.

    Raises:
        RowError: the value is missing or malformed.
    """
    value = required(row, column)
    if value not in LICENCE_CLASSES:
        raise RowError(f"{column}: {value!r} is not a licence class")
    return value


def integer(row: CsvRow, column: str, low: int, high: int) -> int:
    """A decimal integer in ``[low, high]``, without sign or leading zero.

    Raises:
        RowError: the value is missing or malformed.
    """
    value = required(row, column)
    if _INTEGER.fullmatch(value) is None or not low <= int(value) <= high:
        raise RowError(f"{column}: {value!r} is not an integer in [{low}, {high}]")
    return int(value)


def items(row: CsvRow, column: str) -> list[str]:
    """The ``;``-separated items of ``column``, none empty or repeated.

    Raises:
        RowError: the value is missing or malformed.
    """
    value = row.values[column]
    if not value:
        return []
    parts = value.split(";")
    if any(not part for part in parts):
        raise RowError(f"{column}: empty item in the list")
    if len(set(parts)) != len(parts):
        raise RowError(f"{column}: an item appears twice")
    return parts


def id_number(column: str, value: str, today: dt.date | None) -> IdNumber:
    """A resident ID number found in ``column``.

    Raises:
        RowError: the value is missing or malformed.
    """
    try:
        return parse_id_number(value, today)
    except ExamDayError as e:
        raise RowError(f"{column}: {e.message}") from e


def key_name(row: CsvRow, column: str, origin: str) -> str:
    """A full key name under ``origin`` in ``column``.

    Raises:
        RowError: the value is missing or malformed.
    """
    value = required(row, column)
    try:
        check_key_name(value)
    except KeyFormatError as e:
        raise RowError(f"{column}: {e}") from e
    if not value.startswith(origin + "/"):
        raise RowError(f"{column}: a full key name under {origin}/")
    return value


def start_ms(row: CsvRow) -> int:
    """The ISO 8601 time with offset in ``start``, as Unix milliseconds.

    Raises:
        RowError: the value is missing or malformed.
    """
    value = required(row, "start")
    if _ISO_TIME.fullmatch(value) is None:
        raise RowError("start: not an ISO 8601 time with its UTC offset (2026-03-02T08:30+08:00)")
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError as e:
        raise RowError(f"start: {e}") from e
    return int(when.timestamp()) * 1000


class UniqueKeys:
    """Refuses a key already seen on an earlier line of the file."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.lines: dict[object, int] = {}

    def claim(self, key: object, line: int, shown: object | None = None) -> None:
        """Claim ``key`` for ``line`` (``shown`` is how a refusal names it).

        Raises:
            RowError: ``key`` was claimed on another line.
        """
        first = self.lines.setdefault(key, line)
        if first != line:
            label = shown if shown is not None else key
            raise RowError(f"{self.what} {label} is also on line {first}")


def rowwise(rows: Sequence[CsvRow], problems: Problems, handle: Callable[[CsvRow], None]) -> None:
    """Call ``handle`` on every row; a ``RowError`` becomes a problem of that row's line."""
    for row in rows:
        try:
            handle(row)
        except RowError as e:
            problems.add(row.line, str(e))
