"""The offline audit of a log bundle (DESIGN §3.5): every check, every finding, no early exit.

An auditor trusts nobody but the keys in the policy, so the audit recomputes everything the
bundle claims from the entries themselves and reports each difference with the entry index (or
the file, for things that belong to no entry).  It is pure: a ``Bundle`` of bytes in, an
``AuditReport`` out; ``exam_core.audit.reader`` does the reading.

``check_bundle`` is the table of contents: each step of docs/audit.md ("What is checked, in
order") is one call below, with its number, and lives in a module of its own:

1. ``checkpoint_history``: the policy parses; every checkpoint carries the log's signature and
   the policy's witness quorum, in canonical encoding (a policy taken from the bundle is named
   as unpinned, with the log key it trusts); the history runs without gaps and never
   shrinks, two checkpoints of one size agree, the top checkpoint is the newest one listed;
2. ``entry_bundles``: the entry bundles decode into the log's entries, as many as the newest
   checkpoint covers; ``tree``: the tree recomputed from them has every checkpoint's root at
   its size, an RFC 9162 consistency proof built from the level-0 tiles tells a forked log from
   a changed bundle, and every tile file equals the tile recomputed from the entries;
   ``outside_checkpoints``: the bundle holds a tree at least as large as, and consistent with,
   every checkpoint the auditor saw elsewhere, and a witness cosigned its newest tree;
3. ``ordered_pass``: every entry passes ``KeyRegistry`` — the very rules ingest applies — with
   the administrator keys the policy pins;
4. and 5. every allocation and every score is recomputed by the ``Replayer`` the caller plugs
   in for its event types (``exam_core`` never imports the domains that own them);
6. ``blob_check``: every blob hashes to its name, and every blob an entry references is present
   with that length; device gating (§5.4) is checked by the ``gating`` replayers.

``incremental.check_bundle_since`` runs the same steps from a state an earlier audit saved
(``keep``), over the entries after it only.

``report`` collects the findings into the ``AuditReport``.  Signature checks dominate the cost
(tlog.md §5.2), so a caller may pass ``signature_check`` (``exam_core.audit.signatures``): a
function that verifies the entries' signatures ahead of the ordered pass (e.g. in worker
processes, see ``exam_core.audit.pool``) and yields, per entry, the public key that verified it.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from exam_core.audit.blob_check import BlobCheck
from exam_core.audit.checkpoint_history import check_checkpoints, check_policy
from exam_core.audit.entry_bundles import assemble_entries, hold_to_checkpoint
from exam_core.audit.history import Replayer
from exam_core.audit.incremental import AuditEnd, frontier_of, judged_findings, newest_note
from exam_core.audit.ordered_pass import check_entries
from exam_core.audit.outside_checkpoints import (
    OutsideCheckpoint,
    check_outside_checkpoints,
    check_witnessed,
)
from exam_core.audit.reader import Bundle
from exam_core.audit.report import AuditReport, FindingLog
from exam_core.audit.signatures import (
    SignatureCheck,
    begin_signature_check,
    start_signature_check,
)
from exam_core.audit.tree import check_tree
from exam_core.findings import ERROR, WARNING

__all__ = ["ERROR", "WARNING", "AuditReport", "SignatureCheck", "check_bundle"]


def check_bundle(
    bundle: Bundle,
    replayers: Sequence[Replayer] = (),
    *,
    gating: Sequence[Replayer] = (),
    policy: bytes | None = None,
    outside: Sequence[OutsideCheckpoint] = (),
    signature_check: SignatureCheck | None = None,
    keep: Callable[[AuditEnd], None] | None = None,
) -> AuditReport:
    """Audit ``bundle`` and return every finding (DESIGN §3.5 steps 1–6, docs/audit.md).

    ``policy`` replaces the bundle's own policy file: an auditor who pinned the log's keys out
    of band should not take them from the party being audited.  ``outside`` are checkpoints
    the auditor saw elsewhere (where from, note bytes), which the bundle must not roll back.
    ``replayers`` recompute allocations and scores; ``gating`` checks device gating per exam.
    ``keep`` is handed where the audit ended, to save its state (``examctl audit
    --save-state``; the incremental audit, ``exam_core.audit.incremental``, resumes from it).
    """
    findings = FindingLog(bundle.problems)
    with _cycle_collector_paused():
        # (1) docs/audit.md step 1: the policy, and the checkpoints it signs
        pinned = policy is not None
        trusted = check_policy(policy if pinned else bundle.policy, findings, pinned=pinned)
        history = check_checkpoints(bundle, trusted, findings)
        newest = history.newest.checkpoint if history.newest is not None else None
        # (3) step 3, started first where it can be: workers verify signatures of the entry
        # bundles as they are lined up below, and while the tree is rebuilt
        started = begin_signature_check(
            signature_check,
            bundle.entry_bundles,
            history.origin,
            newest.size if newest is not None else None,
        )
        # (2) step 2: the entries from their bundles, as many as the newest checkpoint covers
        lined_up = started.line_up if started is not None else None
        entries = hold_to_checkpoint(
            assemble_entries(bundle, findings, lined_up), bundle, newest, findings
        )
        verified = (
            started.answers(entries)
            if started is not None
            else start_signature_check(entries, signature_check, history.origin)
        )
        # (2) step 2: the tree rebuilt from the entries, against every checkpoint and tile
        tree = check_tree(bundle, entries, history, findings)
        # (2) step 2, last: checkpoints seen outside the bundle, and the witnesses
        held = check_outside_checkpoints(outside, history, tree, findings)
        check_witnessed(history, held, findings)
        # (6) step 6, first half: every blob against its name, before entries reference it
        blobs = BlobCheck(bundle.blobs, findings)
        blobs.check_files()
        # (3)-(6) steps 3 to 6, every entry in log order: the registry rules, the replayers
        # (allocations, scores, device gating), the blobs it references
        listed_before = len(findings.listed)
        passed = check_entries(
            entries,
            history,
            [*replayers, *gating],
            blobs=blobs,
            verified=verified,
            findings=findings,
            outside=held,
        )
        if keep is not None:
            keep(
                AuditEnd(
                    history,
                    policy if pinned else bundle.policy,
                    newest_note(bundle, history),
                    bundle.checkpoints,
                    frontier_of(tree, newest.size) if tree and newest is not None else None,
                    passed,
                    blobs,
                    judged_findings(findings.listed, listed_before, passed),
                    [*replayers, *gating],
                )
            )
    origin = history.policy.origin if history.policy is not None else None
    return AuditReport(
        findings=findings.done(),
        origin=origin or (newest.origin if newest is not None else None),
        tree_size=newest.size if newest is not None else None,
        root_hash=newest.root_hash if newest is not None else None,
        entries=len(entries),
        checkpoints=len(bundle.checkpoints) + (bundle.checkpoint is not None),
        blobs=len(bundle.blobs),
    )


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for the audit, and restore it after.

    The audit keeps the parsed entries the replayers read (on an exam day, most of them), so
    each full collection rescans all of them: 3 µs an entry when it kept every entry of a
    100,000-entry bundle (``bench/audit_throughput.py``), for objects that hold no reference
    cycles and are freed by reference counting anyway.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
