"""An emulated jamming-canary modem answering AT commands (Telit ``AT#JDR`` subset).

Assumption, stated because the sources do not settle it: when reporting is (re-)enabled with
``AT#JDR=2..5``, the modem states its current condition once after ``OK``; modes 4 and 5 then
repeat it every 3 s.  Echo is on at power-up (``ATE1``), as on real modems.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from devices.emulators.modbus_slave import Exchange
from devices.errors import DeviceConfigError

_SET = re.compile(r"AT#JDR=(\d{1,3})(?:,(\d{1,3}))?(?:,(\d{1,3}))?")
REPEAT_S = 3.0


class CanaryModem:
    """Line-oriented responder; ``jammed`` is the radio condition it observes."""

    protocol = "text"

    def __init__(self) -> None:
        self.jammed = False
        self.echo = True
        self.mode = 0
        self.mnpl = 63
        self.dcmn = 128
        self._buffer = bytearray()
        self._reported: bool | None = None
        self._last_report_at = 0.0
        self.reports_sent = 0

    def feed(self, data: bytes, now: float) -> list[Exchange]:
        self._buffer += data
        out: list[Exchange] = []
        while b"\r" in self._buffer:
            i = self._buffer.index(b"\r")
            raw = bytes(self._buffer[: i + 1])
            del self._buffer[: i + 1]
            line = raw.strip(b"\r\n").decode("ascii", errors="replace")
            if not line:
                continue
            reply = self._answer(line, now)
            if self.echo:
                reply = line.encode("ascii", errors="replace") + b"\r\r\n" + reply.lstrip(b"\r\n")
            out.append(Exchange(raw, reply))
        if len(self._buffer) > 256:
            self._buffer.clear()
        return out

    def _report(self, now: float) -> bytes:
        self._reported = self.jammed
        self._last_report_at = now
        self.reports_sent += 1
        return b"\r\n#JDR: JAMMED\r\n" if self.jammed else b"\r\n#JDR: OPERATIVE\r\n"

    def _answer(self, line: str, now: float) -> bytes:
        ok, error = b"\r\nOK\r\n", b"\r\nERROR\r\n"
        if line == "AT":
            return ok
        if line in ("ATE0", "ATE1"):
            self.echo = line == "ATE1"
            return ok
        if line == "AT#JDR?":
            return f"\r\n#JDR: {self.mode},{self.mnpl},{self.dcmn}\r\n".encode() + ok
        if line == "AT#JDR=?":
            return b"\r\n#JDR: (0-5),(0-127),(0-254)\r\n" + ok
        m = _SET.fullmatch(line)
        if m:
            mode = int(m.group(1))
            mnpl = int(m.group(2)) if m.group(2) else self.mnpl
            dcmn = int(m.group(3)) if m.group(3) else self.dcmn
            if mode > 5 or mnpl > 127 or dcmn > 254:
                return error
            self.mode, self.mnpl, self.dcmn = mode, mnpl, dcmn
            if mode >= 2:
                return ok + self._report(now)
            return ok
        return error

    def unsolicited(self, now: float) -> bytes:
        if self.mode < 2:
            return b""
        if self._reported is not None and self._reported != self.jammed:
            return self._report(now)
        if self.mode >= 4 and now - self._last_report_at >= REPEAT_S:
            return self._report(now)
        return b""

    def act(self, action: str, args: Mapping[str, object]) -> None:
        if action == "jammed":
            self.jammed = True
        elif action == "operative":
            self.jammed = False
        elif action == "reboot":
            self.mode, self.echo, self._reported = 0, True, None
        else:
            raise DeviceConfigError(f"canary has no action {action!r}")
