"""Step 2, last (docs/audit.md): what vouches for the bundle's history outside the centre.

Everything else in a bundle comes from the party being audited.  A log-key holder can sign an
older tree again, or a rewritten one, and export a bundle that is whole and consistent with
itself: only something seen outside the centre tells it apart.  Two things are:

- checkpoints the auditor saw elsewhere (a receipt, the monitoring centre, an earlier audit),
  given with ``examctl audit --checkpoint FILE``.  Each must be signed by the policy's log key,
  and the bundle must hold a tree at least as large and consistent with it — its root at that
  size, proved from the same tiles that give the newest checkpoint's root — or the bundle was
  rolled back (``bundle_rolled_back``) or the log forked (``checkpoint_outside_inconsistent``);
- witness cosignatures: a newest tree no witness of the policy cosigned is vouched for by the
  centre alone (``checkpoint_unwitnessed``, a warning).

The outside checkpoints that hold are handed on, like the bundle's own, as evidence of what the
log held when (their witnesses' cosignature times).
"""

from __future__ import annotations

from collections.abc import Sequence

from exam_core.audit.checkpoint_history import CheckpointHistory, SeenCheckpoint, witness_times
from exam_core.audit.report import FindingLog
from exam_core.audit.tree import consistency_problem
from exam_core.errors import CheckpointError, NoteError
from exam_core.findings import WARNING
from exam_core.log.checkpoint import parse_checkpoint_text
from exam_core.log.merkle import HashSource
from exam_core.log.note import parse_note

__all__ = ["OutsideCheckpoint", "check_outside_checkpoints", "check_witnessed"]

OutsideCheckpoint = tuple[str, bytes]
"""(where the auditor got it — a file name —, the checkpoint note's bytes)."""


def check_outside_checkpoints(
    outside: Sequence[OutsideCheckpoint],
    history: CheckpointHistory,
    tree: HashSource | None,
    findings: FindingLog,
) -> list[SeenCheckpoint]:
    """Hold the bundle to every checkpoint in ``outside``; return those it agrees with.

    ``tree`` gives the newest checkpoint's root (``check_tree``), or is None when nothing in
    the bundle does.
    """  # noqa: DOC501 - CheckpointError is caught here
    held: list[SeenCheckpoint] = []
    newest = history.newest.checkpoint if history.newest is not None else None
    for where, data in outside:
        if history.policy is None:
            findings.add(
                None,
                "checkpoint_outside_invalid",
                f"{where}: not checked: there is no policy to verify it with",
            )
            continue
        try:
            cp = parse_checkpoint_text(parse_note(data).text)
            if cp.origin != history.policy.origin:
                raise CheckpointError(f"a checkpoint of {cp.origin!r}, not of this log")
            cosigned_at = witness_times(history.policy, data)
        except (CheckpointError, NoteError) as e:
            findings.add(None, "checkpoint_outside_invalid", f"{where}: {e}")
            continue
        if newest is None or cp.size > newest.size:
            findings.add(
                newest.size if newest is not None else None,
                "bundle_rolled_back",
                f"{where}: the log signed a tree of {cp.size} entries; the bundle's newest "
                f"checkpoint has {newest.size if newest is not None else 'none'}",
            )
            continue
        if tree is None:
            findings.add(
                cp.size - 1 if cp.size else None,
                "checkpoint_outside_inconsistent",
                f"{where}: cannot be held to the bundle: neither its tiles nor its entries give "
                "the newest checkpoint's root",
            )
            continue
        problem = consistency_problem(tree, cp, newest)
        if problem is not None:
            findings.add(
                cp.size - 1 if cp.size else None,
                "checkpoint_outside_inconsistent",
                f"{where}: the log signed a tree of size {cp.size} that the bundle's newest "
                f"checkpoint does not extend: {problem}",
            )
            continue
        held.append(SeenCheckpoint(where, cp, cosigned_at))
    return held


def check_witnessed(
    history: CheckpointHistory, outside: Sequence[SeenCheckpoint], findings: FindingLog
) -> None:
    """Warn when no witness of the policy cosigned the newest tree (in the bundle or outside)."""
    newest = history.newest
    if newest is None:
        return
    vouched = [s for s in (newest, *outside) if s.checkpoint == newest.checkpoint]
    if not any(s.cosigned_at for s in vouched):
        findings.add(
            None,
            "checkpoint_unwitnessed",
            f"{newest.path}: no witness cosigned the tree of size {newest.checkpoint.size}: "
            "this history is vouched for by the centre alone; a rollback or rewrite by the "
            "log-key holder cannot be excluded",
            WARNING,
        )
