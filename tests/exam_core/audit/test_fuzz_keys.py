"""Hostile key events and hostile growth, signed by registered keys: findings, never a raise,
and the same findings in one process, with worker processes, and resumed from a saved state.

``test_fuzz`` draws events with a few fixed vkeys and audits them in one process.  Whole classes
it never drew crashed the audit: a registration of a key of another signature type or length
(the workers' pre-scan, ``signatures.registered_keys``), a state file with a text field no
writer writes (``saved_state``).  Here the vkeys are built from their parts (name, signature
type, key length, key ID right or wrong), real keys are registered under odd names and roles,
then sign entries (before or after being revoked), and each log is audited three ways.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exam_core.audit.check import check_bundle
from exam_core.audit.incremental import AuditEnd, check_bundle_since, state_from_end
from exam_core.audit.pool import ProcessSignatureCheck
from exam_core.audit.reader import bundle_from_files
from exam_core.audit.report import AuditReport
from exam_core.audit.saved_state import FORMAT, decode_state, encode_state
from exam_core.errors import AuditStateError
from exam_core.log.canonical import canonical_json
from exam_core.log.note import Ed25519Signer, key_id, signature_line
from exam_core.log.schemas.types import ALL_ROLES
from tests.exam_core.audit.bundle_factory import ORIGIN, LogBuilder

Files = dict[str, bytes]


def _signed(text: bytes, signer: Ed25519Signer) -> bytes:
    """A note of ``text`` signed by ``signer``, with none of ``sign_note``'s checks of the
    text: a hostile signer signs whatever it likes."""
    return text + b"\n" + signature_line(signer.name, signer.key_id, signer.sign(text))


_names = st.sampled_from(
    [
        f"{ORIGIN}/demo/z",
        f"{ORIGIN}/admin/a1",  # the administrator's own name, registered again
        f"{ORIGIN}/demo/d1",
        f"{ORIGIN}/demo/z\u202e",
        f"{ORIGIN}/demo/" + "z" * 230,
        "other.example/c/1/demo/z",  # outside the log's namespace
        "z",
    ]
)


@st.composite
def _odd_vkey(draw: st.DrawFn, name: str) -> str:
    """A vkey built from its parts, any of which may be wrong."""
    named = draw(st.sampled_from([name, name + "x", f"{ORIGIN}/admin/a1"]))
    sigtype = draw(st.sampled_from([0x01, 0x01, 0x02, 0x04, 0x00, 0xFF]))
    raw = draw(
        st.binary(max_size=80)
        | st.sampled_from([bytes(32), b"\xff" * 32, b"\x01" + bytes(31), b"\x07" * 300])
    )
    kid = key_id(named, sigtype, raw) if draw(st.booleans()) else draw(st.integers(0, 2**32 - 1))
    return f"{named}+{kid:08x}+{base64.b64encode(bytes([sigtype]) + raw).decode()}"


@st.composite
def _hostile_growth(draw: st.DrawFn) -> tuple[LogBuilder, int]:
    """A valid log with a checkpoint (its ordinal returned), then key events and entries
    that a registered administrator or demo key signs, then a newer checkpoint."""
    log = LogBuilder()
    demo = log.key("d1", "demo")
    log.append(demo, "demo.event", n=0)
    log.checkpoint()
    for step in range(draw(st.integers(1, 4))):
        name = draw(_names)
        kind = draw(st.sampled_from(["odd", "real", "revoke", "demo"]))
        if kind == "odd":
            fields: dict[str, Any] = {
                "name": name,
                "vkey": draw(_odd_vkey(name)),
                "role": draw(st.sampled_from([*sorted(ALL_ROLES), "pope"])),
            }
            event = log.event(log.admin, "key.registered") | fields
            log.append_bytes(_signed(canonical_json(event) + b"\n", log.admin))
        elif kind == "real":
            # a real key under an odd name and role, then entries it signs
            key = Ed25519Signer.from_seed(name, bytes([step]) * 32)
            role = draw(st.sampled_from(sorted(ALL_ROLES)))
            event = log.event(log.admin, "key.registered")
            event |= {"name": name, "vkey": key.vkey, "role": role}
            log.append_bytes(_signed(canonical_json(event) + b"\n", log.admin))
            for n in range(draw(st.integers(0, 3))):
                kind_signed = draw(st.sampled_from(["demo.event", "key.revoked"]))
                body = {"n": n} if kind_signed == "demo.event" else {"name": name, "reason": "x"}
                event = log.event(key, kind_signed) | body
                log.append_bytes(_signed(canonical_json(event) + b"\n", key))
        elif kind == "revoke":
            event = log.event(log.admin, "key.revoked") | {"name": name, "reason": "x"}
            log.append_bytes(_signed(canonical_json(event) + b"\n", log.admin))
        else:
            log.append(demo, "demo.event", n=step)
    log.checkpoint()
    return log, 0


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessSignatureCheck]:
    with ProcessSignatureCheck(workers=1, chunk=4) as workers:
        yield workers


def _summary(report: AuditReport) -> list[tuple[int, str]]:
    return sorted((f.index if f.index is not None else -1, f.code) for f in report.findings)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grown=_hostile_growth())
def test_hostile_key_events_are_the_same_findings_every_way(
    pool: ProcessSignatureCheck, grown: tuple[LogBuilder, int]
) -> None:
    log, saved_at = grown
    files, policy = log.files(), log.files()["policy"]
    serial = check_bundle(bundle_from_files(files), policy=policy)
    pooled = check_bundle(bundle_from_files(files), policy=policy, signature_check=pool)
    assert pooled.findings == serial.findings
    ends: list[AuditEnd] = []
    before = check_bundle(
        bundle_from_files(log.files(at=saved_at)), policy=policy, keep=ends.append
    )
    assert before.ok
    state = decode_state(encode_state(state_from_end(ends[-1], before)))
    resumed, _ = check_bundle_since(bundle_from_files(files), state, policy=policy)
    assert _summary(resumed) == _summary(serial)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*path, i))


@pytest.fixture(scope="module")
def saved() -> tuple[Files, bytes]:
    log = LogBuilder()
    demo = log.key("d1", "demo")
    log.append(demo, "demo.event", n=0)
    log.checkpoint()
    ends: list[AuditEnd] = []
    report = check_bundle(bundle_from_files(log.files()), keep=ends.append)
    state = encode_state(state_from_end(ends[-1], report))
    log.append(demo, "demo.event", n=1)
    log.checkpoint()
    return log.files(), state


_hostile_values: st.SearchStrategy[Any] = st.sampled_from(
    [None, True, 0, -1, 2**53, 2**63, "", "\u00e9\u00e9\u00e9\u00e9", "\udcff", "AAAA", [], {}]
) | st.text(max_size=6)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_resealed_state_with_any_field_replaced_is_refused_or_audited(
    saved: tuple[Files, bytes], data: st.DataObject
) -> None:
    """Whatever value stands in any field of a state whose digest matches, ``--since``
    refuses it (``AuditStateError``) or audits: nothing else leaves."""
    files, state = saved
    _, line, times = state.split(b"\n", 2)
    body = json.loads(line)
    path = data.draw(st.sampled_from([p for p in _paths(body) if p]))
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = data.draw(_hostile_values)
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    raw = text.encode("utf-8", "surrogatepass") + b"\n" + times
    forged = FORMAT + b" sha256:" + hashlib.sha256(raw).hexdigest().encode() + b"\n" + raw
    with contextlib.suppress(AuditStateError):
        check_bundle_since(bundle_from_files(files), decode_state(forged))
