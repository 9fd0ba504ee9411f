"""Steps 3 to 6 of the audit (docs/audit.md): every entry, once, in log order.

What an entry means depends on what came before it (which key was registered, the actor's
previous ``seq``, the manifest an allocation was drawn from), so this is the one part of the
audit that must run in order.  Each entry that parses is put to ``KeyRegistry`` — the very
rules ingest applies (step 3) — with the administrator keys the policy pins; an admitted entry
is recomputed by the replayers of its type (steps 4 and 5, and the device gating of step 6) and
its blob references are checked (step 6).  Signatures may have been verified ahead, in other
processes (``exam_core.audit.signatures``): the registry then only confirms that the key that
verified an entry is the one registered for its actor at that point.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from exam_core.audit.blob_check import BlobCheck
from exam_core.audit.checkpoint_history import CheckpointHistory, SeenCheckpoint
from exam_core.audit.history import AdmittedHistory, Concluding, Replayer
from exam_core.audit.log_entries import LogEntries
from exam_core.audit.report import FindingLog
from exam_core.audit.signatures import Answer, Proof
from exam_core.audit.timing import CheckpointEvidence, SigningTimes
from exam_core.errors import EntryError
from exam_core.log.entry import Entry, parse_entry
from exam_core.log.registry import KeyRegistry
from exam_core.log.tiles import TILE_WIDTH

__all__ = ["PassState", "admit_in_order", "check_entries"]


@dataclass
class PassState:
    """Where the ordered pass stands after ``size`` entries: what a saved audit resumes from
    (``exam_core.audit.incremental``), and what ``check_entries`` hands back."""

    size: int
    registry: KeyRegistry
    kept: Mapping[str, Sequence[tuple[int, Entry]]] = field(default_factory=dict)
    """The admitted entries the replayers read, by type (``AdmittedHistory.kept``)."""
    times: SigningTimes = field(default_factory=SigningTimes)
    refused: dict[str, int] = field(default_factory=dict)
    """Key name → index of its refused registration."""
    stopped: int | None = None
    """The entry that did not parse, after which replayers no longer run; None if none."""
    judged: int = 0
    """How many findings the log listed before the replayers concluded: those after are
    judged at the log's end, which moves as it grows, so a saved state keeps none of them."""


def _registry(history: CheckpointHistory, findings: FindingLog) -> KeyRegistry | None:
    """The registry the entries are checked with; None, with a finding, when no log is named."""
    origin = history.origin
    if origin is None:
        findings.add(None, "no_origin", "no policy or checkpoint names the log")
        return None
    pinned = history.policy.admins if history.policy is not None else None
    if pinned is not None and not pinned:
        findings.add(
            None,
            "policy_no_admins",
            "policy: pins no administrator key, so the keys the log registers at its start "
            "are taken on trust",
        )
        pinned = None
    return KeyRegistry(origin, pinned_admins=pinned)


def check_entries(
    entries: Sequence[bytes],
    history: CheckpointHistory,
    replayers: Sequence[Replayer],
    *,
    blobs: BlobCheck,
    verified: Iterator[Answer],
    findings: FindingLog,
    outside: Sequence[SeenCheckpoint] = (),
    resume: PassState | None = None,
) -> PassState | None:
    """Check every entry in log order; ``verified`` yields, per entry, the key that verified
    its signature ahead of this pass, or what was proven of it ahead (``Proof``: the registry
    then only applies the rules that depend on the entries before it), or None for the
    registry to verify it here.

    The replayers may consult the witnessed checkpoints — the bundle's and those seen
    ``outside`` it that it holds — and the beacon keys the policy pins.  With ``resume``,
    ``entries`` are those after ``resume.size``, checked as if the pass had just read the
    first ``resume.size``.  Returns where the pass stands at the end (None: no log named).
    """
    registry = _registry(history, findings)
    if registry is None:
        return None
    if resume is not None:
        registry = resume.registry
    by_type: dict[str, list[Replayer]] = defaultdict(list)
    for replayer in replayers:
        for event_type in replayer.event_types:
            by_type[event_type].append(replayer)
    admitted = AdmittedHistory(
        blobs.good,
        {t for r in replayers for t in r.reads},
        checkpoints=[
            CheckpointEvidence(s.checkpoint.size, s.cosigned_at)
            for s in (*history.seen, *outside)
            if s.cosigned_at
        ],
        beacon_keys=history.policy.beacon_verifiers if history.policy is not None else (),
    )
    first = 0 if resume is None else resume.size
    if resume is not None:
        admitted.resume(resume.kept, resume.times)
    stopped = None if resume is None else resume.stopped
    history_whole = stopped is None
    refused: dict[str, int] = {} if resume is None else dict(resume.refused)
    read = set(by_type) | set(admitted.reads)
    """Types the pass needs parsed: a proof of another type is enough to admit the entry."""
    # The entries are taken a bundle's width at a time, and a block is read only when one of
    # its entries is needed: an entry admitted by its proof alone needs none of its bytes.
    total = len(entries)
    for start in range(0, total, TILE_WIDTH):
        block: Sequence[bytes] | None = None
        for index in range(first + start, first + min(start + TILE_WIDTH, total)):
            answer = next(verified, None)  # None: the registry verifies it
            if isinstance(answer, Proof):
                proof = answer
                if proof.type not in read and registry.admit_proven(
                    proof.actor, proof.public_key, proof.type, proof.seq
                ):
                    # all of steps 3 to 6 for it: no replayer reads it, it references no blob
                    admitted.admit_unread(index, proof.actor, proof.ts)
                    continue
                verified_key: bytes | None = proof.public_key  # refused, or read: in full
            else:
                verified_key = answer
            if block is None:
                block = entries[start : start + TILE_WIDTH]
            data = block[index - first - start]
            try:
                entry = parse_entry(data)
            except EntryError as e:
                findings.add(index, e.code, e.message)
                if history_whole:
                    history_whole, stopped = False, index
                    findings.add(
                        index,
                        "replay_stopped",
                        f"entries after {index} are not replayed: entry {index} does not parse",
                    )
                continue
            # (3) the ingest rules, in log order
            if not admit_in_order(
                registry, index, entry, verified_key, findings=findings, refused=refused
            ):
                continue
            admitted.admit(index, entry)
            # (4), (5) and device gating: the domain's own recomputation
            if history_whole:
                for replayer in by_type.get(entry.type, ()):
                    _replay(replayer, index, entry, admitted, findings)
            # (6) the evidence it references (canonical JSON: a reference has a key "…sha256")
            blobs.check_references(index, entry)
        if block is None and isinstance(entries, LogEntries):
            # none of its entries read: its bundle is still held to its first read, so that a
            # bundle changed during the audit is found as when the pass read every entry
            entries.hold(start // TILE_WIDTH)
    size = first + len(entries)
    judged = len(findings.listed)
    if history_whole:  # what never came is judged only on a log replayed to its end
        for replayer in replayers:
            if isinstance(replayer, Concluding):
                _conclude(replayer, size, admitted, findings)
    blobs.check_unreferenced()
    return PassState(size, registry, admitted.kept(), admitted.times, refused, stopped, judged)


def admit_in_order(
    registry: KeyRegistry,
    index: int,
    entry: Entry,
    verified_key: bytes | None,
    *,
    findings: FindingLog,
    refused: dict[str, int],
) -> bool:
    """Step 3 for one entry: put it to ``registry`` and apply it; False, with a finding, if
    refused.

    The one place the audit and the monitoring centre's mirror (which checks a log as it grows,
    ``exam_core.monitoring.mirror``) hold an entry to the ingest rules.  A ``bad_seq`` entry
    that is not a key event is still counted, so that one gap gives one finding; ``refused``
    remembers refused key registrations (key name → index) to explain later ``unknown_key``.
    """
    try:
        registry.check(entry, None, verified_key)
    except EntryError as e:
        message = e.message
        if e.code == "unknown_key" and entry.actor in refused:
            message += f" (its registration, entry {refused[entry.actor]}, was refused)"
        findings.add(index, e.code, message)
        kind = entry.event.get("type")
        if e.code == "bad_seq" and not str(kind).startswith("key."):
            registry.apply(entry)  # keep counting from here: one gap, one finding
        if kind == "key.registered" and isinstance(entry.event.get("name"), str):
            refused.setdefault(str(entry.event["name"]), index)
        return False
    registry.apply(entry)
    return True


def _replay(
    replayer: Replayer,
    index: int,
    entry: Entry,
    history: AdmittedHistory,
    findings: FindingLog,
) -> None:
    try:
        findings.extend(replayer.replay(index, entry, history))
    except Exception as e:  # one failing replayer must not hide the rest
        findings.add(
            index,
            "replay_crashed",
            f"{type(replayer).__name__} failed on {entry.type}: {type(e).__name__}: {e}",
        )


def _conclude(
    replayer: Concluding, size: int, history: AdmittedHistory, findings: FindingLog
) -> None:
    try:
        findings.extend(replayer.conclude(history, size))
    except Exception as e:  # as in _replay: a failing replayer must not hide the rest
        findings.add(
            None,
            "replay_crashed",
            f"{type(replayer).__name__} failed at the end of the log: {type(e).__name__}: {e}",
        )
