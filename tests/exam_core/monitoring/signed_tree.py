"""A log in memory for witness tests: leaves, signed checkpoints and consistency proofs.

It signs with a real Ed25519 key and proves with the project's RFC 6962 code, so a witness
under test sees exactly what a C2SP log would send it; ``fork`` makes the other history a
misbehaving log would show.
"""

from __future__ import annotations

import hashlib

from exam_core.log.checkpoint import Checkpoint, sign_checkpoint
from exam_core.log.merkle import (
    consistency_proof,
    hash_source_from_leaf_hashes,
    leaf_hash,
    root_from_leaf_hashes,
)
from exam_core.log.note import Ed25519Signer
from exam_core.log.tlog_witness import add_checkpoint_body

ORIGIN = "exam.example/c/witnessed"


class SignedTree:
    """A tree of ``leaves`` signed by ``signer`` (key name = origin)."""

    def __init__(self, signer: Ed25519Signer, leaves: list[bytes] | None = None) -> None:
        self.signer = signer
        self.leaves = list(leaves or [])

    @classmethod
    def new(cls, origin: str = ORIGIN, seed: int = 1) -> SignedTree:
        return cls(Ed25519Signer.from_seed(origin, hashlib.sha256(b"%d" % seed).digest()))

    @property
    def origin(self) -> str:
        return self.signer.name

    @property
    def vkey(self) -> str:
        return self.signer.vkey

    def grow(self, count: int, label: bytes = b"entry") -> SignedTree:
        start = len(self.leaves)
        self.leaves += [label + b" %d" % i for i in range(start, start + count)]
        return self

    def fork(self, index: int) -> SignedTree:
        """The same log key, another history: leaf ``index`` rewritten."""
        leaves = list(self.leaves)
        leaves[index] = b"rewritten " + leaves[index]
        return SignedTree(self.signer, leaves)

    def hashes(self, size: int) -> list[bytes]:
        return [leaf_hash(x) for x in self.leaves[:size]]

    def root(self, size: int) -> bytes:
        return root_from_leaf_hashes(self.hashes(size))

    def checkpoint(self, size: int | None = None) -> bytes:
        size = len(self.leaves) if size is None else size
        return sign_checkpoint(Checkpoint(self.origin, size, self.root(size)), [self.signer])

    def proof(self, old: int, new: int | None = None) -> list[bytes]:
        new = len(self.leaves) if new is None else new
        if old in (0, new):
            return []
        return consistency_proof(hash_source_from_leaf_hashes(self.hashes(new)), old, new)

    def request(self, old: int, new: int | None = None) -> bytes:
        """The add-checkpoint body from ``old`` to ``new`` (default: every leaf)."""
        new = len(self.leaves) if new is None else new
        return add_checkpoint_body(old, self.proof(old, new), self.checkpoint(new))
