"""Public randomness for the draw: pluggable beacons, each verifiable against a commitment.

The manifest names a beacon *commitment* and a *target round* that does not exist yet when the
manifest is committed (DESIGN §4.3).  A commitment kind says when each round becomes public and
how a revealed value is checked.  Kinds:

- ``hashchain``: the monitoring centre publishes, first, a signed note committing to the day's
  hash chain (its anchor v_0, round timing, length); round r reveals v_r, and anyone checks
  ``H^r(v_r) = v_0`` with ``H(x) = SHA-256("exam-hashchain/v1\\0" ‖ x)``.  Values are revealed
  backwards along the chain, so none can be computed from the ones already public.
- ``dev``: a local development beacon whose values come from a seed written in the commitment
  itself, so anyone (the operator first) knows them in advance.  It exists for tests and demos;
  the audit reports it as insecure.

A drand beacon fits the same interface: the commitment is the chain info, the reading's
``evidence`` the BLS signature of the round.

Round r of both kinds becomes public at ``genesis_ms + r · period_ms``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from allocation.errors import BeaconError
from exam_core.errors import CanonicalError, NoteError
from exam_core.log.canonical import MAX_SAFE_INTEGER, canonical_json, parse_canonical
from exam_core.log.note import NoteSigner, NoteVerifier, open_note, sign_note

CHAIN_DOMAIN = b"exam-hashchain/v1\x00"
DEV_DOMAIN = b"exam-dev-beacon/v1\x00"
MAX_CHAIN_ROUNDS = 1_000_000
"""A day of one-second rounds fits; verifying round r costs r hashes."""


@dataclass(frozen=True)
class BeaconReading:
    """The public value of one round, with whatever evidence its kind needs."""

    round: int
    value: bytes
    evidence: bytes = b""


class BeaconCommitment(Protocol):
    """What the manifest commits to: the timing of rounds and how to check their values."""

    @property
    def kind(self) -> str: ...

    @property
    def insecure(self) -> bool:
        """True when someone can know the values before their round (development only)."""
        ...

    def round_time_ms(self, round_number: int) -> int: ...

    def verify(self, reading: BeaconReading) -> None:
        """Raise ``BeaconError`` unless ``reading`` is the value of its round."""
        ...


class BeaconSource(Protocol):
    """The party that publishes the values; a draw asks it for the target round."""

    @property
    def kind(self) -> str: ...

    @property
    def commitment_text(self) -> str: ...

    def reveal(self, round_number: int) -> BeaconReading:
        """The value of a round; ``BeaconError`` if that round is not public yet."""
        ...


def _chain_step(value: bytes) -> bytes:
    return hashlib.sha256(CHAIN_DOMAIN + value).digest()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _timing(body: dict[str, object], what: str) -> tuple[int, int]:
    genesis, period = body.get("genesis_ms"), body.get("period_ms")
    if not isinstance(genesis, int) or isinstance(genesis, bool) or genesis < 0:
        raise BeaconError(f"{what}: genesis_ms must be a non-negative integer")
    if not isinstance(period, int) or isinstance(period, bool) or not 1 <= period <= 86_400_000:
        raise BeaconError(f"{what}: period_ms must be an integer in [1, 86400000]")
    return genesis, period


def _check_round(round_number: int, last: int) -> None:
    if not 1 <= round_number <= last:
        raise BeaconError(f"round {round_number} is outside [1, {last}]")


@dataclass(frozen=True)
class HashChainCommitment:
    name: str
    anchor: bytes
    genesis_ms: int
    period_ms: int
    rounds: int
    kind: str = "hashchain"
    insecure: bool = False

    def round_time_ms(self, round_number: int) -> int:
        return self.genesis_ms + round_number * self.period_ms

    def verify(self, reading: BeaconReading) -> None:
        _check_round(reading.round, self.rounds)
        if len(reading.value) != 32 or reading.evidence:
            raise BeaconError("a hash-chain value is 32 bytes and carries no evidence")
        value = reading.value
        for _ in range(reading.round):
            value = _chain_step(value)
        if value != self.anchor:
            raise BeaconError(
                f"value of round {reading.round} does not hash to the chain's committed anchor"
            )


@dataclass(frozen=True)
class DevCommitment:
    seed: bytes
    genesis_ms: int
    period_ms: int
    kind: str = "dev"
    insecure: bool = True

    def round_time_ms(self, round_number: int) -> int:
        return self.genesis_ms + round_number * self.period_ms

    def value(self, round_number: int) -> bytes:
        return hashlib.sha256(DEV_DOMAIN + self.seed + round_number.to_bytes(8, "big")).digest()

    def verify(self, reading: BeaconReading) -> None:
        _check_round(reading.round, MAX_SAFE_INTEGER)
        if reading.evidence or reading.value != self.value(reading.round):
            raise BeaconError(f"value of round {reading.round} is not the dev beacon's")


def _parse_body(text: bytes, kind: str) -> dict[str, object]:
    try:
        body = parse_canonical(text)
    except CanonicalError as e:
        raise BeaconError(f"{kind} commitment is not canonical JSON: {e}") from e
    if not isinstance(body, dict) or body.get("kind") != kind:
        raise BeaconError(f"{kind} commitment must be an object with kind {kind!r}")
    return body


def _hex_field(body: dict[str, object], name: str, size: int, what: str) -> bytes:
    raw = body.get(name)
    try:
        value = bytes.fromhex(raw) if isinstance(raw, str) else b""
    except ValueError:
        value = b""
    if len(value) != size or value.hex() != raw:
        raise BeaconError(f"{what}: {name} must be {size} bytes of lowercase hex")
    return value


def _utf8(text: str, kind: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise BeaconError(f"{kind} commitment holds a lone surrogate, not Unicode text") from e


def parse_commitment(
    kind: str, text: str, trusted: Sequence[NoteVerifier] = ()
) -> BeaconCommitment:
    """Parse a manifest's beacon commitment; a hash chain must be signed by a trusted key.

    Raises:
        BeaconError: the commitment is malformed, of an unknown kind, or (a hash chain) not
            signed by a trusted key; no other exception leaves this function.
    """
    if kind == "dev":
        body = _parse_body(_utf8(text, "dev"), "dev")
        if set(body) != {"kind", "seed", "genesis_ms", "period_ms"}:
            raise BeaconError("dev commitment has exactly kind, seed, genesis_ms, period_ms")
        genesis, period = _timing(body, "dev commitment")
        return DevCommitment(_hex_field(body, "seed", 32, "dev commitment"), genesis, period)
    if kind == "hashchain":
        if not trusted:
            raise BeaconError("hash-chain commitment: no trusted beacon key is pinned")
        try:
            note, signers = open_note(_utf8(text, "hashchain"), trusted)
        except NoteError as e:
            raise BeaconError(f"hash-chain commitment is not signed by a trusted key: {e}") from e
        body = _parse_body(note.text[:-1], "hashchain")
        expected = {"kind", "name", "anchor", "genesis_ms", "period_ms", "rounds"}
        if set(body) != expected:
            raise BeaconError(f"hashchain commitment has exactly {sorted(expected)}")
        genesis, period = _timing(body, "hashchain commitment")
        rounds, name = body["rounds"], body["name"]
        if not isinstance(rounds, int) or not 1 <= rounds <= MAX_CHAIN_ROUNDS:
            raise BeaconError(f"hashchain commitment: rounds must be in [1, {MAX_CHAIN_ROUNDS}]")
        if name not in signers:
            raise BeaconError("hashchain commitment is not signed by the beacon it names")
        anchor = _hex_field(body, "anchor", 32, "hashchain commitment")
        return HashChainCommitment(str(name), anchor, genesis, period, rounds)
    raise BeaconError(f"unknown beacon kind {kind!r}")


def first_round_after(commitment: BeaconCommitment, time_ms: int) -> int:
    """The first round that becomes public strictly after ``time_ms``."""
    period = commitment.round_time_ms(2) - commitment.round_time_ms(1)
    return max(1, (time_ms - commitment.round_time_ms(0)) // period + 1)


class HashChainBeacon:
    """The monitoring centre's beacon: a hash chain from a secret, revealed backwards."""

    kind = "hashchain"

    def __init__(
        self,
        signer: NoteSigner,
        secret: bytes,
        *,
        genesis_ms: int,
        period_ms: int,
        rounds: int,
        clock: Callable[[], int] = _now_ms,
    ) -> None:
        if not 1 <= rounds <= MAX_CHAIN_ROUNDS:
            raise ValueError(f"rounds must be in [1, {MAX_CHAIN_ROUNDS}]")
        chain = [secret]
        for _ in range(rounds):
            chain.append(_chain_step(chain[-1]))
        chain.reverse()  # chain[r] = v_r; chain[0] is the anchor
        self._chain = chain
        self._clock = clock
        self.commitment = HashChainCommitment(signer.name, chain[0], genesis_ms, period_ms, rounds)
        body = {
            "kind": "hashchain",
            "name": signer.name,
            "anchor": chain[0].hex(),
            "genesis_ms": genesis_ms,
            "period_ms": period_ms,
            "rounds": rounds,
        }
        self._text = sign_note(canonical_json(body) + b"\n", [signer]).decode()

    @property
    def commitment_text(self) -> str:
        return self._text

    def reveal(self, round_number: int) -> BeaconReading:
        _check_round(round_number, self.commitment.rounds)
        if self._clock() < self.commitment.round_time_ms(round_number):
            raise BeaconError(f"round {round_number} is not public yet")
        return BeaconReading(round_number, self._chain[round_number])


class DevBeacon:
    """A development beacon: deterministic from a seed, insecure by design."""

    kind = "dev"

    def __init__(
        self, seed: bytes, *, genesis_ms: int, period_ms: int, clock: Callable[[], int] = _now_ms
    ) -> None:
        self.commitment = DevCommitment(seed, genesis_ms, period_ms)
        self._clock = clock

    @property
    def commitment_text(self) -> str:
        body = {
            "kind": "dev",
            "seed": self.commitment.seed.hex(),
            "genesis_ms": self.commitment.genesis_ms,
            "period_ms": self.commitment.period_ms,
        }
        return canonical_json(body).decode()

    def reveal(self, round_number: int) -> BeaconReading:
        _check_round(round_number, MAX_SAFE_INTEGER)
        if self._clock() < self.commitment.round_time_ms(round_number):
            raise BeaconError(f"round {round_number} is not public yet")
        return BeaconReading(round_number, self.commitment.value(round_number))
