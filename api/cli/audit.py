"""``examctl audit BUNDLE``: the offline audit an auditor runs on a laptop (DESIGN §3.5).

Exit codes: 0 when the bundle holds with no error finding (warnings are listed but pass), 1
when there is any error finding (each listed with its entry index), 2 when the bundle cannot
be read at all (the dispatcher in ``api.cli.main`` prints the one-line error).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from api.cli.arguments import integer
from api.replayers import default_replayers
from exam_core.audit.check import AuditReport, check_bundle
from exam_core.audit.pool import ProcessSignatureCheck
from exam_core.audit.reader import BundleLimits, read_bundle
from exam_core.errors import BundleError
from exam_core.findings import ERROR, Finding
from exam_core.input_file import read_input_file

EXIT_OK = 0
EXIT_FINDINGS = 1
MAX_JOBS = 1024


def register(commands: Any) -> None:
    """Add ``audit`` to the ``examctl`` parser."""
    parser = commands.add_parser(
        "audit", help="verify an audit bundle offline, end to end (exit 0 only if it all holds)"
    )
    parser.add_argument("bundle", metavar="BUNDLE", help="bundle directory from `log export`")
    parser.add_argument(
        "--policy",
        metavar="FILE",
        help="tlog-policy pinned out of band, used instead of the bundle's own policy file",
    )
    parser.add_argument("--json", action="store_true", help="print a machine-readable report")
    parser.add_argument(
        "--jobs",
        type=integer(0, MAX_JOBS),
        default=os.cpu_count() or 1,
        help="processes auditing, this one included (default: one per core)",
    )
    parser.set_defaults(run=run)


def _line(finding: Finding) -> str:
    where = "bundle" if finding.index is None else f"index {finding.index}"
    tag = "" if finding.severity == ERROR else f" ({finding.severity})"
    return f"{where}: {finding.code}{tag}: {finding.message}"


def _summary(report: AuditReport) -> str:
    verdict = "OK" if report.ok else "FAILED"
    root = report.root_hash.hex() if report.root_hash is not None else "none"
    return (
        f"audit {verdict}: log {report.origin or '?'}, {report.entries} entries, "
        f"tree size {report.tree_size}, root {root}, {report.checkpoints} checkpoints, "
        f"{report.blobs} blobs; {len(report.errors)} errors, {len(report.warnings)} warnings"
    )


def _read_policy(path: Path) -> bytes:
    """The pinned policy file, read up to the bundle's limit for notes (never all of /dev/zero)."""
    return read_input_file(path, limit=BundleLimits().note_bytes, what="policy")


def run(args: argparse.Namespace) -> int:
    policy = None if args.policy is None else _read_policy(Path(args.policy))
    if args.jobs < 1:
        raise BundleError("--jobs must be at least 1")
    root = Path(args.bundle)
    if args.jobs == 1 or not root.is_dir():
        report = check_bundle(read_bundle(root), default_replayers(), policy=policy)
    else:
        # This process verifies a share itself, so one worker per other core.
        with ProcessSignatureCheck(workers=args.jobs - 1) as pool:
            bundle = read_bundle(root)
            report = check_bundle(bundle, default_replayers(), policy=policy, signature_check=pool)
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
    else:
        for finding in report.findings:
            print(_line(finding))
        print(_summary(report))
    return EXIT_OK if report.ok else EXIT_FINDINGS
