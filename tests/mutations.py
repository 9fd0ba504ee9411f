"""Seeded mutations of valid files into hostile ones, shared by the fuzz tests.

Each mutation is what an attacker or a damaged disk does to a file: bit flips, truncation,
integers far outside ±(2^53−1) (5,000 digits passes Python's own conversion limit), nesting
100,000 deep, invalid UTF-8, control characters, a value replaced by one of another type,
repeated slices and random bytes.  A ``random.Random`` drives every choice, so a seed names
one run exactly.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from typing import Any

HUGE_INTEGERS = (
    b"1" * 5_000,
    b"-" + b"9" * 400,
    b"9007199254740992",
    b"-9007199254740992",
    b"18446744073709551616",
    b"99999999999999999999",
)
DEEP = 100_000
BAD_UTF8 = (b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf")
CONTROLS = (b"\x00", b"\x1b[2J", b"\r", b"\x7f", "\u0085".encode(), b"\t", b"\n", b"\x1b]0;x\x07")
OTHER_TYPES: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    2**53,
    10**30,
    "x",
    "",
    [],
    {},
    [[]],
    {"a": []},
    1.5,
    "\x00",
    "../../etc",
)
_DIGITS = re.compile(rb"-?[0-9]+")


def _at(data: bytes, rng: random.Random) -> int:
    return rng.randrange(len(data) + 1)


def bit_flips(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return b"\x00"
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def truncation(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _value_runs(data: bytes) -> list[re.Match[bytes]]:
    """Digit runs that are JSON numbers (after ``:``, ``,`` or ``[``), else any digit runs."""
    runs = list(_DIGITS.finditer(data))
    values = [r for r in runs if r.start() > 0 and data[r.start() - 1 : r.start()] in b":,[ "]
    return values or runs


def huge_integer(data: bytes, rng: random.Random) -> bytes:
    digits = HUGE_INTEGERS[0] if rng.random() < 0.5 else rng.choice(HUGE_INTEGERS)
    runs = _value_runs(data)
    if runs:
        run = rng.choice(runs)
        return data[: run.start()] + digits + data[run.end() :]
    i = _at(data, rng)
    return data[:i] + digits + data[i:]


def deep_nesting(data: bytes, rng: random.Random) -> bytes:
    """A value replaced by arrays or objects nested ``DEEP`` levels, or the whole document."""
    nested = (
        b"[" * DEEP + b"]" * DEEP if rng.random() < 0.5 else b'{"a":' * DEEP + b"1" + b"}" * DEEP
    )
    runs = _value_runs(data)
    if runs and rng.random() < 0.75:
        run = rng.choice(runs)
        return data[: run.start()] + nested + data[run.end() :]
    return b"[" * DEEP + data + b"]" * DEEP


def invalid_utf8(data: bytes, rng: random.Random) -> bytes:
    i = _at(data, rng)
    return data[:i] + rng.choice(BAD_UTF8) + data[i:]


def control_character(data: bytes, rng: random.Random) -> bytes:
    i = _at(data, rng)
    return data[:i] + rng.choice(CONTROLS) + data[i:]


def wrong_type(data: bytes, rng: random.Random) -> bytes:
    """Replace one value of a JSON document (the whole of it, perhaps) by one of another type."""
    try:
        doc = json.loads(data)
    except ValueError:
        return bit_flips(data, rng)
    paths: list[list[Any]] = []

    def walk(value: Any, path: list[Any]) -> None:
        paths.append(path)
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, [*path, key])
        elif isinstance(value, list):
            for n, item in enumerate(value):
                walk(item, [*path, n])

    walk(doc, [])
    path = rng.choice(paths)
    replacement = rng.choice(OTHER_TYPES)
    if not path:
        doc = replacement
    else:
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = replacement
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


def repeated_slice(data: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(data) + 1)
    j = rng.randrange(i, len(data) + 1)
    return data[:j] + data[i:j] * rng.randint(1, 3) + data[j:]


def random_bytes(data: bytes, rng: random.Random) -> bytes:
    i = _at(data, rng)
    return data[:i] + rng.randbytes(rng.randint(1, 8)) + data[i:]


MUTATIONS: tuple[Callable[[bytes, random.Random], bytes], ...] = (
    bit_flips,
    truncation,
    huge_integer,
    deep_nesting,
    invalid_utf8,
    control_character,
    wrong_type,
    repeated_slice,
    random_bytes,
)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One mutation of ``data``, chosen by ``rng``."""
    return rng.choice(MUTATIONS)(data, rng)


def every_mutation(data: bytes, rng: random.Random) -> list[bytes]:
    """One mutation of each kind, so that even a short run tries them all."""
    return [mutation(data, rng) for mutation in MUTATIONS]


def refusal_share(
    parse: Callable[[bytes], object],
    seeds: list[bytes],
    label: str,
    rounds: int,
    refusal: type[Exception],
) -> float:
    """Feed ``parse`` one mutation of each kind per seed and ``rounds`` more (seeded by
    ``label``); return the share it refused with ``refusal``.  Any other exception escapes
    to the caller: that is the defect the fuzz tests look for."""
    rng = random.Random(label)
    cases = [m for seed in seeds for m in every_mutation(seed, rng)]
    cases += [mutate(rng.choice(seeds), rng) for _ in range(rounds)]
    refused = 0
    for data in cases:
        try:
            parse(data)
        except refusal:
            refused += 1
    return refused / len(cases)
