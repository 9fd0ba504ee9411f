"""``examctl receipt``: the receipt a candidate keeps for their result.

- ``make --bundle BUNDLE --exam EXAM --out FILE``: the receipt of an exam's result under the
  bundle's newest checkpoint (the file is written whole or not at all, never over another);
- ``verify FILE [--policy POLICY]``: checks it offline (exit 0 holds, 1 does not);
- ``show FILE``: prints it as text and as QR codes (one, or a structured-append sequence of up
  to 16 when it is larger), with no personal data in clear;
- ``check FILE (--bundle BUNDLE | --url CENTRE) [--policy POLICY]``: proves it still holds in
  today's log — the newest checkpoint of an exported bundle, or of the centre's public log
  endpoints (``api.client.CentreLog``), verifies and is consistent with the receipt's (exit 1
  with "consistency failure" when an entry was changed after the fact).  Either way the same
  ``exam_core.evidence.check_receipt_current`` decides; nothing the centre says is trusted.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path
from typing import Any

import segno

from api.cli.evidence import read_policy
from api.client import CentreClient, CentreLog, ClientError, RetryPolicy
from exam_core.audit.reader import read_bundle
from exam_core.centre.durable import write_new
from exam_core.errors import CheckpointError, EvidenceError, ProofError
from exam_core.evidence.bundle_log import BundleLog, LogSource
from exam_core.evidence.result_receipt import (
    MAX_RESULT_RECEIPT_BYTES,
    VerifiedResult,
    check_receipt_current,
    parse_result_receipt,
    receipt_from_bundle,
    verify_result_receipt,
)
from exam_core.input_file import read_input_file
from exam_core.log.policy import Policy, parse_policy

EXIT_OK = 0
EXIT_DOES_NOT_HOLD = 1
QR_BYTES = 2_800
"""Receipt bytes per QR symbol (version 40 at level L holds 2,953 bytes; structured append
takes a few)."""
MAX_QR_SYMBOLS = 16
_EXAM = r"[0-9a-f]{32}"


def register(commands: Any) -> None:
    """Add ``receipt`` to the ``examctl`` parser."""
    parser = commands.add_parser("receipt", help="a candidate's receipt for their result")
    sub = parser.add_subparsers(dest="receipt_command", required=True, metavar="COMMAND")
    make = sub.add_parser("make", help="the receipt of an exam's result, from a bundle")
    make.add_argument("--bundle", required=True, metavar="BUNDLE")
    make.add_argument("--exam", required=True, metavar="EXAM", help="the exam's id (hex)")
    make.add_argument("--out", required=True, metavar="FILE", help="a new file")
    make.set_defaults(run=run_make)
    verify = sub.add_parser("verify", help="check a receipt offline")
    verify.add_argument("file", metavar="FILE")
    verify.add_argument("--policy", metavar="POLICY", help="the centre's published tlog-policy")
    verify.set_defaults(run=run_verify)
    show = sub.add_parser("show", help="print a receipt as text and as QR codes")
    show.add_argument("file", metavar="FILE")
    show.set_defaults(run=run_show)
    check = sub.add_parser("check", help="prove a receipt still holds in today's log")
    check.add_argument("file", metavar="FILE")
    today = check.add_mutually_exclusive_group(required=True)
    today.add_argument("--bundle", metavar="BUNDLE", help="today's log, exported")
    today.add_argument("--url", metavar="CENTRE", help="the centre's service (its public log)")
    check.add_argument("--policy", metavar="POLICY", help="the centre's published tlog-policy")
    check.set_defaults(run=run_check)


def _read(path: str) -> bytes:
    return read_input_file(Path(path), limit=MAX_RESULT_RECEIPT_BYTES, what="receipt")


def _pinned(path: str | None) -> Policy | None:
    return None if path is None else read_policy(path, None)


def run_make(args: argparse.Namespace) -> int:
    if re.fullmatch(_EXAM, args.exam) is None:
        raise EvidenceError("--exam is an exam id: 32 lowercase hex digits")
    bundle = read_bundle(Path(args.bundle))
    if bundle.policy is None:
        raise EvidenceError("the bundle has no policy to put in the receipt")
    parse_policy(bundle.policy)
    receipt = receipt_from_bundle(BundleLog(bundle), args.exam, bundle.policy)
    write_new(Path(args.out), receipt)
    print(f"receipt of exam {args.exam} written to {args.out} ({len(receipt)} bytes)")
    return EXIT_OK


def _describe(result: VerifiedResult) -> list[str]:
    event = result.event
    cp = result.checkpoint
    codes = ", ".join(f"{d['code']} −{d['points']}" for d in event["deductions"]) or "none"
    return [
        f"exam {result.exam}: 科目{'二' if event['subject'] == 2 else '三'} "
        f"class {event['licence_class']}, score {event['score']}, "
        f"{'passed' if event['passed'] else 'failed'}{' (stopped)' if event['stopped'] else ''}",
        f"deductions: {codes}",
        f"scored by {event['actor']} at {event['ts']} ms over {len(event['chunks'])} telemetry "
        f"chunks, map {event['map']}, rules {event['rules']}",
        f"entry {result.index} of log {cp.origin}, checkpoint size {cp.size} root "
        f"{cp.root_hash.hex()}, witnessed by {', '.join(result.witnesses) or 'no witness'}",
        "policy: "
        + (
            "pinned (--policy)"
            if result.pinned
            else "the receipt's own (pin the centre's published policy with --policy)"
        ),
    ]


def _fails(path: str, reason: object) -> int:
    print(f"does not hold: {path}: {reason}", file=sys.stderr)
    return EXIT_DOES_NOT_HOLD


def run_verify(args: argparse.Namespace) -> int:
    data, policy = _read(args.file), _pinned(args.policy)
    try:
        result = verify_result_receipt(data, policy)
    except (EvidenceError, CheckpointError, ProofError) as e:
        return _fails(args.file, e)
    print("receipt holds:")
    for line in _describe(result):
        print(f"  {line}")
    return EXIT_OK


def qr_codes(data: bytes) -> list[str]:
    """``data`` as QR codes for a terminal or a printer: one symbol, or a structured-append
    sequence of up to 16.

    Raises:
        EvidenceError: too large for 16 symbols.
    """
    count = -(-len(data) // QR_BYTES)
    if count > MAX_QR_SYMBOLS:
        raise EvidenceError(f"{len(data)} bytes do not fit {MAX_QR_SYMBOLS} QR codes")
    symbols = (
        [segno.make(data, error="l", mode="byte")]
        if count == 1
        else list(segno.make_sequence(data, error="l", mode="byte", symbol_count=count))
    )
    out = []
    for symbol in symbols:
        text = io.StringIO()
        symbol.terminal(out=text, compact=True)
        out.append(text.getvalue())
    return out


def run_show(args: argparse.Namespace) -> int:
    data = _read(args.file)
    receipt = parse_result_receipt(data)
    try:
        result = verify_result_receipt(data)
    except (CheckpointError, ProofError) as e:
        return _fails(args.file, e)
    print("result receipt (exam-integrity/result-receipt@v1; no personal data)")
    for line in _describe(result):
        print(line)
    codes = qr_codes(data)
    print(f"QR: {len(data)} bytes in {len(codes)} code{'s' if len(codes) > 1 else ''}")
    for k, code in enumerate(codes, 1):
        print(f"QR {k} of {len(codes)}, exam {receipt.exam}")
        sys.stdout.write(code)
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    data, policy = _read(args.file), _pinned(args.policy)
    if args.url is None:
        return _check_against(args.file, data, policy, BundleLog(read_bundle(Path(args.bundle))))
    with CentreClient(args.url, retry=RetryPolicy(attempts=3)) as client:
        try:
            return _check_against(args.file, data, policy, CentreLog(client))
        except ClientError as e:
            raise EvidenceError(f"the centre at {args.url} did not answer: {e}") from e


def _check_against(path: str, data: bytes, policy: Policy | None, source: LogSource) -> int:
    try:
        current = check_receipt_current(data, source, policy)
    except (EvidenceError, CheckpointError, ProofError) as e:
        return _fails(path, e)
    old, today = current.result.checkpoint, current.today
    print(
        f"receipt holds today: exam {current.result.exam}, entry {current.result.index}; "
        f"log {today.origin} size {today.size} root {today.root_hash.hex()} is consistent "
        f"with the receipt's checkpoint of size {old.size}"
    )
    return EXIT_OK
