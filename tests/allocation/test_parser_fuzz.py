"""The parsers of published allocation files raise only ``AllocationError``, whatever the bytes.

``alloc verify`` and the audit read a manifest, a proof, an assignment and a beacon commitment
written by someone else; mutated copies of valid ones (``tests.mutations``) must end in a
finding or a refusal, never in another exception.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from allocation import (
    check_publication,
    encode_assignment,
    encode_proof,
    parse_commitment,
    parse_manifest,
)
from allocation.errors import AllocationError, BeaconError, ManifestError
from allocation.publication import parse_assignment, parse_proof
from exam_core.log.canonical import canonical_json, parse_canonical
from tests.allocation.samples import BEACON_SIGNER, hash_chain_beacon, publish, small_roster
from tests.mutations import refusal_share

ROUNDS = 150

_DEV = publish(small_roster(), cap=500)
_CHAIN = publish(small_roster(), cap=500, beacon=hash_chain_beacon())
_SESSION = _DEV.manifest.roster.session
_FILES = [
    _DEV.manifest_bytes,
    encode_proof(_DEV.allocation),
    encode_assignment(_DEV.allocation, _SESSION),
]


def _commitment(kind: str) -> Callable[[bytes], object]:
    def parse(data: bytes) -> object:
        text = data.decode("utf-8", "surrogateescape")
        return parse_commitment(kind, text, [BEACON_SIGNER.verifier])

    return parse


def _publication_with(index: int) -> Callable[[bytes], object]:
    def check(data: bytes) -> object:
        files = list(_FILES)
        files[index] = data
        problems = check_publication(*files, beacon_keys=[BEACON_SIGNER.verifier])
        if any(p.severity == "error" for p in problems):
            raise AllocationError(problems[0].message)
        return problems

    return check


PARSERS: dict[str, tuple[list[bytes], Callable[[bytes], object]]] = {
    "manifest": ([_DEV.manifest_bytes, _CHAIN.manifest_bytes], parse_manifest),
    "proof": ([_FILES[1]], parse_proof),
    "assignment": ([_FILES[2]], parse_assignment),
    "dev commitment": ([_DEV.manifest.beacon.commitment.encode()], _commitment("dev")),
    "hash-chain commitment": (
        [_CHAIN.manifest.beacon.commitment.encode()],
        _commitment("hashchain"),
    ),
    "publication manifest": ([_FILES[0]], _publication_with(0)),
    "publication proof": ([_FILES[1]], _publication_with(1)),
    "publication assignment": ([_FILES[2]], _publication_with(2)),
}


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_allocation_parsers_raise_only_their_errors(name: str) -> None:
    seeds, parse = PARSERS[name]
    share = refusal_share(parse, seeds, f"allocation parser {name}", ROUNDS, AllocationError)
    # Most mutations break the bytes; a parser that refused none would not be parsing.
    assert share > 0.5


def test_manifest_with_a_list_for_an_examiner_id_in_f_is_refused() -> None:
    doc = parse_canonical(_DEV.manifest_bytes)
    doc["fractional"][0][0][0] = ["e-1"]
    with pytest.raises(ManifestError, match="known examiner id"):
        parse_manifest(canonical_json(doc))


def test_manifest_with_a_5000_digit_integer_is_refused() -> None:
    data = _DEV.manifest_bytes.replace(b'"scale":1000', b'"scale":' + b"1" * 5_000)
    assert data != _DEV.manifest_bytes
    with pytest.raises(ManifestError, match="outside"):
        parse_manifest(data)


def test_commitment_that_is_not_unicode_text_is_refused() -> None:
    text = _DEV.manifest.beacon.commitment[:-2] + "\udcff" + "}"
    with pytest.raises(BeaconError, match="surrogate"):
        parse_commitment("dev", text)
