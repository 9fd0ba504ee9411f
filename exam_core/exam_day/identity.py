"""Resident ID numbers (GB 11643-1999): the check-in terminal's first test of a candidate.

Why it exists: the number read from the ID card is what binds a candidate to their booking, and
the keyed hash of its normalised form is what check-in entries carry (DESIGN §3.1, §7).  So the
number is validated strictly and normalised once, here, before it is hashed or looked up:

1. 18 characters: a 6-digit address code, an 8-digit birth date ``YYYYMMDD``, a 3-digit
   sequence code (odd: male, even: female) and a check character;
2. the check character is ISO 7064:1983 MOD 11-2: ``"10X98765432"[Σ a_i·W_i mod 11]`` with
   ``W_i = 2^(18−i) mod 11`` (research/domain.md §3.2);
3. the birth date is a real calendar date, not before 1900 and not after today;
4. the first two digits are a province-level code of GB/T 2260 (or 83, which the residence
   permits of Taiwan residents use);
5. a legacy 15-digit number (no check character, two-digit year) is converted by inserting
   ``19`` after the address code and computing the check character, then checked as above.

Only ASCII digits count (``str.isdigit`` would accept full-width and other scripts' digits);
a lowercase ``x`` is read as ``X``; anything else — spaces, signs, control characters, more or
fewer characters — is refused with an ``IdentityError`` that says which check failed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from exam_core.errors import IdentityError

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
MAX_INPUT_LEN = 32
"""Longer input is refused before any pattern is matched against it."""
EARLIEST_BIRTH = dt.date(1900, 1, 1)

PROVINCES: dict[str, str] = {
    "11": "北京",
    "12": "天津",
    "13": "河北",
    "14": "山西",
    "15": "内蒙古",
    "21": "辽宁",
    "22": "吉林",
    "23": "黑龙江",
    "31": "上海",
    "32": "江苏",
    "33": "浙江",
    "34": "安徽",
    "35": "福建",
    "36": "江西",
    "37": "山东",
    "41": "河南",
    "42": "湖北",
    "43": "湖南",
    "44": "广东",
    "45": "广西",
    "46": "海南",
    "50": "重庆",
    "51": "四川",
    "52": "贵州",
    "53": "云南",
    "54": "西藏",
    "61": "陕西",
    "62": "甘肃",
    "63": "青海",
    "64": "宁夏",
    "65": "新疆",
    "71": "台湾",
    "81": "香港",
    "82": "澳门",
    "83": "台湾居民居住证",
}
"""Province-level codes of GB/T 2260 (the first two digits of the address code)."""

_EIGHTEEN = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
_FIFTEEN = re.compile(r"[0-9]{15}", re.ASCII)


@dataclass(frozen=True)
class IdNumber:
    """A valid resident ID number in its 18-character form, and what it says."""

    number: str
    birth_date: dt.date
    province: str
    """The two-digit province code."""
    male: bool
    converted: bool
    """Whether it was given as a legacy 15-digit number."""


def check_character(first17: str) -> str:
    """The GB 11643-1999 check character of the first 17 digits.

    Raises:
        IdentityError: ``first17`` is not 17 ASCII digits.
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise IdentityError("format", "the check character is computed over 17 ASCII digits")
    return CHECK_CHARACTERS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def parse_id_number(text: str, today: dt.date | None = None) -> IdNumber:
    """Validate and normalise an 18- or legacy 15-digit resident ID number.

    ``today`` bounds the birth date (the caller's clock; None leaves the future unchecked).

    Raises:
        IdentityError: with ``code`` ``format``, ``checksum``, ``birth_date`` or ``province``.
    """
    if not isinstance(text, str):
        raise IdentityError("format", "an ID number is a string")
    if len(text) > MAX_INPUT_LEN:
        raise IdentityError("format", f"an ID number has 18 characters, not {len(text)}")
    converted = False
    # (5) a legacy number gets the century and a check character, then is checked like any other
    if _FIFTEEN.fullmatch(text) is not None:
        first17 = text[:6] + "19" + text[6:]
        number = first17 + check_character(first17)
        converted = True
    else:
        # (1) the shape, with a lowercase x read as X
        number = text[:17] + text[17:].replace("x", "X")
        if _EIGHTEEN.fullmatch(number) is None:
            raise IdentityError(
                "format", "an ID number is 17 digits and a digit or X (or 15 legacy digits)"
            )
        # (2) the check character
        expected = check_character(number[:17])
        if number[17] != expected:
            raise IdentityError("checksum", "the check character does not match the number")
    # (3) a real birth date
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as e:
        raise IdentityError("birth_date", f"{number[6:14]} is not a calendar date") from e
    if born < EARLIEST_BIRTH or (today is not None and born > today):
        raise IdentityError("birth_date", f"birth date {born.isoformat()} is not plausible")
    # (4) a province that exists
    province = number[:2]
    if province not in PROVINCES:
        raise IdentityError("province", f"{province} is not a province code of GB/T 2260")
    return IdNumber(
        number=number,
        birth_date=born,
        province=province,
        male=int(number[16]) % 2 == 1,
        converted=converted,
    )
