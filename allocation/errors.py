"""The exception tree of ``allocation``.

AllocationError
├── VrfProofError          a VRF proof or public key that does not verify (RFC 9381)
├── ManifestError       a manifest that is malformed or inconsistent
├── InfeasibleError     a roster or policy no assignment can satisfy (names the cause)
│   └── CapBelowQStarError  a policy cap below Q*, the smallest cap any assignment meets
├── BeaconError         a beacon value that does not verify against its commitment
├── VerificationError   a recomputed allocation that differs from the published one
└── RepairError         a late change that cannot be applied (names the candidate)
"""

from __future__ import annotations


class AllocationError(Exception):
    """Base of every domain error raised by ``allocation``."""


class VrfProofError(AllocationError):
    """A VRF proof, or the public key it is checked against, is invalid."""


class ManifestError(AllocationError):
    """A manifest is malformed or inconsistent."""


class InfeasibleError(AllocationError):
    """No assignment satisfies the roster and policy."""


class CapBelowQStarError(InfeasibleError):
    """The policy cap is below Q*; ``q_star`` (units of ``scale``) is the least cap that works."""

    def __init__(self, message: str, *, q_star: int, scale: int) -> None:
        super().__init__(message)
        self.q_star = q_star
        self.scale = scale


class BeaconError(AllocationError):
    """A beacon value does not verify."""


class VerificationError(AllocationError):
    """A recomputed allocation differs from what was published."""


class RepairError(AllocationError):
    """A late change names nobody on the roster, or leaves a candidate nobody may take."""
