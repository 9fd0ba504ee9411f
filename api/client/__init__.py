"""The client library of the centre's HTTP service (httpx), for every machine of the exam day."""

from api.client.centre_client import Appended, CentreClient
from api.client.centre_log import CentreLog
from api.client.errors import ClientError, RefusedError, UnavailableError
from api.client.retry import FOREVER, RetryPolicy
from api.client.signing import RemoteLog

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
