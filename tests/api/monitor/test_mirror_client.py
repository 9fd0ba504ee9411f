"""The mirror's httpx client reads tiles straight from its transport only when nothing in the
environment sends requests elsewhere (a proxy)."""

from __future__ import annotations

import pytest

from api.monitor.mirror_client import HttpLogSource, MirrorClient, mirror_client
from exam_core.monitoring.mirror_source import SourceUnavailableError

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


def test_without_a_proxy_tiles_go_straight_to_the_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (*PROXY_VARIABLES, "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with mirror_client(5) as client:
        assert isinstance(client, MirrorClient)
        assert client.direct
        assert not client.follow_redirects


def test_a_proxy_in_the_environment_sends_everything_through_the_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with mirror_client(5) as client:
        assert not client.direct


@pytest.mark.parametrize("url", ["http://a..b", f"http://{'a' * 64}.example", "http://ü..b"])
def test_a_centre_url_whose_host_is_no_name_is_an_unavailable_source(url: str) -> None:
    # httpx raises InvalidURL (no HTTPError) for the last and passes on the resolver's
    # UnicodeError for the others: neither may escape the mirror's round.
    with (
        MirrorClient() as client,
        pytest.raises(SourceUnavailableError, match=r"InvalidURL|UnicodeError"),
    ):
        HttpLogSource(client, url).checkpoint()
