"""Driver of the jamming canary: a cellular modem asked whether it is jammed (``AT#JDR``).

Each poll first takes the unsolicited ``#JDR`` reports that arrived since the last one (so a
jamming gap between polls is not lost), then re-enables reporting, which makes the modem state
its current condition, and waits for ``OK`` and that report.  A modem echo of the command is
recognised and skipped; any other unexpected line fails the poll.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

from devices.at_canary import (
    FinalResult,
    JdrReport,
    JdrSettings,
    check_reply_length,
    encode_command,
    jdr_set_command,
    parse_line,
    split_lines,
)
from devices.errors import FrameError, LinkError, ResponseTimeoutError
from devices.reading import CANARY, DeviceEvent, Reading
from devices.transport import SerialLink

REPORT_ONCE = 2
"""``AT#JDR`` mode 2: one unsolicited message per change of condition."""

ReplyState = tuple[FinalResult | None, JdrReport | None]


def scan_reply(lines: Iterable[str], state: ReplyState, echo: str | None = None) -> ReplyState:
    """Fold reply lines into (final result, latest ``#JDR`` report).

    ``echo`` is the command whose echo (ATE1) is skipped; None skips any ``AT#JDR=`` echo (a
    logged reply, whose command is not logged with it).

    Raises:
        FrameError: a line the modem cannot send, a refusal, or a settings line.
    """
    final, report = state
    for line in lines:
        if line == echo or (echo is None and line.startswith("AT#JDR=")):
            continue
        parsed = parse_line(line)
        if isinstance(parsed, FinalResult):
            if not parsed.ok:
                raise FrameError(f"modem refused AT#JDR: {parsed.text}")
            final = parsed
        elif isinstance(parsed, JdrReport):
            report = parsed
        elif isinstance(parsed, JdrSettings):
            raise FrameError(f"settings line {line!r} in reply to a set command")
    return final, report


def canary_reading(jammed: bool, raw: bytes, settings: Mapping[str, int] | None = None) -> Reading:
    """The gate's view of one canary report (pure); ``settings`` are the driver's MNPL/DCMN."""
    return Reading(
        kind=CANARY,
        values={"jammed": int(jammed), **(settings or {})},
        flags={"jammed": frozenset({"jammed"}) if jammed else frozenset()},
        raw=raw,
        extra={"state": "jammed" if jammed else "operative"},
    )


def canary_reading_from_frame(raw: bytes) -> Reading:
    """The ``Reading`` a logged reply to ``AT#JDR=...`` shows: ``OK`` and its latest report.

    Raises:
        FrameError: a line the modem cannot send, no ``OK`` and ``#JDR`` report in it, or more
            bytes than a reply takes.
    """
    check_reply_length(raw)
    lines, _ = split_lines(raw)
    final, report = scan_reply(lines, (None, None))
    if final is None or report is None:
        raise FrameError("no OK and #JDR report in the canary's reply")
    return canary_reading(report.jammed, raw)


class CanaryDriver:
    """Polls one canary modem; ``clock`` (monotonic seconds) measures the reply deadline."""

    kind = CANARY

    def __init__(
        self,
        link: SerialLink,
        *,
        mnpl: int = 63,
        dcmn: int = 128,
        response_timeout_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.link = link
        self._clock = clock
        self.command = jdr_set_command(REPORT_ONCE, mnpl, dcmn)
        self.mnpl = mnpl
        self.dcmn = dcmn
        self.response_timeout_s = response_timeout_s
        self._seq = 0

    def close(self) -> None:
        self.link.close()

    def poll(self) -> Reading:
        try:
            return self._poll()
        except LinkError:
            raise
        except (FrameError, ResponseTimeoutError):
            self.link.discard_until_silent(0.02, self.response_timeout_s)
            raise

    def _poll(self) -> Reading:
        self.link.open()
        backlog = self.link.receive_available(0.0)
        events: list[DeviceEvent] = []
        # A report cut short by the read goes on in the reply; it is then its latest report.
        lines, pending = split_lines(backlog)
        for line in lines:
            parsed = parse_line(line)
            if isinstance(parsed, JdrReport):
                self._seq = (self._seq + 1) & 0xFFFF
                events.append(DeviceEvent(self._seq, 1, 0, int(parsed.jammed), 0, 0, backlog))
        self.link.send(encode_command(self.command), flush_input=False)
        raw = bytearray(pending)
        final: FinalResult | None = None
        report: JdrReport | None = None
        deadline = self._clock() + self.response_timeout_s
        while final is None or report is None:
            left = deadline - self._clock()
            if left <= 0:
                got = "nothing" if not raw else repr(bytes(raw))
                raise ResponseTimeoutError(f"modem did not complete AT#JDR within timeout: {got}")
            chunk = self.link.receive_available(min(left, 0.05))
            raw += chunk
            check_reply_length(raw)
            lines, pending = split_lines(pending + chunk)
            final, report = scan_reply(lines, (final, report), echo=self.command)
        reading = canary_reading(report.jammed, bytes(raw), {"mnpl": self.mnpl, "dcmn": self.dcmn})
        return replace(reading, events=tuple(events))
