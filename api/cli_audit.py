"""``examctl audit BUNDLE``: the offline audit an auditor runs on a laptop (DESIGN §3.5).

Exit codes: 0 when the bundle holds with no error finding (warnings are listed but pass), 1
when there is any error finding (each listed with its entry index), 2 when the bundle cannot
be read at all (the dispatcher in ``api.cli`` prints the one-line error).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from exam_core.audit import AuditReport, check_bundle
from exam_core.audit_pool import ProcessSignatureCheck
from exam_core.bundle import read_bundle
from exam_core.errors import BundleError
from exam_core.replay import Finding, Replayer

EXIT_OK = 0
EXIT_FINDINGS = 1


def default_replayers() -> list[Replayer]:
    """The replayers ``examctl audit`` runs for DESIGN §3.5 steps 4 and 5.

    The allocation replayer (``allocation.replay``) and the scoring replayer
    (``exam_core.scoring.replay``) are added here, and the device-gating check (step 6) goes
    with them; until then the audit checks the log, its keys, schemas and blobs.
    """
    return []


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
        type=int,
        default=os.cpu_count() or 1,
        help="processes auditing, this one included (default: one per core)",
    )
    parser.set_defaults(run=run)


def _line(finding: Finding) -> str:
    where = "bundle" if finding.index is None else f"index {finding.index}"
    tag = "" if finding.severity == "error" else f" ({finding.severity})"
    return f"{where}: {finding.code}{tag}: {finding.message}"


def _summary(report: AuditReport) -> str:
    verdict = "OK" if report.ok else "FAILED"
    root = report.root_hash.hex() if report.root_hash is not None else "none"
    return (
        f"audit {verdict}: log {report.origin or '?'}, {report.entries} entries, "
        f"tree size {report.tree_size}, root {root}, {report.checkpoints} checkpoints, "
        f"{report.blobs} blobs; {len(report.errors)} errors, {len(report.warnings)} warnings"
    )


def run(args: argparse.Namespace) -> int:
    policy: bytes | None = None
    if args.policy is not None:
        try:
            policy = Path(args.policy).read_bytes()
        except OSError as e:
            raise BundleError(f"cannot read policy {args.policy}: {e.strerror or e}") from e
    if args.jobs < 1:
        raise BundleError("--jobs must be at least 1")
    if args.jobs == 1:
        report = check_bundle(read_bundle(Path(args.bundle)), default_replayers(), policy=policy)
    else:
        # This process verifies a share itself, so one worker per other core.
        with ProcessSignatureCheck(workers=args.jobs - 1) as pool:
            bundle = read_bundle(Path(args.bundle))
            report = check_bundle(bundle, default_replayers(), policy=policy, signature_check=pool)
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
    else:
        for finding in report.findings:
            print(_line(finding))
        print(_summary(report))
    return EXIT_OK if report.ok else EXIT_FINDINGS
