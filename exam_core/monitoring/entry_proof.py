"""One mirrored entry as evidence: decoded, and proved to be in the centre's signed tree.

A warning names entries of a centre's log by index.  Whoever looks at one should not have to
trust the dashboard's word that it is the centre's entry: ``prove_entry`` takes the entry the
mirror holds, builds its RFC 9162 inclusion proof from the mirror's verified tiles, and checks
it, with the centre's signature on the mirror's newest verified checkpoint, here and now:

1. the checkpoint held verifies with the centre's log key (``verify_checkpoint``);
2. the entry's leaf hash and the proof lead to that checkpoint's root (``verify_inclusion``).

The result says which step failed, or that both held, with the leaf hash, the proof and the
checkpoint, so anybody can redo it (docs/monitoring.md shows how).  The centre's own
``/proof/inclusion`` can be asked the same question; this proof needs no answer from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exam_core.errors import CheckpointError, EntryError, KeyFormatError, NoteError, ProofError
from exam_core.log.checkpoint import verify_checkpoint
from exam_core.log.entry import parse_entry
from exam_core.log.merkle import inclusion_proof, leaf_hash, verify_inclusion
from exam_core.log.note import ed25519_verifier_from_vkey
from exam_core.log.tiles import TilePath, hash_source_from_tiles
from exam_core.monitoring.mirror_store import MirrorStore

__all__ = ["EntryProof", "prove_entry"]


@dataclass(frozen=True)
class EntryProof:
    """A mirrored entry, decoded, and whether it is proved in the centre's checkpoint.

    ``event`` is None when the entry is not held or does not decode (``problem`` says which);
    ``verified`` is True only when the checkpoint's signature and the inclusion proof held.
    """

    origin: str
    index: int
    event: Mapping[str, Any] | None
    leaf_hash: str | None
    checkpoint: str | None
    tree_size: int | None
    proof: tuple[str, ...]
    verified: bool
    problem: str | None


def _refused(origin: str, index: int, problem: str, **known: Any) -> EntryProof:
    values: dict[str, Any] = {
        "event": None,
        "leaf_hash": None,
        "checkpoint": None,
        "tree_size": None,
        "proof": (),
    }
    values.update(known)
    return EntryProof(origin=origin, index=index, verified=False, problem=problem, **values)


def prove_entry(store: MirrorStore, origin: str, log_vkey: str, index: int) -> EntryProof:
    """Entry ``index`` of ``origin`` as the mirror holds it, proved as the module says.

    Raises:
        StoreError: the database cannot be read.
    """
    head = store.head(origin)
    if head is None or head.checkpoint is None:
        return _refused(origin, index, "the mirror holds no verified checkpoint of this log")
    if not 0 <= index < head.entries_size:
        return _refused(
            origin, index, f"the mirror holds entries 0..{head.entries_size - 1}, not {index}"
        )
    held = store.entries(origin, index, index + 1)
    if not held:
        return _refused(origin, index, f"the mirror does not hold entry {index}")
    data = held[0]
    leaf = leaf_hash(data)
    known: dict[str, Any] = {
        "leaf_hash": leaf.hex(),
        "checkpoint": head.checkpoint.decode(errors="replace"),
        "tree_size": head.tree_size,
    }
    try:
        known["event"] = dict(parse_entry(data).event)
    except EntryError as e:
        known["event"] = None
        known["problem_event"] = str(e)
    decode_problem = known.pop("problem_event", None)
    try:
        checkpoint = verify_checkpoint(head.checkpoint, ed25519_verifier_from_vkey(log_vkey))
    except (CheckpointError, NoteError, KeyFormatError) as e:
        return _refused(origin, index, f"the checkpoint does not verify: {e}", **known)

    def read_tile(tile: TilePath) -> bytes:
        data = store.tile(origin, tile.level, tile.n)
        if data is None:
            raise CheckpointError(f"the mirror lacks tile {tile.path}")
        return data[: tile.length * 32]

    try:
        proof = inclusion_proof(
            hash_source_from_tiles(read_tile, checkpoint.size), index, checkpoint.size
        )
        known["proof"] = tuple(p.hex() for p in proof)
        verify_inclusion(leaf, index, checkpoint.size, proof, checkpoint.root_hash)
    except (CheckpointError, ProofError) as e:
        return _refused(origin, index, f"the inclusion proof does not hold: {e}", **known)
    return EntryProof(
        origin=origin,
        index=index,
        verified=True,
        problem=decode_problem,
        **known,
    )
