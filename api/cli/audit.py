"""``examctl audit BUNDLE``: the offline audit an auditor runs on a laptop (DESIGN §3.5).

Exit codes: 0 when the bundle holds with no error finding (warnings are listed but pass), 1
when there is any error finding (each listed with its entry index), 2 when the bundle cannot
be read at all, or a state given with ``--since`` is refused (the dispatcher in
``api.cli.main`` prints the one-line error).  Everything
printed that comes from the bundle is escaped (``escape_text``): one finding is one line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from api.cli.arguments import integer
from api.cli.audit_state import read_state, refuse_unresumable, save_state
from api.replayers import default_replayers
from exam_core.audit.check import AuditReport, SignatureCheck, check_bundle
from exam_core.audit.history import Replayer
from exam_core.audit.incremental import AuditEnd, check_bundle_since, files_since
from exam_core.audit.pool import ProcessSignatureCheck
from exam_core.audit.reader import BundleLimits, directory_reader, read_bundle
from exam_core.audit.report import escape_text
from exam_core.audit.saved_state import AuditState
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
    parser.add_argument(
        "--checkpoint",
        metavar="FILE",
        action="append",
        default=[],
        help="a checkpoint of this log seen elsewhere (a receipt's, the monitoring centre's, an "
        "earlier audit's); the bundle must hold a tree at least as large and consistent with "
        "it (repeatable)",
    )
    parser.add_argument(
        "--allow-dev-beacon",
        action="store_true",
        help="report allocations drawn on a development beacon as a warning, not an error "
        "(its seed, chosen by the allocator, fixes every round: for tests and demonstrations)",
    )
    parser.add_argument("--json", action="store_true", help="print a machine-readable report")
    parser.add_argument(
        "--jobs",
        type=integer(0, MAX_JOBS),
        default=os.cpu_count() or 1,
        help="processes auditing, this one included (default: one per core)",
    )
    parser.add_argument(
        "--since",
        metavar="STATE",
        help="resume from the state an earlier audit saved (--save-state): check only the "
        "entries after its checkpoint, and that the bundle extends it; the report is a full "
        "audit's",
    )
    parser.add_argument(
        "--save-state",
        metavar="STATE",
        help="when the audit holds, save its state at the newest checkpoint, for --since",
    )
    parser.set_defaults(run=run)


def _line(finding: Finding) -> str:
    where = "bundle" if finding.index is None else f"index {finding.index}"
    tag = "" if finding.severity == ERROR else f" ({finding.severity})"
    return f"{where}: {finding.code}{tag}: {escape_text(finding.message)}"


def _summary(report: AuditReport) -> str:
    verdict = "OK" if report.ok else "FAILED"
    root = report.root_hash.hex() if report.root_hash is not None else "none"
    return (
        f"audit {verdict}: log {escape_text(report.origin or '?')}, {report.entries} entries, "
        f"tree size {report.tree_size}, root {root}, {report.checkpoints} checkpoints, "
        f"{report.blobs} blobs; {len(report.errors)} errors, {len(report.warnings)} warnings"
    )


def _read_note(path: Path, what: str) -> bytes:
    """A policy or checkpoint file the auditor gives, read up to the bundle's limit for notes
    (never all of /dev/zero).

    Raises:
        InputFileError: the file cannot be read, is not a regular file, or is larger than a
            note may be.
    """
    return read_input_file(path, limit=BundleLimits().note_bytes, what=what)


def run(args: argparse.Namespace) -> int:
    policy = None if args.policy is None else _read_note(Path(args.policy), "policy")
    outside = [(name, _read_note(Path(name), "checkpoint")) for name in args.checkpoint]
    if args.jobs < 1:
        raise BundleError("--jobs must be at least 1")
    since = None if args.since is None else read_state(Path(args.since))
    root = Path(args.bundle)
    replayers = default_replayers(allow_dev_beacon=args.allow_dev_beacon)
    if args.save_state is not None:
        refuse_unresumable(replayers)
    ends: list[AuditEnd] = []
    if args.jobs == 1 or not root.is_dir():
        report = _audit(
            root, replayers, since, args, policy=policy, outside=outside, pool=None, ends=ends
        )
    else:
        # This process verifies a share itself, so one worker per other core.
        with ProcessSignatureCheck(workers=args.jobs - 1) as pool:
            report = _audit(
                root, replayers, since, args, policy=policy, outside=outside, pool=pool, ends=ends
            )
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
    else:
        for finding in report.findings:
            print(_line(finding))
        print(_summary(report))
    if args.save_state is not None:
        save_state(Path(args.save_state), ends, report)
    return EXIT_OK if report.ok else EXIT_FINDINGS


def _audit(
    root: Path,
    replayers: list[Replayer],
    since: AuditState | None,
    args: argparse.Namespace,
    *,
    policy: bytes | None,
    outside: list[tuple[str, bytes]],
    pool: SignatureCheck | None,
    ends: list[AuditEnd],
) -> AuditReport:
    """A full audit, or one resumed from ``since``; where it ended is appended to ``ends``."""
    if since is None:
        bundle = read_bundle(root)
        return check_bundle(
            bundle,
            replayers,
            policy=policy,
            outside=outside,
            signature_check=pool,
            keep=ends.append,
        )
    bundle = read_bundle(root, wanted=files_since(since))
    report, end = check_bundle_since(
        bundle,
        since,
        replayers,
        policy=policy,
        outside=outside,
        signature_check=pool,
        tiles=directory_reader(root),
        where=f"the audit state {args.since}",
    )
    ends.append(end)
    return report
