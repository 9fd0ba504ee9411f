"""A centre URL no request can go to is refused when the client is made, as a client error.

Each host below once escaped the client: httpx refuses one that is not IDNA with its own
``InvalidURL``, and passes on the resolver's ``UnicodeError`` for an empty label or one over 63
characters, so ``examctl gateway --centre-url http://a..b`` ended in a traceback.
"""

from __future__ import annotations

import pytest

from api.client import CentreClient, RetryPolicy, UnavailableError


@pytest.mark.parametrize(
    "url",
    ["http://a..b:1", f"http://{'a' * 64}.example:1", "http://\udcff:1", "http://ü..b:1"],
)
def test_a_host_that_is_no_name_is_refused_when_the_client_is_made(url: str) -> None:
    with pytest.raises(UnavailableError, match="is not a URL a centre can be reached at"):
        CentreClient(url, retry=RetryPolicy(attempts=1))


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/", "http://[::1]:9", "https://bücher.example"])
def test_hosts_that_are_names_or_addresses_are_taken(url: str) -> None:
    CentreClient(url).close()
