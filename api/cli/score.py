"""``examctl score``: simulate an exam's telemetry, recompute a score, list the rules.

``score simulate`` drives the scripted candidate over the shipped course and writes what an
exam leaves behind: the signed telemetry chunks, the in-car unit's public key, the versions of
the map and rule table used (``exam.json``) and the result (``result.json``, canonical JSON).
With ``--examiner-call CODE@FRAME`` (repeatable) the examiner's calls of the exam
(``exam.examiner_judged``: an examiner-judged rule of the table and the frame it refers to) are
written into ``exam.json`` and counted in the result, as the scorer and the audit count them.
The directory appears whole or not at all (``api.cli.output_dir``); an existing one is
replaced only with ``--force``.  ``score replay`` recomputes the result from that directory
alone and prints it; it exits 1 if it differs from the ``result.json`` found there.
``score rules`` prints the rule table and,
with ``--coverage``, the coverage report: every rule of the research's tables and whether the
machine, the examiner or nobody decides it (``--json`` for a list of objects).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from api.cli.arguments import integer
from api.cli.output_dir import check_output_dir, staged_output_dir
from exam_core.errors import InputFileError, ScoringError
from exam_core.input_file import read_input_file, read_json_file
from exam_core.log.canonical import canonical_json
from exam_core.log.note import Ed25519Signer, ed25519_verifier_from_vkey
from exam_core.scoring.course import DEFAULT_MAPS, course_by_version, load_course, subject_of
from exam_core.scoring.coverage import (
    coverage,
    coverage_counts,
    coverage_markdown,
    load_catalogue,
)
from exam_core.scoring.engine import ExaminerCall, score_chunks
from exam_core.scoring.rules import (
    Rule,
    load_rule_table,
    rule_table_by_version,
    rule_table_markdown,
)
from exam_core.scoring.sim.simulator import simulate
from exam_core.scoring.telemetry import MAX_CHUNK_BYTES, make_chunks

VEHICLE_KEY_NAME = "exam.example/c/sim/vehicle/V001"

EXIT_MISMATCH = 1
MAX_SEED = 2**63 - 1


def register(commands: Any) -> None:
    """Add ``score simulate`` and ``score replay`` to the ``examctl`` parser."""
    group = commands.add_parser("score", help="automated scoring from signed telemetry")
    sub = group.add_subparsers(dest="score_command", required=True, metavar="SUBCOMMAND")

    sim = sub.add_parser("simulate", help="drive the scripted candidate and score the run")
    sim.add_argument("--subject", type=int, choices=(2, 3), required=True)
    sim.add_argument("--class", dest="licence_class", default="C1", help="licence class")
    sim.add_argument(
        "--faults", default="", help="comma-separated rule codes to commit (CODE or CODE:near)"
    )
    sim.add_argument(
        "--seed", type=integer(0, MAX_SEED), required=True, help="seed of the sensor noise"
    )
    sim.add_argument(
        "--examiner-call",
        dest="examiner_calls",
        action="append",
        default=[],
        metavar="CODE@FRAME",
        help="an examiner's call: an examiner-judged rule code and its frame (repeatable)",
    )
    sim.add_argument("--out", required=True, help="directory to write the exam to")
    sim.add_argument("--force", action="store_true", help="replace an existing --out directory")
    sim.set_defaults(run=run_simulate)

    rep = sub.add_parser("replay", help="recompute the result of an exam directory")
    rep.add_argument("dir", metavar="DIR")
    rep.set_defaults(run=run_replay)

    rules = sub.add_parser("rules", help="print the rule table, or how each rule is decided")
    rules.add_argument(
        "--coverage", action="store_true", help="every rule of the research's tables"
    )
    rules.add_argument("--json", action="store_true", help="a JSON list of objects")
    rules.add_argument("--markdown", action="store_true", help="print a Markdown table")
    rules.add_argument("--rules", dest="version", help="rule table version (default: the newest)")
    rules.set_defaults(run=run_rules)


def run_simulate(args: argparse.Namespace) -> int:
    out = Path(args.out)
    check_output_dir(out, force=args.force)  # before the work, not after it
    table = load_rule_table()
    course = load_course(DEFAULT_MAPS[args.subject])
    faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    for fault in faults:
        if fault.partition(":")[0] not in table.rules:
            raise ScoringError(f"unknown rule code {fault!r}")
        subjects = table.rules[fault.partition(":")[0]].subjects
        if args.subject not in subjects:
            raise ScoringError(f"rule {fault} does not apply to subject {args.subject}")
    try:
        run = simulate(course, args.seed, faults)
    except ValueError as e:
        raise ScoringError(str(e)) from e
    calls = [_examiner_call(text) for text in args.examiner_calls]
    seed = hashlib.sha256(b"examctl score simulate vehicle\n" + str(args.seed).encode()).digest()
    signer = Ed25519Signer.from_seed(VEHICLE_KEY_NAME, seed)
    exam_id = hashlib.sha256(b"exam\n" + str(args.seed).encode()).digest()[:16]
    blobs = make_chunks(signer, exam_id, run.frames)
    hashes = [hashlib.sha256(blob).hexdigest() for blob in blobs]
    exam = {
        "exam": exam_id.hex(),
        "subject": args.subject,
        "licence_class": args.licence_class,
        "map": course.version,
        "rules": table.version,
        "chunks": hashes,
        "vehicle_vkey": signer.vkey,
    }
    if calls:
        exam["examiner_calls"] = [{"code": c.code, "frame": c.frame} for c in calls]
    result = score_chunks(
        blobs,
        course,
        table,
        args.licence_class,
        verifier=signer.verifier,
        examiner_calls=calls,
    )
    with staged_output_dir(out, force=args.force) as staged:
        (staged / "telemetry").mkdir()
        for n, blob in enumerate(blobs):
            (staged / "telemetry" / f"chunk-{n:04d}.bin").write_bytes(blob)
        (staged / "exam.json").write_bytes(canonical_json(exam) + b"\n")
        (staged / "result.json").write_bytes(result.to_bytes() + b"\n")
    print(result.to_bytes().decode())
    return 0


_CALL = re.compile(r"([0-9A-Z]{1,16})@([0-9]{1,9})")
MAX_EXAMINER_CALLS = 100
"""An exam has a handful of calls at most: one disqualifying call ends it."""


def _examiner_call(text: str) -> ExaminerCall:
    """A call given as ``CODE@FRAME``; whether the table leaves it to the examiner is the
    engine's check.

    Raises:
        ScoringError: the text is not CODE@FRAME.
    """
    match = _CALL.fullmatch(text)
    if match is None:
        raise ScoringError(f"examiner call {text!r} is not CODE@FRAME")
    return ExaminerCall(match[1], int(match[2]))


def _read_calls(doc: dict[str, Any]) -> list[ExaminerCall]:
    """The examiner's calls of ``exam.json`` (none when it lists none).

    Raises:
        ScoringError: ``examiner_calls`` is not a list of 1 to ``MAX_EXAMINER_CALLS``
            {code, frame} objects, or a call is not CODE@FRAME.
    """
    if "examiner_calls" not in doc:
        return []
    calls = doc["examiner_calls"]
    if not isinstance(calls, list) or not 1 <= len(calls) <= MAX_EXAMINER_CALLS:
        raise ScoringError(
            f"exam.json examiner_calls must be a list of 1 to {MAX_EXAMINER_CALLS} calls"
        )
    out = []
    for n, call in enumerate(calls):
        ok = (
            isinstance(call, dict)
            and set(call) == {"code", "frame"}
            and isinstance(call["code"], str)
            and isinstance(call["frame"], int)
            and not isinstance(call["frame"], bool)
        )
        if not ok:
            raise ScoringError(f"exam.json examiner_calls[{n}] must be {{code, frame}}")
        out.append(_examiner_call(f"{call['code']}@{call['frame']}"))
    return out


_EXAM_ID = re.compile(r"[0-9a-f]{32}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_EXAM_FILE_BYTES = 1 << 20
MAX_RESULT_BYTES = 1 << 20
MAX_CHUNKS = 1_000
"""A thousand chunks of 600 frames at 10 Hz is a day of driving; an exam takes minutes."""
_EXAM_FIELDS = {"exam", "subject", "licence_class", "map", "rules", "chunks", "vehicle_vkey"}


def _read_exam(folder: Path) -> dict[str, Any]:
    path = folder / "exam.json"
    try:
        doc = read_json_file(path, limit=MAX_EXAM_FILE_BYTES, what="exam description")
    except InputFileError as e:
        raise ScoringError(str(e)) from e
    if not isinstance(doc, dict) or set(doc) - {"examiner_calls"} != _EXAM_FIELDS:
        raise ScoringError(
            f"exam.json must have exactly {sorted(_EXAM_FIELDS)} (and may have examiner_calls)"
        )
    chunks = doc["chunks"]
    if (
        not isinstance(chunks, list)
        or not 1 <= len(chunks) <= MAX_CHUNKS
        or not all(isinstance(h, str) and _SHA256.fullmatch(h) for h in chunks)
    ):
        raise ScoringError(
            f"exam.json chunks must be a list of 1 to {MAX_CHUNKS} SHA-256 hex strings"
        )
    if not isinstance(doc["exam"], str) or not _EXAM_ID.fullmatch(doc["exam"]):
        raise ScoringError("exam.json exam must be the exam id: 32 lowercase hex digits")
    if doc["subject"] not in (2, 3) or isinstance(doc["subject"], bool):
        raise ScoringError("exam.json subject must be 2 or 3")
    for name in ("licence_class", "map", "rules", "vehicle_vkey"):
        if not isinstance(doc[name], str) or not 0 < len(doc[name]) <= 1024:
            raise ScoringError(f"exam.json {name} must be a non-empty string")
    return doc


def _read(path: Path, limit: int, what: str) -> bytes:
    try:
        return read_input_file(path, limit=limit, what=what)
    except InputFileError as e:
        raise ScoringError(str(e)) from e


def run_replay(args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    exam = _read_exam(folder)
    table = rule_table_by_version(str(exam["rules"]))
    course = course_by_version(str(exam["map"]))
    if subject_of(course) != exam["subject"]:
        raise ScoringError(f"map {course.version} is not for subject {exam['subject']}")
    verifier = ed25519_verifier_from_vkey(str(exam["vehicle_vkey"]))
    blobs = []
    for n, sha in enumerate(exam["chunks"]):
        blob = _read(folder / "telemetry" / f"chunk-{n:04d}.bin", MAX_CHUNK_BYTES, "chunk")
        if hashlib.sha256(blob).hexdigest() != sha:
            raise ScoringError(f"telemetry chunk {n} does not match its logged SHA-256")
        blobs.append(blob)
    calls = _read_calls(exam)
    result = score_chunks(
        blobs,
        course,
        table,
        str(exam["licence_class"]),
        verifier=verifier,
        exam_id=bytes.fromhex(exam["exam"]),
        examiner_calls=calls,
    )
    text = result.to_bytes()
    print(text.decode())
    if calls:
        points = sum(table.rules[c.code].points for c in calls)
        print(
            f"examctl: {len(calls)} examiner's call(s) counted, {points} points: "
            + ", ".join(f"{c.code}@{c.frame}" for c in calls),
            file=sys.stderr,
        )
    recorded = folder / "result.json"
    if (
        os.path.lexists(recorded)
        and _read(recorded, MAX_RESULT_BYTES, "recorded result").rstrip(b"\n") != text
    ):
        print("examctl: result.json does not match the recomputed result", file=sys.stderr)
        return EXIT_MISMATCH
    return 0


def _rule_json(r: Rule) -> dict[str, Any]:
    return {
        "code": r.code,
        "subjects": sorted(r.subjects),
        "item": r.item,
        "condition": r.condition,
        "points": r.points,
        "judge": r.judge,
        "method": r.method,
        "params": dict(r.params),
        "source": r.source,
    }


def run_rules(args: argparse.Namespace) -> int:
    """Print the rule table, or with ``--coverage`` the coverage report."""
    table = load_rule_table() if args.version is None else rule_table_by_version(args.version)
    if not args.coverage:
        if args.json:
            print(json.dumps([_rule_json(r) for r in table.rules.values()], ensure_ascii=False))
            return 0
        if args.markdown:
            print(rule_table_markdown(table), end="")
            return 0
        print(f"rule table {table.version}: {len(table.rules)} rules")
        for r in table.rules.values():
            params = ", ".join(f"{k}={v}" for k, v in r.params.items())
            subjects = "/".join(str(n) for n in sorted(r.subjects))
            print(
                f"{r.code:<7} {subjects:<4} {r.points:>3} {r.judge:<8} {r.item:<17} "
                f"{r.condition}" + (f" [{params}]" if params else "")
            )
        return 0
    report = coverage(table, load_catalogue())
    if args.json:
        print(json.dumps([c.to_json() for c in report], ensure_ascii=False, indent=1))
        return 0
    if args.markdown:
        print(coverage_markdown(report), end="")
        return 0
    counts = coverage_counts(report)
    print(
        f"rule table {table.version}: of {counts['total']} rules in the research's tables, "
        f"{counts['machine']} decided by machine, {counts['examiner']} by the examiner, "
        f"{counts['none']} by nobody"
    )
    for c in report:
        print(
            f"{c.rule.id:<7} {c.code or '-':<7} {c.rule.points:>3} {c.decided_by:<8} "
            f"{c.rule.description} ({c.reason})"
        )
    return 0
