"""The client library of the centre's HTTP service (httpx), for every machine of the exam day.

Its names load on first use (PEP 562 ``__getattr__``): ``examctl`` catches ``ClientError`` for
every command, and an offline command such as ``examctl audit`` must not pay for importing
httpx and the client's modules to do so.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from api.client.centre_client import Appended, CentreClient
    from api.client.centre_log import CentreLog
    from api.client.errors import ClientError, RefusedError, UnavailableError
    from api.client.retry import FOREVER, RetryPolicy
    from api.client.signing import RemoteLog

_HOMES = {
    "Appended": "centre_client",
    "CentreClient": "centre_client",
    "CentreLog": "centre_log",
    "ClientError": "errors",
    "RefusedError": "errors",
    "UnavailableError": "errors",
    "FOREVER": "retry",
    "RetryPolicy": "retry",
    "RemoteLog": "signing",
}
"""Each public name and the module of this package that defines it."""


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "FOREVER",
    "Appended",
    "CentreClient",
    "CentreLog",
    "ClientError",
    "RefusedError",
    "RemoteLog",
    "RetryPolicy",
    "UnavailableError",
]
