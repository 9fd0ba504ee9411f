"""AT-command framing for the jamming canary modem (Telit ``AT#JDR``, research/domain.md §5.2).

Why it exists: a cellular modem in the room that reports JAMMED is evidence of jamming that does
not come from the jammer itself.  The modem speaks text lines, with no checksum, so the parser
is strict: every line must be one the modem can send, in printable ASCII, within a length cap;
anything else is noise and is refused rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from devices.errors import FrameError

MAX_LINE = 128
MAX_REPLY = 512
"""The most bytes one reply to ``AT#JDR=`` may take.  Its echo, ``OK`` and the report are under
64 bytes, with the rest of a report cut short before the command under 200; a modem that sends
far more is flooding the line.  The reply is the evidence a gate decision cites, and a gate
entry cites up to 32 devices within the 65,535 bytes of an entry, as hex: at 1,024 bytes, 32
canaries' replies made a gate entry the log refuses, and more than 4,096 bytes every entry
citing one."""
JDR_MODES = range(6)
JDR_MNPL = range(128)
JDR_DCMN = range(255)

_SETTINGS = re.compile(r"#JDR: ([0-5]),(\d{1,3}),(\d{1,3})")
_CME = re.compile(r"\+CME ERROR: \d{1,4}")


def encode_command(command: str) -> bytes:
    """An AT command line; the caller passes printable ASCII starting with ``AT``.

    Raises:
        ValueError: ``command`` does not start with ``AT`` or is not printable ASCII (a caller bug).
    """
    if not command.startswith("AT") or not command.isascii() or not command.isprintable():
        raise ValueError(f"not an AT command: {command!r}")
    return command.encode("ascii") + b"\r"


def jdr_set_command(mode: int, mnpl: int, dcmn: int) -> str:
    if mode not in JDR_MODES or mnpl not in JDR_MNPL or dcmn not in JDR_DCMN:
        raise ValueError("AT#JDR parameters out of range")
    return f"AT#JDR={mode},{mnpl},{dcmn}"


def split_lines(buffer: bytes) -> tuple[list[str], bytes]:
    """Complete lines (empty ones dropped) and the unterminated rest.

    Raises:
        FrameError: a line holds bytes outside printable ASCII, or a line (complete or not) is
            longer than ``MAX_LINE`` bytes.
    """
    lines: list[str] = []
    start = 0
    for i, byte in enumerate(buffer):
        if byte in (0x0D, 0x0A):
            raw = buffer[start:i]
            start = i + 1
            if raw:
                lines.append(_decode_line(raw))
    rest = buffer[start:]
    if len(rest) > MAX_LINE:
        raise FrameError(f"line longer than {MAX_LINE} bytes without a terminator")
    return lines, rest


def check_reply_length(raw: bytes | bytearray) -> None:
    """Refuse a reply longer than ``MAX_REPLY`` (read live, or logged).

    Raises:
        FrameError: ``raw`` is longer than ``MAX_REPLY`` bytes.
    """
    if len(raw) > MAX_REPLY:
        raise FrameError(f"modem reply of {len(raw)} bytes or more, over {MAX_REPLY}: a flood")


def _decode_line(raw: bytes) -> str:
    if len(raw) > MAX_LINE:
        raise FrameError(f"line longer than {MAX_LINE} bytes")
    if any(b < 0x20 or b > 0x7E for b in raw):
        raise FrameError(f"non-printable bytes in modem line {raw.hex()}")
    return raw.decode("ascii")


@dataclass(frozen=True)
class JdrReport:
    """An unsolicited ``#JDR: JAMMED`` / ``#JDR: OPERATIVE``."""

    jammed: bool


@dataclass(frozen=True)
class JdrSettings:
    mode: int
    mnpl: int
    dcmn: int


@dataclass(frozen=True)
class FinalResult:
    """``OK``, ``ERROR`` or ``+CME ERROR: n``: the end of a command's response."""

    ok: bool
    text: str


ModemLine = JdrReport | JdrSettings | FinalResult


def parse_line(line: str) -> ModemLine:
    """Classify one line the modem sent; anything unknown is a ``FrameError``.

    Raises:
        FrameError: the line is none of the replies this driver knows (or its settings are out of
            range).
    """
    if line == "OK":
        return FinalResult(True, line)
    if line == "ERROR" or _CME.fullmatch(line):
        return FinalResult(False, line)
    if line == "#JDR: JAMMED":
        return JdrReport(True)
    if line == "#JDR: OPERATIVE":
        return JdrReport(False)
    m = _SETTINGS.fullmatch(line)
    if m:
        mode, mnpl, dcmn = (int(g) for g in m.groups())
        if mnpl in JDR_MNPL and dcmn in JDR_DCMN:
            return JdrSettings(mode, mnpl, dcmn)
    raise FrameError(f"unexpected modem line {line!r}")
