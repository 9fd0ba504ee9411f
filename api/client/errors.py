"""The client library's exceptions.

ClientError
├── RefusedError       the centre answered with a problem (4xx): the request will not
│                      succeed as it is; ``problem`` holds the RFC 9457 document
└── UnavailableError   the centre could not be reached or kept failing (network, 5xx)
                       after every retry
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ClientError(Exception):
    """Base of the errors of ``api.client``."""


class RefusedError(ClientError):
    """The centre refused the request with a problem document (a 4xx)."""

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        self.status = status
        self.problem = dict(problem)
        self.type = str(problem.get("type", ""))
        self.code = problem.get("code")
        super().__init__(f"{status} {self.type}: {problem.get('detail', '')}")

    @property
    def name(self) -> str:
        """The problem type's last part, e.g. ``entry-bad-seq`` or ``step-out-of-order``."""
        return self.type.rpartition(":")[2].rpartition("/")[2]


class UnavailableError(ClientError):
    """The centre did not answer usefully, even after retrying."""
