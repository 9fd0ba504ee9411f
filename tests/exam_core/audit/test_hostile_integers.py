"""An entry holding an integer of thousands of digits is an audit finding, not a crash.

Python refuses to convert more than 4,300 digits to an ``int`` with a ``ValueError`` of its own;
the audit must name the entry (``malformed_event``) and go on with the others.
"""

from __future__ import annotations

import pytest

from exam_core.audit.check import check_bundle
from exam_core.audit.reader import bundle_from_files
from exam_core.log.note import sign_note
from tests.exam_core.audit.bundle_factory import demo_log


@pytest.mark.parametrize("digits", [5_000, 17])
def test_entry_with_an_integer_beyond_the_safe_range_is_a_finding(digits: int) -> None:
    log = demo_log(5, checkpoint_every=5)
    key = log.admin
    text = (
        b'{"actor":"'
        + key.name.encode()
        + b'","log":"'
        + log.origin.encode()
        + b'","n":'
        + b"9" * digits
        + b',"seq":99,"ts":1,"type":"demo.event","v":1}\n'
    )
    index = log.append_bytes(sign_note(text, [key]))
    log.checkpoint()
    report = check_bundle(bundle_from_files(log.files()))
    assert not report.ok
    flagged = {f.code: f for f in report.findings if f.index == index}
    assert "malformed_event" in flagged
    assert "outside" in flagged["malformed_event"].message
