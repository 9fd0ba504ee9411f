"""The public surface of the HTTP service and of the client library is what ``__all__`` names."""

from __future__ import annotations

import api.client
import api.http


def test_the_service_exports_the_app_factory_and_limits() -> None:
    assert api.http.__all__ == ["Limits", "create_app"]
    for name in api.http.__all__:
        assert getattr(api.http, name) is not None


def test_the_client_exports_its_classes_and_errors() -> None:
    assert api.client.__all__ == [
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
    for name in api.client.__all__:
        assert getattr(api.client, name) is not None
    assert issubclass(api.client.RefusedError, api.client.ClientError)
    assert issubclass(api.client.UnavailableError, api.client.ClientError)
