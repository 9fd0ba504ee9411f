"""Strict reading of the CSV files exam centres exchange rosters in.

Why it exists: an import must refuse a bad file as a whole, saying which line is wrong, rather
than import part of it or guess.  So the file is read here, before anything touches the
database, with every rule that does not depend on what a row means:

1. at most ``MAX_FILE_BYTES`` bytes and ``MAX_ROWS`` rows;
2. UTF-8 only: a UTF-8 byte-order mark (as spreadsheet programs write it) is skipped; a UTF-16
   or UTF-32 one, bytes that are not UTF-8 (a GBK or GB18030 export) and NUL bytes are refused;
3. RFC 4180 quoting, read strictly (a stray quote is an error, not data);
4. a header of distinct names that are exactly the expected columns: all required ones, no
   unknown one, in any order;
5. every row has as many fields as the header; no blank row; no field with control characters
   (so no line break), a quote character, leading or trailing spaces, or more than
   ``MAX_FIELD_LEN`` characters.

Line numbers are those of the file, counting from 1 for the header, and name the line where a
row starts (a quoted field may span lines).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from exam_core.errors import ImportFileError

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_ROWS = 100_000
MAX_FIELD_LEN = 1024
MAX_PROBLEMS = 50
"""A refused file lists at most this many problems: enough to fix a file, bounded output."""

_FOREIGN_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class CsvRow:
    """One data row: the line it starts on and its values by column name."""

    line: int
    values: Mapping[str, str]


class Problems:
    """Problems found in a file, (line, message), bounded; raise them all at the end."""

    def __init__(self) -> None:
        self.items: list[tuple[int, str]] = []

    def add(self, line: int, message: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append((line, message))

    def raise_if_any(self) -> None:
        """Refuse the file if any problem was found.

        Raises:
            ImportFileError: listing every problem added, by line.
        """
        if self.items:
            raise ImportFileError(sorted(self.items))

    def __bool__(self) -> bool:
        return bool(self.items)


def _decode(data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError([(0, f"the file is larger than {MAX_FILE_BYTES} bytes")])
    for bom, name in _FOREIGN_BOMS:
        if data.startswith(bom):
            raise ImportFileError([(0, f"the file is {name}; save it as UTF-8")])
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        hint = ""
        try:
            data.decode("gb18030")
            hint = " (it reads as GB18030/GBK: convert the file to UTF-8)"
        except UnicodeDecodeError:
            pass
        raise ImportFileError([(line, f"the file is not UTF-8{hint}")]) from e
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ImportFileError([(line, "NUL byte in the file")])
    if not text.strip():
        raise ImportFileError([(0, "the file is empty")])
    return text


def _check_header(
    header: Sequence[str], required: Iterable[str], optional: Iterable[str]
) -> list[str]:
    problems = []
    known = set(required) | set(optional)
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(f"column {name!r} appears twice")
        seen.add(name)
        if name not in known:
            problems.append(f"unknown column {name!r} (known: {', '.join(sorted(known))})")
    missing = [name for name in required if name not in seen]
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    return problems


def _field_problem(column: str, value: str) -> str | None:
    if len(value) > MAX_FIELD_LEN:
        return f"{column}: longer than {MAX_FIELD_LEN} characters"
    if _CONTROL.search(value) is not None:
        return f"{column}: control character in the value"
    if '"' in value:
        # No column holds a quote; one here is most often a quoting mistake that shifted a field.
        return f"{column}: quote character in the value"
    if value != value.strip():
        return f"{column}: leading or trailing space"
    return None


def read_csv(data: bytes, required: Sequence[str], optional: Sequence[str] = ()) -> list[CsvRow]:
    """The rows of a CSV file whose header names the ``required`` and some ``optional`` columns.

    Absent optional columns read as empty strings in every row.

    Raises:
        ImportFileError: the file breaks one of the module's rules; every problem found is
            listed with its line (up to ``MAX_PROBLEMS``).
    """
    # (1), (2)
    text = _decode(data)
    # (3) newline="" semantics: the csv module sees the line endings itself.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems = Problems()
    rows: list[CsvRow] = []
    try:
        header = next(reader)
        # (4)
        for message in _check_header(header, required, optional):
            problems.add(1, message)
        problems.raise_if_any()
        start = reader.line_num + 1
        for record in reader:
            line, start = start, reader.line_num + 1
            # (5)
            if not record:
                problems.add(line, "blank row")
                continue
            if len(record) != len(header):
                problems.add(line, f"{len(record)} fields, the header has {len(header)}")
                continue
            bad = [p for c, v in zip(header, record, strict=True) if (p := _field_problem(c, v))]
            for message in bad:
                problems.add(line, message)
            if not bad:
                values = dict.fromkeys(optional, "")
                values.update(zip(header, record, strict=True))
                rows.append(CsvRow(line, values))
            if len(rows) > MAX_ROWS:
                problems.add(line, f"more than {MAX_ROWS} rows")
                break
    except csv.Error as e:
        problems.add(reader.line_num, f"not valid CSV: {e}")
    problems.raise_if_any()
    if not rows:
        raise ImportFileError([(0, "the file has a header but no rows")])
    return rows
