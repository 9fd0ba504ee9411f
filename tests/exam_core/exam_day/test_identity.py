"""GB 11643-1999 ID numbers: check character, birth date, province, legacy numbers, hostility."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exam_core.errors import IdentityError
from exam_core.exam_day.identity import (
    CHECK_CHARACTERS,
    PROVINCES,
    check_character,
    parse_id_number,
)

TODAY = dt.date(2026, 6, 1)


def _with_check(first17: str) -> str:
    return first17 + check_character(first17)


def test_published_examples() -> None:
    # research/domain.md §3.2: 11010519491231002X validates; 44030419900101001 → 1.
    parsed = parse_id_number("11010519491231002X", TODAY)
    assert parsed.number == "11010519491231002X"
    assert parsed.birth_date == dt.date(1949, 12, 31)
    assert parsed.province == "11"
    assert parsed.male is False  # sequence 002: even
    assert parsed.converted is False
    assert check_character("44030419900101001") == "1"
    assert parse_id_number("440304199001010011", TODAY).male is True


def test_check_character_is_mod_11_2_with_weights_two_to_the_power() -> None:
    # Weights are 2^(18-i) mod 11; the character for remainder r is (12 - r) mod 11, 10 as X.
    first17 = "34052419800101001"
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    assert check_character(first17) == ("X" if value == 10 else str(value))
    assert (
        "".join("X" if v == 10 else str(v) for v in ((12 - r) % 11 for r in range(11)))
        == CHECK_CHARACTERS
    )


def test_lowercase_x_is_read_as_uppercase() -> None:
    assert parse_id_number("11010519491231002x", TODAY).number == "11010519491231002X"


@pytest.mark.parametrize("wrong", "0123456789X")
def test_every_wrong_check_character_is_refused(wrong: str) -> None:
    first17 = "11010519491231002"
    if wrong == check_character(first17):
        return
    with pytest.raises(IdentityError) as caught:
        parse_id_number(first17 + wrong, TODAY)
    assert caught.value.code == "checksum"


def test_a_single_digit_changed_is_caught() -> None:
    good = "11010519491231002X"
    for i in range(17):
        digit = str((int(good[i]) + 1) % 10)
        with pytest.raises(IdentityError):
            parse_id_number(good[:i] + digit + good[i + 1 :], TODAY)


@pytest.mark.parametrize(
    "date",
    ["19490230", "20230229", "19001301", "19990000", "19991232", "18991231", "20260602"],
)
def test_impossible_or_implausible_birth_dates(date: str) -> None:
    with pytest.raises(IdentityError) as caught:
        parse_id_number(_with_check("110105" + date + "002"), TODAY)
    assert caught.value.code == "birth_date"


def test_leap_day_is_a_date() -> None:
    assert parse_id_number(_with_check("11010520000229002"), TODAY).birth_date.day == 29


def test_future_is_unchecked_without_a_today() -> None:
    assert parse_id_number(_with_check("11010520990101002")).birth_date.year == 2099


@pytest.mark.parametrize(
    "province", ["00", "10", "16", "20", "39", "47", "55", "66", "72", "84", "91", "99"]
)
def test_unknown_province_codes(province: str) -> None:
    with pytest.raises(IdentityError) as caught:
        parse_id_number(_with_check(province + "010519491231002"), TODAY)
    assert caught.value.code == "province"


@pytest.mark.parametrize("province", sorted(PROVINCES))
def test_every_known_province_code(province: str) -> None:
    assert parse_id_number(_with_check(province + "010519800101002"), TODAY).province == province


def test_legacy_fifteen_digit_numbers_are_converted() -> None:
    parsed = parse_id_number("110105491231002", TODAY)
    assert parsed.number == "11010519491231002X"
    assert parsed.converted is True
    assert parsed.birth_date == dt.date(1949, 12, 31)
    # The converted number hashes like the 18-digit one: one person, one keyed hash.
    assert parse_id_number(parsed.number, TODAY).number == parsed.number
    with pytest.raises(IdentityError) as caught:
        parse_id_number("110105490230002", TODAY)
    assert caught.value.code == "birth_date"
    with pytest.raises(IdentityError) as caught:
        parse_id_number("990105491231002", TODAY)
    assert caught.value.code == "province"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1",
        "1101051949123100",  # 16
        "11010519491231002X1",  # 19
        "11010519491231002 ",
        " 11010519491231002X",
        "110105 19491231002X",
        "1101051949123100X2",  # X not last
        "X10105194912310021",
        "+1010519491231002X",
        "-1010519491231002X",
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits
        "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",  # Arabic-Indic digits
        "11010519491231002\u0000",
        "11010519491231002X\n",
        "11010519491231002Y",
        "1" * 10_000,
        "11010549123100",  # 14 legacy
        "11010549123100x",  # legacy with a letter
    ],
)
def test_hostile_strings_are_refused_as_format(text: str) -> None:
    with pytest.raises(IdentityError) as caught:
        parse_id_number(text, TODAY)
    assert caught.value.code == "format"


def test_non_strings_are_refused() -> None:
    for value in (None, 11010519491231002, b"11010519491231002X"):
        with pytest.raises(IdentityError):
            parse_id_number(value, TODAY)  # type: ignore[arg-type]  # ill-typed on purpose


@given(st.text(max_size=40))
def test_any_text_is_valid_or_an_identity_error(text: str) -> None:
    try:
        parsed = parse_id_number(text, TODAY)
    except IdentityError:
        return
    assert len(parsed.number) == 18
    assert parsed.number[17] == check_character(parsed.number[:17])


@given(st.integers(min_value=0, max_value=10**17 - 1))
def test_appending_the_check_character_always_validates_the_digits_that_pass(n: int) -> None:
    number = _with_check(f"{n:017d}")
    code = None
    try:
        parse_id_number(number, TODAY)
    except IdentityError as e:
        code = e.code
    # The check character is right by construction: only the date or province can be wrong.
    assert code in {None, "birth_date", "province"}
