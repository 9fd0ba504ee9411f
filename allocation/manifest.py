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

Version 2 (``"algorithm": "exam-alloc/v2"``) also draws each examiner's car and each
candidate's route, with two more fields (each null when that draw is not made, not both)::

     "vehicles": {"fleet": [{"id", "class", "school": null | str}],
                  "conflicts": [{"examiner", "vehicle", "reason", "evidence"}],
                  "cap", "q_star", "fractional": [[[vehicle id, units], …] per examiner]},
     "routes":   {"approved": [route id], "cap", "q_star",
                  "fractional": [[[route id, units], …] per candidate]}

A version-1 manifest has neither field and still parses and verifies as it always did.

Candidates and examiners are listed by ascending id; that order is the draw's traversal order.
The manifest carries the allocator's VRF public key: it is fixed by the commitment before the
beacon round exists, which is all uniqueness needs (RFC 9381 §3.2); an auditor may also pin it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

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
    RouteId,
    SchoolId,
    Vehicle,
    VehicleId,
)
from allocation.vehicles import VEHICLE_CONFLICT_REASONS, VehicleConflict
from exam_core.errors import CanonicalError, EntryError
from exam_core.log.canonical import canonical_json, parse_canonical
from exam_core.log.schemas.fields import AnyJson, Enum, Hex, Int, ListOf, Nullable, Obj, Str

ALGORITHM = "exam-alloc/v1"
"""The examiner draw alone; also the VRF's domain tag for every version (DESIGN §4.4)."""
ALGORITHM_V2 = "exam-alloc/v2"
"""The examiner draw, and each examiner's car and each candidate's route."""
ALGORITHMS = (ALGORITHM, ALGORITHM_V2)
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MAX_PEOPLE = 10_000
MAX_SCALE = 1_000_000

_ID = Str(max_len=64, pattern=r"[A-Za-z0-9._:/-]+")
_EVIDENCE = Str(max_len=128, pattern=r"[^\s]+")
_ROWS = ListOf(ListOf(AnyJson(), max_items=MAX_PEOPLE), max_items=MAX_PEOPLE)
_V1_FIELDS = {
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
    "fractional": _ROWS,
    "beacon": Obj(
        {
            "kind": Str(max_len=32),
            "commitment": Str(max_len=8192),
            "round": Int(minimum=1),
        }
    ),
    "vrf_key": Hex(nbytes=32),
}
_SHAPE = Obj(_V1_FIELDS)
_VEHICLES = Obj(
    {
        "fleet": ListOf(
            Obj({"id": _ID, "class": Str(max_len=8), "school": Nullable(_ID)}),
            min_items=1,
            max_items=MAX_PEOPLE,
        ),
        "conflicts": ListOf(
            Obj(
                {
                    "examiner": _ID,
                    "vehicle": _ID,
                    "reason": Enum(frozenset(VEHICLE_CONFLICT_REASONS)),
                    "evidence": _EVIDENCE,
                }
            ),
            max_items=MAX_PEOPLE * 64,
        ),
        "cap": Int(),
        "q_star": Int(),
        "fractional": _ROWS,
    }
)
_ROUTES = Obj(
    {
        "approved": ListOf(_ID, min_items=1, max_items=MAX_PEOPLE),
        "cap": Int(),
        "q_star": Int(),
        "fractional": _ROWS,
    }
)
_SHAPE_V2 = Obj(_V1_FIELDS | {"vehicles": Nullable(_VEHICLES), "routes": Nullable(_ROUTES)})


@dataclass(frozen=True)
class BeaconTarget:
    """The beacon the draw waits for: its kind, its commitment, and the round."""

    kind: str
    commitment: str
    round: int


@dataclass(frozen=True)
class SideDraw:
    """A draw besides the examiners' (cars for examiners, routes for candidates): its cap and
    Q* in units of the manifest's scale, and its F."""

    cap: int
    q_star: int
    fractional: Fractional


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
    vehicles: SideDraw | None = None
    """Version 2: each examiner's car (rows are examiners, columns ``roster.vehicles``)."""
    vehicle_conflicts: tuple[VehicleConflict, ...] = ()
    routes: SideDraw | None = None
    """Version 2: each candidate's route (rows are candidates, columns ``roster.routes``)."""

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
    if manifest.algorithm != ALGORITHM:
        value["vehicles"] = _encode_vehicles(manifest)
        value["routes"] = _encode_routes(manifest)
    return canonical_json(value)


def _encode_vehicles(manifest: Manifest) -> dict[str, object] | None:
    side = manifest.vehicles
    if side is None:
        return None
    fleet = manifest.roster.vehicles
    return {
        "fleet": [{"id": v.id, "class": v.licence_class, "school": v.school} for v in fleet],
        "conflicts": [
            {
                "examiner": c.examiner,
                "vehicle": c.vehicle,
                "reason": c.reason,
                "evidence": c.evidence,
            }
            for c in manifest.vehicle_conflicts
        ],
        "cap": side.cap,
        "q_star": side.q_star,
        "fractional": [[[fleet[v].id, w] for v, w in row] for row in side.fractional],
    }


def _encode_routes(manifest: Manifest) -> dict[str, object] | None:
    side = manifest.routes
    if side is None:
        return None
    routes = manifest.roster.routes
    return {
        "approved": list(routes),
        "cap": side.cap,
        "q_star": side.q_star,
        "fractional": [[[routes[r], w] for r, w in row] for row in side.fractional],
    }


def _unique(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for ident in ids:
        if ident in seen:
            raise ManifestError(f"duplicate {what} id {ident}")
        seen.add(ident)
    if ids != sorted(ids):
        raise ManifestError(f"{what}s must be listed by ascending id")


def validate_roster(roster: Roster) -> None:
    """Refuse a roster with unknown classes, duplicate ids, bad load windows or dangling ties.

    Raises:
        ManifestError: an id repeats, a licence class is unknown, an examiner's load window is
            negative or inverted, or a relation names someone not on the roster.
    """
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
    _unique([v.id for v in roster.vehicles], "vehicle")
    for v in roster.vehicles:
        if v.licence_class not in LICENCE_CLASSES:
            raise ManifestError(f"vehicle {v.id}: unknown licence class {v.licence_class!r}")
    _unique(list(roster.routes), "route")


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
    vehicles: tuple[Vehicle, ...] = ()
    routes: tuple[RouteId, ...] = ()
    if value.get("vehicles") is not None:
        vehicles = tuple(
            Vehicle(
                VehicleId(v["id"]),
                v["class"],
                None if v["school"] is None else SchoolId(v["school"]),
            )
            for v in value["vehicles"]["fleet"]  # type: ignore[index]
        )
    if value.get("routes") is not None:
        routes = tuple(RouteId(r) for r in value["routes"]["approved"])  # type: ignore[index]
    return Roster(
        str(value["session"]), tuple(candidates), tuple(examiners), relatives, vehicles, routes
    )


def _parse_rows(
    rows: list[object], names: list[str], columns: list[str], *, what: str, noun: str, column: str
) -> Fractional:
    """F's rows, one per ``noun`` named in ``names``, each ``[[column id, units], …]``.

    Raises:
        ManifestError: the number of rows is not the number of ``names``, or an item is not
            a ``[known column id, integer]`` pair.
    """
    index = {ident: i for i, ident in enumerate(columns)}
    if len(rows) != len(names):
        raise ManifestError(f"{what} has {len(rows)} rows for {len(names)} {noun}s")
    fractional = []
    for name, row in zip(names, rows, strict=True):
        parsed = []
        for pair in row:  # type: ignore[attr-defined]
            if (
                not isinstance(pair, list)
                or len(pair) != 2
                or not isinstance(pair[0], str)
                or pair[0] not in index
                or not isinstance(pair[1], int)
                or isinstance(pair[1], bool)
            ):
                raise ManifestError(
                    f"{what} row of {name}: each item is [known {column} id, integer]"
                )
            parsed.append((index[pair[0]], pair[1]))
        fractional.append(tuple(parsed))
    return tuple(fractional)


def _check_cap(cap: int, q_star: int, scale: int, what: str) -> None:
    if not 1 <= cap <= scale:
        raise ManifestError(
            f"{what}cap {cap}/{scale} is not a probability in (0, 1]"
            + (" (it is above 1)" if cap > scale else "")
        )
    if not 1 <= q_star <= cap:
        raise ManifestError(f"{what}q_star {q_star} must be in [1, cap {cap}]")


def _parse_side(
    value: dict[str, Any], names: list[str], columns: list[str], scale: int, *, what: str, noun: str
) -> SideDraw:
    _check_cap(value["cap"], value["q_star"], scale, f"{what}: ")
    return SideDraw(
        value["cap"],
        value["q_star"],
        _parse_rows(value["fractional"], names, columns, what=what, noun=noun, column=what[:-1]),
    )


def parse_manifest(data: bytes) -> Manifest:
    """Parse untrusted manifest bytes strictly; raise ``ManifestError`` saying what is wrong.

    Raises:
        ManifestError: the bytes are too long, not canonical integer-only JSON, not of the
            manifest's shape or a known algorithm, or describe an invalid roster, cap or F.
    """
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"manifest is {len(data)} bytes; the limit is {MAX_MANIFEST_BYTES}")
    try:
        value = parse_canonical(data)
    except CanonicalError as e:
        raise ManifestError(f"manifest is not canonical integer-only JSON: {e}") from e
    try:
        if not isinstance(value, dict) or value.get("algorithm") != ALGORITHM_V2:
            _SHAPE.check(value, "manifest")
    except EntryError as e:
        raise ManifestError(e.message) from e
    if not isinstance(value, dict):  # the shape check has refused anything else
        raise ManifestError("manifest must be a JSON object")
    if value["algorithm"] == ALGORITHM_V2:
        try:
            _SHAPE_V2.check(value, "manifest")
        except EntryError as e:
            raise ManifestError(e.message) from e
        if value["vehicles"] is None and value["routes"] is None:
            raise ManifestError(f"an {ALGORITHM_V2} manifest draws vehicles, routes or both")
    elif value["algorithm"] != ALGORITHM:
        raise ManifestError(
            f"unknown algorithm {value['algorithm']!r}; expected one of {', '.join(ALGORITHMS)}"
        )
    roster = _parse_roster(value)
    validate_roster(roster)
    scale, cap, q_star = value["scale"], value["cap"], value["q_star"]
    _check_cap(cap, q_star, scale, "")
    conflicts = tuple(
        Conflict(
            CandidateId(c["candidate"]),
            ExaminerId(c["examiner"]),
            c["reason"],
            EvidenceRef(c["evidence"]),
        )
        for c in value["conflicts"]
    )
    candidate_ids: list[str] = [c.id for c in roster.candidates]
    examiner_ids: list[str] = [e.id for e in roster.examiners]
    fractional = _parse_rows(
        value["fractional"],
        candidate_ids,
        examiner_ids,
        what="fractional",
        noun="candidate",
        column="examiner",
    )
    vehicles = routes = None
    vehicle_conflicts: tuple[VehicleConflict, ...] = ()
    if value.get("vehicles") is not None:
        side = value["vehicles"]
        vehicle_ids: list[str] = [v.id for v in roster.vehicles]
        vehicles = _parse_side(
            side, examiner_ids, vehicle_ids, scale, what="vehicles", noun="examiner"
        )
        vehicle_conflicts = tuple(
            VehicleConflict(
                ExaminerId(c["examiner"]),
                VehicleId(c["vehicle"]),
                c["reason"],
                EvidenceRef(c["evidence"]),
            )
            for c in side["conflicts"]
        )
    if value.get("routes") is not None:
        route_ids: list[str] = list(roster.routes)
        routes = _parse_side(
            value["routes"], candidate_ids, route_ids, scale, what="routes", noun="candidate"
        )
    beacon = value["beacon"]
    return Manifest(
        roster=roster,
        conflicts=conflicts,
        scale=scale,
        cap=cap,
        q_star=q_star,
        fractional=fractional,
        beacon=BeaconTarget(beacon["kind"], beacon["commitment"], beacon["round"]),
        vrf_key=bytes.fromhex(value["vrf_key"]),
        algorithm=value["algorithm"],
        vehicles=vehicles,
        vehicle_conflicts=vehicle_conflicts,
        routes=routes,
    )
