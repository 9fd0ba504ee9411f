"""Fault injection for emulated links, from a one-line SPEC.

SPEC: comma-separated ``name=value`` items (probabilities per reply, durations with ``ms``/``s``)::

    bitflip=0.05,garbage=0.02,drop=0.1,split=0.2,split-gap=30ms,slow=300ms,echo,
    wrong-unit=0.05,wrong-function=0.05,seed=7

- ``bitflip=P``: flip one random bit of the reply;
- ``garbage=P``: prepend 1-5 random bytes;
- ``drop=P``: no reply at all (``drop=1``: a mute device);
- ``split=P``: send the reply in two parts ``split-gap`` apart (default 30 ms);
- ``slow=DUR``: delay every reply by DUR;
- ``echo``: send each request back first, as an RS-485 transceiver with local echo does;
- ``wrong-unit=P`` / ``wrong-function=P``: a well-formed reply (valid CRC) from another unit,
  or to another function code (Modbus only);
- ``seed=N``: the random source, so that a run can be replayed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from devices.crc import modbus_crc_bytes
from devices.errors import DeviceConfigError

_PROBABILITIES = ("bitflip", "garbage", "drop", "split", "wrong-unit", "wrong-function")


MAX_DURATION_S = 3600.0
"""A fault delays a reply by at most an hour (a device that never answers is ``drop=1``)."""


def parse_duration_s(text: str) -> float:
    """``300ms``, ``2s`` or a bare number of milliseconds, within 0..``MAX_DURATION_S``.

    Raises:
        DeviceConfigError: not a duration, or negative, not finite or above the maximum.
    """  # noqa: DOC501 - the ValueError is caught here
    try:
        if len(text) > 40:
            raise ValueError(text)
        if text.endswith("ms"):
            value = int(text[:-2]) / 1000
        elif text.endswith("s"):
            value = float(text[:-1])
        else:
            value = int(text) / 1000
    except ValueError as e:
        raise DeviceConfigError(f"bad duration {text[:40]!r}") from e
    if not 0 <= value <= MAX_DURATION_S:  # NaN fails every comparison
        raise DeviceConfigError(f"duration {text!r} is outside 0..{MAX_DURATION_S:g} s")
    return value


@dataclass(frozen=True)
class FaultSpec:
    bitflip: float = 0.0
    garbage: float = 0.0
    drop: float = 0.0
    split: float = 0.0
    split_gap_s: float = 0.03
    slow_s: float = 0.0
    echo: bool = False
    wrong_unit: float = 0.0
    wrong_function: float = 0.0
    seed: int = 0

    @classmethod
    def parse(cls, spec: str) -> FaultSpec:
        """Parse a SPEC; unknown names and out-of-range values are ``DeviceConfigError``.

        Raises:
            DeviceConfigError: a fault name is unknown, a probability is not a number in [0, 1], a
                duration is malformed or out of range, or the seed is not an integer.
        """
        values: dict[str, object] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, _, value = item.partition("=")
            if name == "echo" and not value:
                values["echo"] = True
            elif name in _PROBABILITIES:
                try:
                    p = float(value)
                except ValueError as e:
                    raise DeviceConfigError(f"fault {name}: {value!r} is not a number") from e
                if not 0.0 <= p <= 1.0:
                    raise DeviceConfigError(f"fault {name}: probability {p} outside [0, 1]")
                values[name.replace("-", "_")] = p
            elif name == "slow":
                values["slow_s"] = parse_duration_s(value)
            elif name == "split-gap":
                values["split_gap_s"] = parse_duration_s(value)
            elif name == "seed":
                try:
                    values["seed"] = int(value)
                except ValueError as e:
                    raise DeviceConfigError(f"seed {value!r} is not an integer") from e
            else:
                raise DeviceConfigError(f"unknown fault {item!r}")
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Chunk:
    """Bytes to put on the line after ``delay_s`` more of silence."""

    delay_s: float
    data: bytes


class FaultInjector:
    """Turns one reply into what actually goes on the line."""

    def __init__(self, spec: FaultSpec, protocol: str = "modbus") -> None:
        self.spec = spec
        self.protocol = protocol
        self.rng = random.Random(spec.seed)
        self.applied: dict[str, int] = {}

    def _hit(self, name: str, p: float) -> bool:
        if p > 0 and self.rng.random() < p:
            self.applied[name] = self.applied.get(name, 0) + 1
            return True
        return False

    def apply(self, reply: bytes) -> list[Chunk]:
        s = self.spec
        if self._hit("drop", s.drop):
            return []
        data = bytearray(reply)
        if self.protocol == "modbus" and len(data) >= 4:
            if self._hit("wrong-unit", s.wrong_unit):
                data[0] = (data[0] % 247) + 1
                data[-2:] = modbus_crc_bytes(bytes(data[:-2]))
            elif self._hit("wrong-function", s.wrong_function):
                data[1] = 0x03 if data[1] != 0x03 else 0x04
                data[-2:] = modbus_crc_bytes(bytes(data[:-2]))
        if data and self._hit("bitflip", s.bitflip):
            bit = self.rng.randrange(len(data) * 8)
            data[bit // 8] ^= 1 << (bit % 8)
        if self._hit("garbage", s.garbage):
            noise = bytes(self.rng.randrange(256) for _ in range(self.rng.randint(1, 5)))
            data[0:0] = noise
        if len(data) > 1 and self._hit("split", s.split):
            cut = self.rng.randrange(1, len(data))
            return [Chunk(s.slow_s, bytes(data[:cut])), Chunk(s.split_gap_s, bytes(data[cut:]))]
        return [Chunk(s.slow_s, bytes(data))]
