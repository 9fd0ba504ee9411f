"""End to end over a real socket: ``examctl serve`` under uvicorn on loopback, and the client.

A centre is served as its operators would serve it; the client library talks to it over HTTP
and HTTPS; the server is stopped with SIGTERM (it finishes and closes the log) and, in the
middle of a stream of entries, with SIGKILL — and the client's retries, once it is restarted,
leave every entry in the log exactly once.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from api.cli.main import main
from api.client import CentreClient, RefusedError, RemoteLog, RetryPolicy, UnavailableError
from exam_core.centre.centre import Centre
from exam_core.centre.tokens import TokenStore
from exam_core.log.entry import parse_entry
from exam_core.log.note import Ed25519Signer
from exam_core.log.policy import parse_policy
from exam_core.log.schemas.types import DEMO, VEHICLE
from exam_core.log.tlog_proof import verify_receipt
from tests.api.http.served import Served, free_port
from tests.conftest import ORIGIN, assert_log_sound

QUICK = RetryPolicy(attempts=None, base_s=0.02, max_s=0.3)


def make_centre(root: Path, db_url: str) -> tuple[Ed25519Signer, Ed25519Signer, str]:
    """A centre with a demo key and a vehicle key; returns them and the log vkey."""
    with Centre.create(root, ORIGIN, database_url=db_url) as centre:
        demo = centre.register_key("demo/remote", DEMO)
        car = centre.register_key("vehicle/V1", VEHICLE)
        return demo, car, centre.log_vkey


def issue(root: Path, db_url: str, role: str, actor: str) -> str:
    with Centre.open(root) as centre:
        return TokenStore(centre.store.engine).issue(role, actor)[0]


def test_a_served_centre_takes_entries_blobs_and_gives_receipts(
    tmp_path: Path, db_url: str
) -> None:
    root = tmp_path / "centre"
    demo, car, vkey = make_centre(root, db_url)
    token = issue(root, db_url, "scorer", car.name)  # uploads and reads blobs
    served = Served(root, 0, "--batch-ms", "5")
    try:
        with CentreClient(served.url, token=token, retry=QUICK) as client:
            assert client.vkey() == vkey
            assert client.whoami()["role"] == "scorer"
            log = RemoteLog(client, demo)
            indices = [log.append("demo.event", {"n": n}) for n in range(5)]
            assert indices == list(range(indices[0], indices[0] + 5))
            chunk = b"\x01\x02" * 400
            sha = client.put_blob(chunk)
            assert client.put_blob(chunk) == sha
            assert client.get_blob(sha) == chunk
            index = indices[-1]
            entry = client.entry(index)
            receipt = client.receipt(index)
            verify_receipt(receipt, entry, parse_policy(client.policy()))
            with pytest.raises(RefusedError) as refused:
                log.append("no.such.type", {})
            assert refused.value.status == 422
            assert refused.value.name == "entry-schema"
            # The refusal used up no seq: the next event goes through.
            assert log.append("demo.event", {"n": 99}) == index + 1
            log.close()
    finally:
        code, err = served.stop()
    assert code == 0, err
    assert "Traceback" not in err
    assert_log_sound(db_url, vkey)


def test_a_burst_goes_in_bundles_and_a_refused_event_fails_alone(
    tmp_path: Path, db_url: str
) -> None:
    root = tmp_path / "centre"
    demo, _car, vkey = make_centre(root, db_url)
    served = Served(root, 0, "--batch-ms", "5")
    try:
        with CentreClient(served.url, retry=QUICK) as client:
            log = RemoteLog(client, demo)
            futures = [
                log.submit("no.such.type" if n in (9, 30) else "demo.event", {"n": n})
                for n in range(100)
            ]
            outcomes = [f.exception(timeout=60) or f.result() for f in futures]
            log.close()
            refused = [n for n, o in enumerate(outcomes) if isinstance(o, RefusedError)]
            assert refused == [9, 30]
            indices = [o for o in outcomes if isinstance(o, int)]
            assert indices == list(range(indices[0], indices[0] + 98))
    finally:
        code, err = served.stop()
    assert code == 0, err
    mine = [parse_entry(e) for e in assert_log_sound(db_url, vkey)]
    mine = [e for e in mine if e.actor == demo.name]
    assert [e.seq for e in mine] == list(range(1, 99))
    assert [e.event["n"] for e in mine] == [n for n in range(100) if n not in (9, 30)]


def test_a_killed_server_loses_and_duplicates_nothing(tmp_path: Path, db_url: str) -> None:
    root = tmp_path / "centre"
    demo, _car, vkey = make_centre(root, db_url)
    port = free_port()
    served = Served(root, port, "--batch-ms", "5")
    client = CentreClient(served.url, retry=QUICK, timeout_s=5)
    log = RemoteLog(client, demo, retry=QUICK)
    futures: list[Future[int]] = [log.submit("demo.event", {"n": n}) for n in range(150)]
    enough = threading.Event()
    futures[40].add_done_callback(lambda _: enough.set())
    assert enough.wait(60)
    served.kill()
    served = Served(root, port, "--batch-ms", "5")
    try:
        indices = [f.result(timeout=120) for f in futures]
        log.close()
        assert len(set(indices)) == 150
        for n, index in enumerate(indices):
            entry = parse_entry(client.entry(index))
            assert (entry.actor, entry.seq, entry.event["n"]) == (demo.name, n + 1, n)
    finally:
        client.close()
        code, err = served.stop()
    assert code == 0, err
    entries = assert_log_sound(db_url, vkey)
    mine = [parse_entry(e) for e in entries if parse_entry(e).actor == demo.name]
    assert [e.seq for e in mine] == list(range(1, 151))


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "centre.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file


def test_with_a_certificate_it_serves_https_only(tmp_path: Path, db_url: str) -> None:
    root = tmp_path / "centre"
    demo, _car, vkey = make_centre(root, db_url)
    cert, key = self_signed(tmp_path)
    served = Served(root, 0, "--tls-cert", str(cert), "--tls-key", str(key), "--batch-ms", "5")
    try:
        assert served.url.startswith("https://")
        trust = ssl.create_default_context(cafile=str(cert))
        with CentreClient(served.url, verify=trust, retry=QUICK) as client:
            assert client.vkey() == vkey
            log = RemoteLog(client, demo)
            assert log.append("demo.event", {"n": 1}) >= 0
            log.close()
        plain = served.url.replace("https://", "http://")
        with (
            CentreClient(plain, retry=RetryPolicy(attempts=1)) as client,
            pytest.raises(UnavailableError),
        ):
            client.health()
        with (
            CentreClient(served.url, retry=RetryPolicy(attempts=1)) as client,
            pytest.raises(UnavailableError),
        ):
            client.health()  # an unknown certificate is refused by default
    finally:
        code, err = served.stop()
    assert code == 0, err


def test_serve_refuses_bad_options_with_a_clear_error(tmp_path: Path, db_url: str) -> None:
    root = tmp_path / "centre"
    make_centre(root, db_url)
    assert main(["serve", "--dir", str(root), "--tls-cert", str(tmp_path / "none.pem")]) == 2
    assert main(["serve", "--dir", str(tmp_path / "nowhere"), "--port", "0"]) == 2
