"""Hostile entries and bytes never crash the audit: every outcome is a report."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exam_core.audit.check import check_bundle
from exam_core.audit.reader import bundle_from_files
from exam_core.log.canonical import canonical_json
from exam_core.log.note import Ed25519Signer, sign_note
from exam_core.log.tiles import bundle_files
from tests.exam_core.audit.bundle_factory import ORIGIN, demo_log

_SMALL = demo_log(5, checkpoint_every=5)
_STRANGER = Ed25519Signer.from_seed(f"{ORIGIN}/demo/x", bytes(32))

_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=8)
"""Text a signed note can hold (no control characters, no lone surrogates)."""

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_fields = st.fixed_dictionaries(
    {},
    optional={
        "v": st.sampled_from([1, 2, "1"]),
        "log": st.sampled_from([ORIGIN, "other.example/log", 5]),
        "type": st.sampled_from(
            ["demo.event", "key.registered", "key.revoked", "allocation.made", "nope", 3]
        ),
        "ts": st.integers(-5, 2**53 - 1) | _text,
        "seq": st.integers(-1, 5) | st.none(),
        "n": _json,
        "name": st.sampled_from([f"{ORIGIN}/demo/x", f"{ORIGIN}/admin/a1", "", 7]),
        "vkey": st.sampled_from([_SMALL.admin.vkey, _STRANGER.vkey]) | _text,
        "role": st.sampled_from(["admin", "demo", "pope", 1]),
        "reason": _json,
        "sha256": st.sampled_from(["ab" * 32, "zz"]),
        "length": st.integers(-1, 10),
    },
)


def _audit_with(extra: list[bytes]) -> None:
    entries = [*_SMALL.entries, *extra]
    files = _SMALL.files() | bundle_files(entries)
    report = check_bundle(bundle_from_files(files))
    # The log's own checkpoint does not cover the extra entries: never a clean audit.
    assert not report.ok
    assert all(f.index is None or 0 <= f.index <= len(entries) for f in report.findings)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(_fields, min_size=1, max_size=3), signer=st.sampled_from([0, 1]))
def test_signed_hostile_events_are_findings(events: list[dict[str, Any]], signer: int) -> None:
    key = [_SMALL.admin, _SMALL.log_key][signer]
    extra = []
    for fields in events:
        event = fields | {"actor": key.name}
        extra.append(sign_note(canonical_json(event) + b"\n", [key]))
    _audit_with(extra)


@settings(max_examples=60, deadline=None)
@given(blob=st.binary(min_size=1, max_size=300))
def test_arbitrary_entry_bytes_are_findings(blob: bytes) -> None:
    _audit_with([blob])


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_arbitrary_file_contents_are_findings(data: st.DataObject) -> None:
    files = _SMALL.files()
    path = data.draw(st.sampled_from(sorted(files)))
    content = data.draw(st.binary(max_size=400))
    report = check_bundle(bundle_from_files(files | {path: content}))
    assert report.ok == (content == files[path])
