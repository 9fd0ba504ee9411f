"""The session manifest: everything a draw depends on except the randomness (DESIGN §4.2).

Its canonical JSON (RFC 8785) is the one encoding that is hashed, committed to the log and
stored as a blob; ``encode_manifest`` makes those bytes and ``parse_manifest`` is the strict
inverse for untrusted bytes (it also refuses any non-canonical encoding, so the hash of the
stored bytes is the hash of the value).  Layout, all integers::

    {"algorithm": "exam-alloc/v1", "session": str,
     "candidates": [{"id", "class", "school", "previous_fail": null | {"examiner", "evidence"}}],
     "examiners":  [{"id", "classes": [str], "former_schools": [{"school", "evidence"}],
                     "load_min", "load_max"}],
     "relatives":  [{"candidate", "examiner", "evidence"}],
     "conflicts":  [{"candidate", "examiner", "reason", "evidence"}],
     "scale": S, "cap": Q·S, "q_star": Q*·S,
     "fractional": [[[examiner id, units], …] per candidate in manifest order],
     "beacon": {"kind", "commitment", "round"},
     "vrf_key": hex of the allocator's ECVRF public key}

Candidates and examiners are listed by ascending id; that order is the draw's traversal order.
The manifest carries the allocator's VRF public key: it is fixed by the commitment before the
beacon round exists, which is all uniqueness needs (RFC 9381 §3.2); an auditor may also pin it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from allocation.eligibility import CONFLICT_REASONS, Conflict
from allocation.errors import ManifestError
from allocation.fractional import Fractional
from allocation.roster import (
    LICENCE_CLASSES,
    Candidate,
    CandidateId,
    Employment,
    EvidenceRef,
    Examiner,
    ExaminerId,
    PreviousFail,
    Relation,
    Roster,
    SchoolId,
)
from exam_core.errors import CanonicalError, EntryError
from exam_core.log.canonical import canonical_json, parse_canonical
from exam_core.log.schemas.fields import AnyJson, Enum, Hex, Int, ListOf, Nullable, Obj, Str

ALGORITHM = "exam-alloc/v1"
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MAX_PEOPLE = 10_000
MAX_SCALE = 1_000_000

_ID = Str(max_len=64, pattern=r"[A-Za-z0-9._:/-]+")
_EVIDENCE = Str(max_len=128, pattern=r"[^\s]+")
_SHAPE = Obj(
    {
        "algorithm": Str(max_len=64),
        "session": _ID,
        "candidates": ListOf(
            Obj(
                {
                    "id": _ID,
                    "class": Str(max_len=8),
                    "school": _ID,
                    "previous_fail": Nullable(Obj({"examiner": _ID, "evidence": _EVIDENCE})),
                }
            ),
            max_items=MAX_PEOPLE,
            min_items=1,
        ),
        "examiners": ListOf(
            Obj(
                {
                    "id": _ID,
                    "classes": ListOf(Str(max_len=8), max_items=32, min_items=1),
                    "former_schools": ListOf(Obj({"school": _ID, "evidence": _EVIDENCE})),
                    "load_min": Int(),
                    "load_max": Int(),
                }
            ),
            max_items=MAX_PEOPLE,
            min_items=1,
        ),
        "relatives": ListOf(
            Obj({"candidate": _ID, "examiner": _ID, "evidence": _EVIDENCE}), max_items=MAX_PEOPLE
        ),
        "conflicts": ListOf(
            Obj(
                {
                    "candidate": _ID,
                    "examiner": _ID,
                    "reason": Enum(frozenset(CONFLICT_REASONS)),
                    "evidence": _EVIDENCE,
                }
            ),
            max_items=MAX_PEOPLE * 64,
        ),
        "scale": Int(minimum=1, maximum=MAX_SCALE),
        "cap": Int(),
        "q_star": Int(),
        "fractional": ListOf(ListOf(AnyJson(), max_items=MAX_PEOPLE), max_items=MAX_PEOPLE),
        "beacon": Obj(
            {
                "kind": Str(max_len=32),
                "commitment": Str(max_len=8192),
                "round": Int(minimum=1),
            }
        ),
        "vrf_key": Hex(nbytes=32),
    }
)


@dataclass(frozen=True)
class BeaconTarget:
    """The beacon the draw waits for: its kind, its commitment, and the round."""

    kind: str
    commitment: str
    round: int


@dataclass(frozen=True)
class Manifest:
    roster: Roster
    conflicts: tuple[Conflict, ...]
    scale: int
    cap: int
    q_star: int
    fractional: Fractional
    beacon: BeaconTarget
    vrf_key: bytes
    algorithm: str = ALGORITHM

    @property
    def session(self) -> str:
        return self.roster.session


def manifest_sha256(data: bytes) -> bytes:
    """The manifest hash that is committed, signed into the VRF input and checked by audit."""
    return hashlib.sha256(data).digest()


def encode_manifest(manifest: Manifest) -> bytes:
    """The one function that makes manifest bytes (canonical JSON)."""
    roster = manifest.roster
    examiner_ids = [e.id for e in roster.examiners]
    value = {
        "algorithm": manifest.algorithm,
        "session": roster.session,
        "candidates": [
            {
                "id": c.id,
                "class": c.licence_class,
                "school": c.school,
                "previous_fail": None
                if c.previous_fail is None
                else {"examiner": c.previous_fail.examiner, "evidence": c.previous_fail.evidence},
            }
            for c in roster.candidates
        ],
        "examiners": [
            {
                "id": e.id,
                "classes": sorted(e.classes),
                "former_schools": [
                    {"school": job.school, "evidence": job.evidence} for job in e.former_schools
                ],
                "load_min": roster.load_window(e)[0],
                "load_max": roster.load_window(e)[1],
            }
            for e in roster.examiners
        ],
        "relatives": [
            {"candidate": r.candidate, "examiner": r.examiner, "evidence": r.evidence}
            for r in roster.relatives
        ],
        "conflicts": [
            {
                "candidate": c.candidate,
                "examiner": c.examiner,
                "reason": c.reason,
                "evidence": c.evidence,
            }
            for c in manifest.conflicts
        ],
        "scale": manifest.scale,
        "cap": manifest.cap,
        "q_star": manifest.q_star,
        "fractional": [[[examiner_ids[e], w] for e, w in row] for row in manifest.fractional],
        "beacon": {
            "kind": manifest.beacon.kind,
            "commitment": manifest.beacon.commitment,
            "round": manifest.beacon.round,
        },
        "vrf_key": manifest.vrf_key.hex(),
    }
    return canonical_json(value)


def _unique(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for ident in ids:
        if ident in seen:
            raise ManifestError(f"duplicate {what} id {ident}")
        seen.add(ident)
    if ids != sorted(ids):
        raise ManifestError(f"{what}s must be listed by ascending id")


def validate_roster(roster: Roster) -> None:
    """Refuse a roster with unknown classes, duplicate ids, bad load windows or dangling ties."""
    _unique([c.id for c in roster.candidates], "candidate")
    _unique([e.id for e in roster.examiners], "examiner")
    candidates = {c.id for c in roster.candidates}
    examiners = {e.id for e in roster.examiners}
    for c in roster.candidates:
        if c.licence_class not in LICENCE_CLASSES:
            raise ManifestError(f"candidate {c.id}: unknown licence class {c.licence_class!r}")
    for e in roster.examiners:
        unknown = sorted(e.classes - LICENCE_CLASSES)
        if unknown:
            raise ManifestError(f"examiner {e.id}: unknown licence class {unknown[0]!r}")
        low, high = roster.load_window(e)
        if low < 0 or high < low:
            raise ManifestError(
                f"examiner {e.id}: load window [{low}, {high}] is invalid "
                "(negative, or minimum above maximum)"
            )
    for r in roster.relatives:
        if r.candidate not in candidates or r.examiner not in examiners:
            raise ManifestError(
                f"relation {r.examiner}–{r.candidate} names someone not on the roster"
            )


def _parse_roster(value: dict[str, object]) -> Roster:
    candidates = []
    for item in value["candidates"]:  # type: ignore[attr-defined]
        fail = item["previous_fail"]
        candidates.append(
            Candidate(
                id=CandidateId(item["id"]),
                licence_class=item["class"],
                school=SchoolId(item["school"]),
                previous_fail=None
                if fail is None
                else PreviousFail(ExaminerId(fail["examiner"]), EvidenceRef(fail["evidence"])),
            )
        )
    examiners = []
    for item in value["examiners"]:  # type: ignore[attr-defined]
        classes = item["classes"]
        if classes != sorted(set(classes)):
            raise ManifestError(f"examiner {item['id']}: classes must be sorted and distinct")
        examiners.append(
            Examiner(
                id=ExaminerId(item["id"]),
                classes=frozenset(classes),
                former_schools=tuple(
                    Employment(SchoolId(j["school"]), EvidenceRef(j["evidence"]))
                    for j in item["former_schools"]
                ),
                load_min=item["load_min"],
                load_max=item["load_max"],
            )
        )
    relatives = tuple(
        Relation(ExaminerId(r["examiner"]), CandidateId(r["candidate"]), EvidenceRef(r["evidence"]))
        for r in value["relatives"]  # type: ignore[attr-defined]
    )
    return Roster(str(value["session"]), tuple(candidates), tuple(examiners), relatives)


def parse_manifest(data: bytes) -> Manifest:
    """Parse untrusted manifest bytes strictly; raise ``ManifestError`` saying what is wrong."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"manifest is {len(data)} bytes; the limit is {MAX_MANIFEST_BYTES}")
    try:
        value = parse_canonical(data)
    except CanonicalError as e:
        raise ManifestError(f"manifest is not canonical integer-only JSON: {e}") from e
    try:
        _SHAPE.check(value, "manifest")
    except EntryError as e:
        raise ManifestError(e.message) from e
    if not isinstance(value, dict):  # the shape check has refused anything else
        raise ManifestError("manifest must be a JSON object")
    if value["algorithm"] != ALGORITHM:
        raise ManifestError(f"unknown algorithm {value['algorithm']!r}; expected {ALGORITHM}")
    roster = _parse_roster(value)
    validate_roster(roster)
    scale, cap, q_star = value["scale"], value["cap"], value["q_star"]
    if not 1 <= cap <= scale:
        raise ManifestError(
            f"cap {cap}/{scale} is not a probability in (0, 1]"
            + (" (it is above 1)" if cap > scale else "")
        )
    if not 1 <= q_star <= cap:
        raise ManifestError(f"q_star {q_star} must be in [1, cap {cap}]")
    conflicts = tuple(
        Conflict(
            CandidateId(c["candidate"]),
            ExaminerId(c["examiner"]),
            c["reason"],
            EvidenceRef(c["evidence"]),
        )
        for c in value["conflicts"]
    )
    index = {e.id: i for i, e in enumerate(roster.examiners)}
    rows = value["fractional"]
    if len(rows) != len(roster.candidates):
        raise ManifestError(
            f"fractional has {len(rows)} rows for {len(roster.candidates)} candidates"
        )
    fractional = []
    for candidate, row in zip(roster.candidates, rows, strict=True):
        parsed = []
        for pair in row:
            if (
                not isinstance(pair, list)
                or len(pair) != 2
                or not isinstance(pair[0], str)
                or pair[0] not in index
                or not isinstance(pair[1], int)
                or isinstance(pair[1], bool)
            ):
                raise ManifestError(
                    f"fractional row of {candidate.id}: each item is [known examiner id, integer]"
                )
            parsed.append((index[ExaminerId(pair[0])], pair[1]))
        fractional.append(tuple(parsed))
    beacon = value["beacon"]
    return Manifest(
        roster=roster,
        conflicts=conflicts,
        scale=scale,
        cap=cap,
        q_star=q_star,
        fractional=tuple(fractional),
        beacon=BeaconTarget(beacon["kind"], beacon["commitment"], beacon["round"]),
        vrf_key=bytes.fromhex(value["vrf_key"]),
        algorithm=value["algorithm"],
    )
