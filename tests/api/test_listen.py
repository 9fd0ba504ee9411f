"""``api.listen``: the socket a service binds and the URL it prints for it."""

from __future__ import annotations

import socket

import pytest

from api.listen import bind, url_of
from exam_core.errors import StoreError


def test_port_0_is_named_by_the_port_the_os_bound() -> None:
    with bind("127.0.0.1", 0) as sock:
        port = sock.getsockname()[1]
        assert port != 0
        assert url_of(sock) == f"http://127.0.0.1:{port}"
        assert url_of(sock, "https") == f"https://127.0.0.1:{port}"


def test_an_ipv6_host_is_shown_in_brackets() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        sock = bind("::1", 0)
    except StoreError:
        pytest.skip("no IPv6 loopback on this machine")
    with sock:
        assert url_of(sock) == f"http://[::1]:{sock.getsockname()[1]}"


def test_a_taken_port_is_a_clear_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(StoreError, match=f"cannot listen on 127.0.0.1:{port}"):
            bind("127.0.0.1", port)


@pytest.mark.parametrize("host", ["a" * 64, "a..b", ".", "a\udcffb"])
def test_a_host_that_is_no_host_name_is_a_clear_error(host: str) -> None:
    # Each fails in the IDNA encoding getaddrinfo does first (a 64-character label, an empty
    # label, an argv byte that is not UTF-8), with a UnicodeError rather than an OSError.
    with pytest.raises(StoreError, match=r"cannot listen on .*: not a host name"):
        bind(host, 0)
