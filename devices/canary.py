"""Driver of the jamming canary: a cellular modem asked whether it is jammed (``AT#JDR``).

Each poll first takes the unsolicited ``#JDR`` reports that arrived since the last one (so a
jamming gap between polls is not lost), then re-enables reporting, which makes the modem state
its current condition, and waits for ``OK`` and that report.  A modem echo of the command is
recognised and skipped; any other unexpected line fails the poll.
"""

from __future__ import annotations

import time

from devices.at_canary import (
    FinalResult,
    JdrReport,
    JdrSettings,
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


class CanaryDriver:
    kind = CANARY

    def __init__(
        self,
        link: SerialLink,
        *,
        mnpl: int = 63,
        dcmn: int = 128,
        response_timeout_s: float = 0.5,
    ) -> None:
        self.link = link
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
        lines, _ = split_lines(backlog)
        for line in lines:
            parsed = parse_line(line)
            if isinstance(parsed, JdrReport):
                self._seq = (self._seq + 1) & 0xFFFF
                events.append(DeviceEvent(self._seq, 1, 0, int(parsed.jammed), 0, 0, backlog))
        self.link.send(encode_command(self.command), flush_input=False)
        raw = bytearray()
        final: FinalResult | None = None
        report: JdrReport | None = None
        pending = b""
        deadline = time.monotonic() + self.response_timeout_s
        while final is None or report is None:
            left = deadline - time.monotonic()
            if left <= 0:
                got = "nothing" if not raw else repr(bytes(raw))
                raise ResponseTimeoutError(f"modem did not complete AT#JDR within timeout: {got}")
            chunk = self.link.receive_available(min(left, 0.05))
            raw += chunk
            lines, pending = split_lines(pending + chunk)
            for line in lines:
                if line == self.command:
                    continue  # the modem's command echo (ATE1)
                parsed = parse_line(line)
                if isinstance(parsed, FinalResult):
                    if not parsed.ok:
                        raise FrameError(f"modem refused {self.command}: {parsed.text}")
                    final = parsed
                elif isinstance(parsed, JdrReport):
                    report = parsed
                elif isinstance(parsed, JdrSettings):
                    raise FrameError(f"settings line {line!r} in reply to a set command")
        jammed = int(report.jammed)
        return Reading(
            kind=CANARY,
            values={"jammed": jammed, "mnpl": self.mnpl, "dcmn": self.dcmn},
            flags={"jammed": frozenset({"jammed"}) if jammed else frozenset()},
            raw=bytes(raw),
            events=tuple(events),
            extra={"state": "jammed" if jammed else "operative"},
        )
