"""A "centre" that answers 200 with what no centre sends — a web page, JSON of another shape, a
bundle answer for other entries — served over real HTTP: the client says the centre did not
answer usefully (``UnavailableError``), the gateway's command ends in one line, and a remote
log's events fail instead of waiting forever on a sender thread that died."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from api.cli.main import main
from api.client import CentreClient, RemoteLog, UnavailableError
from api.client.retry import RetryPolicy
from api.gateway import Gateway
from devices.device_spec import DeviceSpec
from devices.gate import RoomRequirements
from devices.gateway_config import GatewayConfig
from exam_core.log.note import Ed25519Signer
from tests.api.client.hostile_centre import HostileCentre

ORIGIN = "exam.example/c/5"
ONCE = RetryPolicy(attempts=1)


@pytest.fixture(scope="module")
def served() -> Iterator[HostileCentre]:
    c = HostileCentre()
    yield c
    c.close()


@pytest.fixture
def centre(served: HostileCentre) -> HostileCentre:
    served.answers.clear()
    served.statuses.clear()
    served.answer("/health", {"status": "ok", "origin": ORIGIN, "size": 1})
    served.answer("/seq", {"next_seq": 1})
    return served


NOT_AN_OBJECT = [b"<html>a captive portal</html>", b"[1, 2]", b"", b"\xff\xfe", b"null"]


@pytest.mark.parametrize("health", [*NOT_AN_OBJECT, {}, {"origin": 5}, {"origin": None}])
def test_a_health_answer_that_is_no_centre_s_is_unavailable(
    centre: HostileCentre, health: object
) -> None:
    centre.answer("/health", health)
    with CentreClient(centre.url, retry=ONCE) as client, pytest.raises(UnavailableError):
        client.origin()


@pytest.mark.parametrize(
    "answer",
    [
        *NOT_AN_OBJECT,
        {"index": "7", "duplicate": False},
        {"index": 7, "duplicate": "no"},
        {"index": True, "duplicate": False},
        {"index": 7, "duplicate": False, "receipt": 5},
        {"duplicate": False},
    ],
)
def test_an_entry_answer_of_another_shape_is_unavailable(
    centre: HostileCentre, answer: object
) -> None:
    centre.answer("/entries", answer)
    with CentreClient(centre.url, retry=ONCE) as client, pytest.raises(UnavailableError):
        client.append(b"an entry")


@pytest.mark.parametrize(
    "answer",
    [
        *NOT_AN_OBJECT,
        {"results": 5},
        {"results": []},
        {"results": [{"index": 1, "duplicate": False}] * 3},
        {"results": [{"index": 1, "duplicate": False}, 5]},
        {"results": [{"index": 1, "duplicate": False}, {"problem": "refused"}]},
        {"results": [{"index": 1, "duplicate": False}, {"problem": {"status": "x"}}]},
    ],
)
def test_a_bundle_answer_that_is_not_one_answer_per_entry_is_unavailable(
    centre: HostileCentre, answer: object
) -> None:
    # Fewer answers than entries left the remote log's sender re-sending the bundle forever;
    # more, an IndexError that ended the sender thread.
    centre.answer("/entries/bundle", answer)
    with CentreClient(centre.url, retry=ONCE) as client, pytest.raises(UnavailableError):
        client.append_bundle([b"first", b"second"])


@pytest.mark.parametrize("answer", [b"[]", b'{"index": [], "duplicate": false}'])
def test_a_remote_log_s_event_fails_rather_than_waiting_forever(
    centre: HostileCentre, answer: bytes
) -> None:
    # A TypeError or AttributeError from the answer ended the sender thread: the event's
    # future never resolved, and a gateway waiting for it at its end never ended.
    centre.answer("/entries", answer)
    signer = Ed25519Signer.generate(f"{ORIGIN}/gateway/g1")
    with CentreClient(centre.url, retry=ONCE) as client:
        log = RemoteLog(client, signer, origin=ORIGIN, retry=ONCE)
        future = log.submit("device.state", {"device": "r/j"})
        with pytest.raises(UnavailableError):
            future.result(timeout=10)
        log.close()


def test_the_gateway_pointed_at_no_centre_is_a_one_line_error(
    centre: HostileCentre, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    centre.answer("/health", b"<html>a captive portal</html>")
    config = tmp_path / "gateway.json"
    config.write_text(
        json.dumps(
            {
                "key": "gateway/g1",
                "devices": [{"name": "r/j", "kind": "jammer", "url": "socket://127.0.0.1:9"}],
            }
        )
    )
    argv = ["gateway", "--centre-url", centre.url, "--key", str(tmp_path / "none.pem")]
    assert main([*argv, "--config", str(config), "--cycles", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "GET /health: the answer is not JSON" in err


def test_answers_of_the_right_shape_still_read(centre: HostileCentre) -> None:
    ok: Mapping[str, object] = {"index": 7, "duplicate": True, "receipt": "r"}
    centre.answer("/entries", dict(ok))
    centre.answer("/entries/bundle", {"results": [dict(ok), {"problem": {"status": 409}}]})
    with CentreClient(centre.url, retry=ONCE) as client:
        assert client.origin() == ORIGIN
        assert client.next_seq("a") == 1
        appended = client.append(b"an entry")
        assert (appended.index, appended.duplicate, appended.receipt) == (7, True, b"r")
        first, second = client.append_bundle([b"first", b"second"])
        assert not isinstance(first, Exception)
        assert first.index == 7
        assert isinstance(second, Exception)


def test_a_gateway_stopping_while_the_centre_answers_503_ends(centre: HostileCentre) -> None:
    # The remote log retries an entry without end while the centre is down, and the gateway's
    # stop waited for every queued entry: examctl gateway --duration-s 1 never ended.
    centre.statuses["/entries"] = 503
    centre.statuses["/entries/bundle"] = 503
    signer = Ed25519Signer.generate(f"{ORIGIN}/gateway/g1")
    config = GatewayConfig(
        key="gateway/g1",
        devices=(DeviceSpec("r/j", "jammer", "socket://127.0.0.1:9"),),
        rooms=(RoomRequirements("r", jammers={"r/j": frozenset({1})}),),
    )
    with CentreClient(centre.url) as client:
        log = RemoteLog(client, signer, origin=ORIGIN)
        gateway = Gateway(log, config, finish_wait_s=0.2)
        gateway.cycle()  # a gate decision to sign: refused, no device read
        stopping = threading.Thread(target=gateway.finish)
        stopping.start()
        stopping.join(10)
        assert not stopping.is_alive()
        log.close(timeout=0.1)
    assert gateway.unsent >= 1
    assert gateway.appended == 0
