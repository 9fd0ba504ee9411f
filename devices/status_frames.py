"""A logged status frame of any device kind, decoded into the ``Reading`` its driver makes.

Why it exists: the audit's gate replay must judge a logged frame exactly as the live gate
judged the driver's reading, so it decodes the frame with each driver's own pure frame →
reading function and hands the result to the same gate rule (``devices.gate.decide_gate``).
"""

from __future__ import annotations

from collections.abc import Callable

from devices.canary import canary_reading_from_frame
from devices.detector import detector_reading_from_frame
from devices.errors import FrameError
from devices.jammer import jammer_reading_from_frame
from devices.reading import CANARY, DETECTOR, JAMMER, VENDOR_JAMMER, Reading
from devices.vendor_jammer_driver import vendor_reading_from_frame

_DECODERS: dict[str, Callable[[bytes], Reading]] = {
    JAMMER: jammer_reading_from_frame,
    DETECTOR: detector_reading_from_frame,
    CANARY: canary_reading_from_frame,
    VENDOR_JAMMER: vendor_reading_from_frame,
}


def reading_from_frame(kind: str, raw: bytes) -> Reading:
    """The status a device of ``kind`` reported in the reply frame ``raw``.

    Raises:
        FrameError: an unknown kind, or bytes that are not that kind's status reply.
        ExceptionResponseError: a Modbus exception reply in place of a status.
    """
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise FrameError(f"unknown device kind {kind!r}")
    return decoder(raw)
