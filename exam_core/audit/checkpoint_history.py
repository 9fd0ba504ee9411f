"""Step 1 of the audit (docs/audit.md): the policy, and the checkpoints it signs.

The policy is the auditor's only trust anchor, so it is read first; every checkpoint the bundle
holds (the listed history and the top ``checkpoint``) is then held to it: the log's signature,
the witness quorum, the log's origin and canonical encoding.  The history must run without gaps
and never shrink, two checkpoints of one size must agree, and the top checkpoint must be the
newest one listed.  What this step returns, ``CheckpointHistory``, is what the later steps
audit the tree and the entries against.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from exam_core.audit.reader import Bundle
from exam_core.audit.report import FindingLog
from exam_core.errors import CheckpointError, NoteError
from exam_core.findings import WARNING
from exam_core.log.checkpoint import Checkpoint, parse_checkpoint_text
from exam_core.log.cosignature import cosignature_timestamps, verified_witnesses
from exam_core.log.note import parse_note
from exam_core.log.policy import Policy, parse_policy
from exam_core.log.tiles import checkpoint_history_path

__all__ = [
    "CheckpointHistory",
    "SeenCheckpoint",
    "check_checkpoints",
    "check_policy",
    "witness_times",
]


@dataclass(frozen=True)
class SeenCheckpoint:
    """A checkpoint file and its parsed body (its signatures already checked and reported)."""

    path: str
    checkpoint: Checkpoint
    cosigned_at: Mapping[str, int] = field(default_factory=dict, compare=False)
    """Witness key name → the POSIX time (seconds) its verified cosignature states; empty when
    no witness the policy names cosigned it, or the checkpoint failed the policy."""


@dataclass(frozen=True)
class CheckpointHistory:
    """What step 1 found: the policy (if it parsed), the listed checkpoints that parsed, oldest
    first, and the newest checkpoint the tree is audited against."""

    policy: Policy | None
    listed: tuple[SeenCheckpoint, ...]
    newest: SeenCheckpoint | None
    """The top ``checkpoint``, or the newest listed one when the top one is absent or broken."""

    @property
    def seen(self) -> list[SeenCheckpoint]:
        """Every checkpoint the tree is held to: the listed ones, then the newest."""
        return [*self.listed, *([self.newest] if self.newest is not None else [])]

    @property
    def origin(self) -> str | None:
        """The log's name: the policy's, else the newest checkpoint's."""
        if self.policy is not None:
            return self.policy.origin
        return self.newest.checkpoint.origin if self.newest is not None else None


def check_policy(text: bytes | None, findings: FindingLog, *, pinned: bool) -> Policy | None:
    """The policy parsed from ``text``; None, with a finding, when it is absent or malformed.

    ``pinned`` says whether the auditor brought ``text`` (out of band) or it is the bundle's
    own: a bundle's own policy is whatever the audited party wrote, so the keys trusted are
    named in a warning for the auditor to compare with the ones the centre publishes.
    """
    if text is None:
        findings.add(None, "missing_policy", "policy: no policy file; nothing to trust")
        return None
    try:
        policy = parse_policy(text)
    except (CheckpointError, NoteError) as e:
        findings.add(None, "policy_malformed", f"policy: {e}")
        return None
    if not pinned:
        keys = ", ".join(log.vkey for log in policy.logs)
        findings.add(
            None,
            "policy_unpinned",
            f"policy: taken from the bundle, which the audited party wrote; the log key trusted "
            f"is {keys}: compare it with the key the centre publishes, or pin a policy with "
            "--policy",
            WARNING,
        )
    return policy


def _loose_signature_line(data: bytes) -> str | None:
    """Why a signature line is not in canonical base64, or None.

    Base64 leaves spare bits in its last character; a decoder ignores them, so a checkpoint
    file could be altered without touching what is signed.  The log writes canonical base64,
    and the audit holds the files to exactly that.
    """
    block = data[data.rfind(b"\n\n") + 2 :]
    for line in block.split(b"\n")[:-1]:
        encoded = line.rsplit(b" ", 1)[-1]
        try:
            canonical = base64.b64encode(base64.b64decode(encoded, validate=True))
        except ValueError:
            return "a signature line is not base64"
        if canonical != encoded:
            return f"signature line {line[:60]!r} is not canonical base64"
    return None


def witness_times(policy: Policy, data: bytes) -> dict[str, int]:
    """The cosignature time of every witness of ``policy`` whose line on ``data`` verifies.

    Raises:
        CheckpointError: the log did not sign ``data``, or a known witness's line fails.
    """
    _, signed = verified_witnesses(data, policy.log_verifiers, policy.witness_verifiers.values())
    witnesses = [v for v in policy.witness_verifiers.values() if v.name in signed]
    return cosignature_timestamps(data, witnesses)


def _refusal_code(policy: Policy, data: bytes) -> str:
    """Why the policy refused a checkpoint: a signature that fails, or too few witnesses."""
    try:
        verified_witnesses(data, policy.log_verifiers, policy.witness_verifiers.values())
    except CheckpointError:
        return "checkpoint_signature"
    return "checkpoint_quorum"


def _open_checkpoint(
    path: str, data: bytes, policy: Policy | None, findings: FindingLog
) -> SeenCheckpoint | None:
    """Verify one checkpoint note under the policy; report and return what it states."""
    try:
        body = parse_note(data).text
        cp = parse_checkpoint_text(body)
    except (NoteError, CheckpointError) as e:
        findings.add(None, "checkpoint_malformed", f"{path}: {e}")
        return None
    loose = _loose_signature_line(data)
    if loose is not None:
        findings.add(None, "checkpoint_malformed", f"{path}: {loose}")
    if policy is not None and cp.origin != policy.origin:
        findings.add(
            None,
            "checkpoint_origin",
            f"{path}: origin {cp.origin!r} is not the policy's log {policy.origin!r}",
        )
    elif policy is not None:
        try:
            policy.verify_checkpoint(data)
            return SeenCheckpoint(path, cp, witness_times(policy, data))
        except CheckpointError as e:
            findings.add(None, _refusal_code(policy, data), f"{path}: {e}")
    return SeenCheckpoint(path, cp)


def check_checkpoints(
    bundle: Bundle,
    policy: Policy | None,
    findings: FindingLog,
    verified: Sequence[SeenCheckpoint] = (),
) -> CheckpointHistory:
    """Hold every checkpoint of ``bundle`` to ``policy`` and to each other; report each fault.

    ``verified`` are the first listed checkpoints as an earlier audit opened them, their files
    unchanged since (``exam_core.audit.incremental``): their signatures are not checked again.
    """
    listed: list[SeenCheckpoint] = []
    previous: SeenCheckpoint | None = None
    by_size: dict[int, SeenCheckpoint] = {}
    expected = 0
    for position, (path, data) in enumerate(bundle.checkpoints):
        ordinal = int(path.rsplit("/", 1)[-1])
        if ordinal != expected:
            findings.add(
                None,
                "checkpoint_gap",
                f"{path}: {checkpoint_history_path(expected)} to "
                f"{checkpoint_history_path(ordinal - 1)} are missing",
            )
        expected = ordinal + 1
        if position < len(verified):
            seen: SeenCheckpoint | None = verified[position]
        else:
            seen = _open_checkpoint(path, data, policy, findings)
        if seen is None:
            continue
        listed.append(seen)
        size = seen.checkpoint.size
        if previous is not None and size < previous.checkpoint.size:
            findings.add(
                None,
                "checkpoint_order",
                f"{path}: size {size} is smaller than {previous.path}'s "
                f"{previous.checkpoint.size}; a log never shrinks",
            )
        other = by_size.setdefault(size, seen)
        if other.checkpoint.root_hash != seen.checkpoint.root_hash:
            findings.add(
                size - 1 if size else None,
                "checkpoint_fork",
                f"{path} and {other.path} state different trees of size {size}",
            )
        previous = seen
    if not bundle.checkpoints:
        findings.add(
            None,
            "missing_checkpoint_history",
            "checkpoints/: the bundle lists no checkpoint; it must list every checkpoint the "
            "log published, so that its history can be held to them",
        )
    last = listed[-1] if listed else None
    if bundle.checkpoint is None:
        findings.add(None, "missing_checkpoint", "checkpoint: the bundle has none")
        return CheckpointHistory(policy, tuple(listed), last)
    newest = _open_checkpoint("checkpoint", bundle.checkpoint, policy, findings)
    if newest is not None:
        _check_top(newest, last, by_size.get(newest.checkpoint.size), findings)
    # Without a readable top checkpoint, audit the tree against what the log did sign.
    return CheckpointHistory(policy, tuple(listed), newest if newest is not None else last)


def _check_top(
    top: SeenCheckpoint,
    last: SeenCheckpoint | None,
    same_size: SeenCheckpoint | None,
    findings: FindingLog,
) -> None:
    """The top ``checkpoint`` is the newest listed one, and agrees with any of its size."""
    if last is None:
        return
    if last.checkpoint != top.checkpoint:
        findings.add(
            None,
            "checkpoint_latest",
            f"checkpoint: differs from the newest listed checkpoint {last.path}",
        )
    if same_size is not None and same_size.checkpoint.root_hash != top.checkpoint.root_hash:
        findings.add(
            top.checkpoint.size - 1,
            "checkpoint_fork",
            f"checkpoint and {same_size.path} state different trees of size {top.checkpoint.size}",
        )
