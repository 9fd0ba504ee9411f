"""The mirror feeds the warnings: entries, findings, silence and manifests, exactly once.

Centres are real uvicorn servers on loopback: a real centre (its HTTP service, its tokens, its
blobs) and logs served from memory in the C2SP layout, rewritten or serving a wrong manifest.
The warnings are read back as an operator reads them, with ``examctl monitor warnings --json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.responses import Response

from api.cli.main import main
from api.http import create_app
from api.monitor.mirror_client import http_sources
from api.monitor.server import BackgroundServer
from exam_core.centre.centre import Centre
from exam_core.centre.tokens import TokenStore
from exam_core.db import make_engine
from exam_core.log.entry import make_entry, parse_entry
from exam_core.log.note import Ed25519Signer
from exam_core.log.schemas.types import ALLOCATOR, INVESTIGATOR, SUPERVISOR, TABLET
from exam_core.monitoring.centre_tokens import read_tokens, store_token
from exam_core.monitoring.home import Monitor
from exam_core.monitoring.mirror_feed import feed_warnings
from exam_core.monitoring.points_table import DEFAULT_TABLE
from exam_core.monitoring.warning_store import WarningStore
from exam_core.monitoring.warnings import Subject, grade
from tests.api.monitor.static_log import StaticLogs
from tests.api.monitor.test_mirror_processes import (
    KILL_TIMEOUT_S,
    REPO,
    _free_port,
    demo_log,
    examctl_mirror,
)
from tests.exam_core.audit.bundle_factory import TS, LogBuilder, _seed
from tests.exam_core.monitoring.conftest import (  # noqa: F401 - shared fixtures
    SecondsClock,
    clock,
    monitor_dir,
    open_again,
)
from tests.exam_core.monitoring.test_warning_feed import month_of_entries

ORIGIN = "exam.example/c/370100-01"
EXAM = "ab" * 16
EXAMINER = "e-07"
VEHICLE = "v-03"


def warnings_json(monitor_dir: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> Any:  # noqa: F811
    capsys.readouterr()
    assert main(["monitor", "warnings", "--dir", str(monitor_dir), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def by_subject(listing: Any) -> dict[tuple[str, str], Any]:
    return {(w["subject"]["kind"], w["subject"]["name"]): w for w in listing["warnings"]}


@pytest.fixture
def logs() -> Iterator[tuple[StaticLogs, str]]:
    static = StaticLogs()
    with BackgroundServer(static.app) as server:
        yield static, server.url


# --- a real centre: an honest day's events, its manifest fetched with a monitor token ----------


def test_an_honest_day_at_a_real_centre_feeds_blue_warnings_and_its_manifest(
    tmp_path: Path,
    monitor_dir: Path,  # noqa: F811
    open_again: Callable[[], Monitor],  # noqa: F811
    clock: SecondsClock,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    centre = Centre.create(tmp_path / "centre", ORIGIN, max_age_ms=2)
    try:
        tablet = centre.register_key("t1", TABLET)
        supervisor = centre.register_key("s1", SUPERVISOR)
        investigator = centre.register_key("i1", INVESTIGATOR)
        allocator = centre.register_key("a1", ALLOCATOR)
        manifest = b'{"not": "a manifest the statistics can read, but the committed blob"}\n'
        sha = hashlib.sha256(manifest).hexdigest()
        centre.blobs.put(manifest)
        token, _ = TokenStore(centre.store.engine).issue("monitor", "monitor/m1")
        committed = centre.append(
            allocator,
            "allocation.committed",
            {
                "session": "s-1",
                "manifest_sha256": sha,
                "manifest_len": len(manifest),
                "round": 7,
                "beacon_kind": "hashchain",
                "vrf_key": "11" * 32,
            },
        )
        boarding = {"session": "s-1", "exam": EXAM, "candidate": "c-1"}
        centre.append(
            tablet, "boarding.confirmed", boarding | {"examiner": EXAMINER, "vehicle": VEHICLE}
        )
        stop = centre.append(tablet, "exam.stopped", {"exam": EXAM, "reason": "danger"})
        admit = centre.append(
            supervisor,
            "checkin.decided",
            {
                "session": "s-1",
                "candidate": "c-2",
                "decision": "admit",
                "reason": "identity_confirmed",
            },
        )
        opened = centre.append(
            investigator,
            "identity.opened",
            {"id_hash": "22" * 32, "case": "case-9", "basis": "court_order"},
        )
        with BackgroundServer(create_app(centre)) as server, httpx.Client(timeout=10) as client:
            capsys.readouterr()
            assert (
                main(
                    [
                        "monitor",
                        "add-centre",
                        "--dir",
                        str(monitor_dir),
                        server.url,
                        centre.log_vkey,
                        "--token",
                        token,
                    ]
                )
                == 0
            )
            assert (monitor_dir / "centre-tokens.json").stat().st_mode & 0o777 == 0o600
            monitor = open_again()
            feed = feed_warnings(monitor)
            clock.now += 3600
            [outcome] = monitor.mirror.pull_all_due(http_sources(client, feed.tokens))
            assert outcome.entries_size == centre.store.size()
            assert (monitor_dir / "manifests" / sha).read_bytes() == manifest
            assert WarningStore(monitor.store.engine).feed_position(ORIGIN).entries_fed == (
                centre.store.size()
            )
            # Pulled again (nothing new) and by a fresh process: nothing is handed over twice.
            clock.now += 3600
            feed_warnings(again := open_again())
            again.mirror.pull_all_due(http_sources(client, feed.tokens))
    finally:
        centre.close()
    listing = warnings_json(monitor_dir, capsys)  # the centre's entries are dated now
    assert listing["no_statistics"] == []
    found = by_subject(listing)
    centre_warning = found[("centre", ORIGIN)]
    assert (centre_warning["level"], centre_warning["points"]) == ("blue", 1 + 2 + 2)
    assert sorted(s["source"] for s in centre_warning["signals"]) == [
        "emergency_stop",
        "face_match_override",
        "personal_data_opened",
    ]
    assert centre_warning["entries"] == [stop, admit, opened]
    for subject in (("examiner", EXAMINER), ("vehicle", VEHICLE)):
        w = found[subject]
        assert (w["level"], w["points"], w["entries"]) == ("blue", 1, [stop])
    assert committed < stop
    # --recompute runs the statistics on demand (this centre's one manifest is no roster).
    assert main(["monitor", "warnings", "--dir", str(monitor_dir), "--recompute"]) == 0


# --- a centre that rewrites an old entry --------------------------------------------------------


def test_a_rewritten_entry_is_a_red_warning_after_one_mirror_pull(
    logs: tuple[StaticLogs, str],
    monitor_dir: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    static, url = logs
    log = LogBuilder(origin=ORIGIN)
    device = log.key("d1", "demo")
    while len(log.entries) < 12:
        log.append(device, "demo.event", n=len(log.entries))
    static.publish("a", log)
    config = json.loads((monitor_dir / "monitor.json").read_text())
    (monitor_dir / "monitor.json").write_text(json.dumps(config | {"mirror_interval_ms": 0}))
    bad = ["monitor", "add-centre", "--dir", str(monitor_dir), f"{url}/a", log.log_key.vkey]
    assert main([*bad, "--token", "two words"]) == 2  # refused before the centre is added
    assert "printable" in capsys.readouterr().err
    assert not (monitor_dir / "centre-tokens.json").exists()
    assert (
        main(["monitor", "add-centre", "--dir", str(monitor_dir), f"{url}/a", log.log_key.vkey])
        == 0
    )
    assert "no --token" in capsys.readouterr().out
    assert main(["monitor", "mirror", "--dir", str(monitor_dir), "--once"]) == 0
    assert warnings_json(monitor_dir, capsys)["warnings"] == []

    original = parse_entry(log.entries[5]).event
    signer = Ed25519Signer.from_seed(str(original["actor"]), _seed("d1"))
    log.entries[5] = make_entry(signer, {**original, "n": 4242})
    log.append(device, "demo.event", n=12)
    static.publish("a", log)
    capsys.readouterr()
    assert main(["monitor", "mirror", "--dir", str(monitor_dir), "--once"]) == 0
    assert "refused" in capsys.readouterr().out
    listing = warnings_json(monitor_dir, capsys)
    assert listing["no_statistics"] == [ORIGIN]
    [red] = listing["warnings"]
    assert (red["level"], red["subject"]["kind"], red["entries"]) == ("red", "centre", [5])
    [signal] = red["signals"]
    assert signal["source"] == "entry_invalid"
    assert "log_rewritten" in signal["message"]
    assert "entry 5" in signal["message"]
    # Another pull sees the same rewrite: still one signal.
    assert main(["monitor", "mirror", "--dir", str(monitor_dir), "--once"]) == 0
    assert len(warnings_json(monitor_dir, capsys)["warnings"][0]["signals"]) == 1
    capsys.readouterr()
    assert main(["monitor", "warnings", "--dir", str(monitor_dir)]) == 0
    assert f"no statistics for {ORIGIN}" in capsys.readouterr().out


# --- manifests: fetched, hash-checked, refused when wrong ---------------------------------------


def committing_log(manifests: list[bytes]) -> tuple[LogBuilder, list[int]]:
    log = LogBuilder(origin=ORIGIN)
    allocator = log.key("a1", "allocator")
    indexes = []
    for n, manifest in enumerate(manifests):
        indexes.append(
            log.append(
                allocator,
                "allocation.committed",
                session=f"s-{n}",
                manifest_sha256=hashlib.sha256(manifest).hexdigest(),
                manifest_len=len(manifest),
                round=7 + n,
                beacon_kind="hashchain",
                vrf_key="11" * 32,
            )
        )
    return log, indexes


def test_a_centre_serving_a_wrong_manifest_is_refused_with_a_red_warning(
    logs: tuple[StaticLogs, str],
    monitor_dir: Path,  # noqa: F811
    open_again: Callable[[], Monitor],  # noqa: F811
    clock: SecondsClock,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    static, url = logs
    good, swapped, short, missing = b"manifest one\n", b"manifest two\n", b"three\n", b"four\n"
    withheld = b"five\n"
    log, indexes = committing_log([good, swapped, short, missing, withheld])
    i_good, i_swapped, i_short, i_missing, i_withheld = indexes
    files = {
        hashlib.sha256(good).hexdigest(): good,
        hashlib.sha256(swapped).hexdigest(): b"manifest TWO\n",  # same length, other bytes
        hashlib.sha256(short).hexdigest(): short + b"and more",
    }
    static.publish("a", log)
    static.files["a"] |= {f"blobs/{sha}": data for sha, data in files.items()}
    static.faults[("a", f"blobs/{hashlib.sha256(withheld).hexdigest()}")] = lambda _: Response(
        b"busy", status_code=503
    )
    monitor = open_again()
    monitor.add_log(log.log_key.vkey, f"{url}/a", clock.now * 1000)
    store_token(monitor_dir, ORIGIN, "secret-token")
    assert read_tokens(monitor_dir) == {ORIGIN: "secret-token"}
    feed = feed_warnings(monitor)
    with httpx.Client(timeout=10) as client:
        clock.now += 3600
        monitor.mirror.pull_all_due(http_sources(client, feed.tokens))
        # A blob the centre cannot serve now holds the hand-over back at its entry …
        position = WarningStore(monitor.store.engine).feed_position(ORIGIN)
        assert position.entries_fed == i_withheld
        clock.now += 3600
        monitor.mirror.pull_all_due(http_sources(client, feed.tokens))
        # … for no longer than the silence allowed: then it is refused, and the rest goes on.
        position = WarningStore(monitor.store.engine).feed_position(ORIGIN)
        assert position.entries_fed == len(log.entries)
    shelf = monitor_dir / "manifests"
    assert sorted(p.name for p in shelf.iterdir()) == [hashlib.sha256(good).hexdigest()]
    refused: dict[int, str] = {}
    for r in monitor.mirror.store.findings_after(0):
        if r.finding.code == "mirror_manifest_refused":
            assert r.finding.index is not None, r.finding  # a refusal names its entry
            refused[r.finding.index] = r.finding.message
    assert sorted(refused) == [i_swapped, i_short, i_missing, i_withheld]
    assert "not served for 3600 s" in refused[i_withheld]
    assert "SHA-256" in refused[i_swapped]
    assert "bytes" in refused[i_short]
    assert "404" in refused[i_missing]
    # Each fetched once, none again on the second pull but the one withheld.
    assert static.count("a", "blobs/") == 4 + 2
    listing = warnings_json(monitor_dir, capsys, "--at", str(clock.now * 1000))
    [red] = listing["warnings"]
    assert (red["level"], red["entries"]) == ("red", [i_swapped, i_short, i_missing, i_withheld])
    assert i_good not in red["entries"]


# --- killed while feeding -----------------------------------------------------------------------

ADMITS = 6000


@pytest.mark.slow
def test_a_mirror_killed_while_feeding_loses_and_doubles_no_signal(
    logs: tuple[StaticLogs, str],
    monitor_dir: Path,  # noqa: F811
    open_again: Callable[[], Monitor],  # noqa: F811
    db_url: str,
) -> None:
    static, url = logs
    log = LogBuilder(origin=ORIGIN)
    tablet = log.key("t1", "tablet")
    supervisor = log.key("s1", "supervisor")
    log.append(
        tablet,
        "boarding.confirmed",
        session="s-1",
        exam=EXAM,
        candidate="c-1",
        examiner=EXAMINER,
        vehicle=VEHICLE,
    )
    admits = [
        log.append(
            supervisor,
            "checkin.decided",
            session="s-1",
            candidate=f"c-{n}",
            decision="admit",
            reason="identity_confirmed",
        )
        for n in range(ADMITS)
    ]
    stop = log.append(tablet, "exam.stopped", exam=EXAM, reason="danger")
    static.publish("a", log)
    monitor = open_again()
    monitor.add_log(log.log_key.vkey, f"{url}/a", time.time_ns() // 1_000_000)
    warnings = WarningStore(make_engine(db_url))
    child = examctl_mirror(monitor_dir)
    deadline = time.monotonic() + KILL_TIMEOUT_S
    try:
        while True:
            fed = warnings.feed_position(ORIGIN).entries_fed
            if fed > 0:
                break
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the mirror fed nothing"
            time.sleep(0.002)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.communicate()
    killed_at = warnings.feed_position(ORIGIN).entries_fed
    assert 0 < killed_at < len(log.entries), "the feed was not caught half-way"
    assert len(warnings.signals_since(0)) < ADMITS + 1

    again = examctl_mirror(monitor_dir, "--once")
    _, err = again.communicate(timeout=KILL_TIMEOUT_S)
    assert again.returncode == 0, err
    assert warnings.feed_position(ORIGIN).entries_fed == len(log.entries)
    signals = warnings.signals_since(0)
    faces = sorted(s.entries for s in signals if s.source == "face_match_override")
    assert faces == [(i,) for i in admits]
    [stopped] = [s for s in signals if s.source == "emergency_stop"]
    # The exam's examiner and car were learnt before the kill: the restarted feed rebuilt them.
    assert (stopped.entries, stopped.examiner, stopped.vehicle) == ((stop,), EXAMINER, VEHICLE)
    assert len(signals) == ADMITS + 1
    warnings.engine.dispose()


@pytest.mark.slow
def test_under_monitor_serve_a_rewrite_becomes_a_red_warning(
    logs: tuple[StaticLogs, str],
    monitor_dir: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    static, url = logs
    log = demo_log(ORIGIN, 300)
    static.publish("a", log)
    config = json.loads((monitor_dir / "monitor.json").read_text())
    (monitor_dir / "monitor.json").write_text(json.dumps(config | {"mirror_interval_ms": 200}))
    assert (
        main(["monitor", "add-centre", "--dir", str(monitor_dir), f"{url}/a", log.log_key.vkey])
        == 0
    )
    port = _free_port()
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api.cli.main",
            "monitor",
            "serve",
            "--dir",
            str(monitor_dir),
            "--port",
            str(port),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + KILL_TIMEOUT_S
    rewritten = False
    try:
        while True:
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "no warning from the served mirror"
            try:
                held = httpx.get(f"http://127.0.0.1:{port}/mirror", timeout=5).json()["logs"]
            except httpx.HTTPError:
                held = []
            if not rewritten and held and held[0]["cosigned_size"] == 300:
                original = parse_entry(log.entries[5]).event
                signer = Ed25519Signer.from_seed(str(original["actor"]), _seed("d1"))
                log.entries[5] = make_entry(signer, {**original, "n": 4242})
                log.append(log.admin, "demo.event", n=1)
                static.publish("a", log)
                rewritten = True
            if rewritten and warnings_json(monitor_dir, capsys)["warnings"]:
                break
            time.sleep(0.1)
    finally:
        child.send_signal(signal.SIGTERM)
        child.communicate(timeout=30)
    [red] = warnings_json(monitor_dir, capsys)["warnings"]
    assert (red["level"], red["entries"]) == ("red", [5])
    assert "log_rewritten" in red["signals"][0]["message"]


# --- the statistics, on manifests the mirror fetched ---------------------------------------------


def signed_month(colluding: tuple[str, str] | None) -> tuple[LogBuilder, dict[str, bytes]]:
    """The warnings' simulated month as a signed log: each draw after its commitment."""
    day, blobs = month_of_entries(5, colluding)
    log = LogBuilder(origin=ORIGIN)
    signers = {
        s.name: s
        for s in (log.key("a1", "allocator"), log.key("t1", "tablet"), log.key("s1", "scorer"))
    }
    common = {"v", "log", "type", "ts", "actor", "seq"}
    for _, event in day.events:
        signer = signers[str(event["actor"])]
        fields = {k: v for k, v in event.items() if k not in common}
        if event["type"] == "allocation.made":
            log.append(
                signer,
                "allocation.committed",
                session=fields["session"],
                manifest_sha256=fields["manifest_sha256"],
                manifest_len=len(blobs[str(fields["manifest_sha256"])]),
                round=fields["round"],
                beacon_kind="hashchain",
                vrf_key="11" * 32,
            )
        log.append(signer, str(event["type"]), **fields)
    return log, blobs


@pytest.mark.parametrize("colluding", [("e-05", "school-2"), None], ids=["colluding", "honest"])
def test_the_statistics_run_on_the_manifests_the_mirror_fetched(
    logs: tuple[StaticLogs, str],
    monitor_dir: Path,  # noqa: F811
    open_again: Callable[[], Monitor],  # noqa: F811
    clock: SecondsClock,  # noqa: F811
    colluding: tuple[str, str] | None,
) -> None:
    static, url = logs
    log, blobs = signed_month(colluding)
    static.publish("a", log)
    static.files["a"] |= {f"blobs/{sha}": data for sha, data in blobs.items()}
    clock.now = TS // 1000 + 3600
    monitor = open_again()
    monitor.add_log(log.log_key.vkey, f"{url}/a", clock.now * 1000)
    store_token(monitor_dir, ORIGIN, "secret-token")
    feed = feed_warnings(monitor)
    with httpx.Client(timeout=30) as client:
        [outcome] = monitor.mirror.pull_all_due(http_sources(client, feed.tokens))
    assert outcome.findings == []
    assert sorted(p.name for p in (monitor_dir / "manifests").iterdir()) == sorted(blobs)
    store = WarningStore(monitor.store.engine)
    assert store.feed_position(ORIGIN).statistics_ms == clock.now * 1000
    signals = store.signals_since(0)
    if colluding is None:
        assert signals == []
        return
    flagged = [s for s in signals if s.source == "examiner_school_passes"]
    assert [(s.examiner, "school-2" in s.message) for s in flagged] == [("e-05", True)]
    warnings = grade(signals, DEFAULT_TABLE, clock.now * 1000)
    [examiner] = [w for w in warnings if w.subject == Subject("examiner", ORIGIN, "e-05")]
    assert examiner.level == "orange"


def test_a_silent_centre_is_one_yellow_warning_per_silence(
    monitor_dir: Path,  # noqa: F811
    open_again: Callable[[], Monitor],  # noqa: F811
    clock: SecondsClock,  # noqa: F811
) -> None:
    log = LogBuilder(origin=ORIGIN)
    monitor = open_again()
    monitor.add_log(log.log_key.vkey, f"http://127.0.0.1:{_free_port()}", clock.now * 1000)
    feed = feed_warnings(monitor)
    store = WarningStore(monitor.store.engine)
    with httpx.Client(timeout=2) as client:
        for _ in range(3):  # nobody answers: 1 h, 2 h, 3 h since the centre was added
            clock.now += 3600
            [outcome] = monitor.mirror.pull_all_due(http_sources(client, feed.tokens))
            assert not outcome.contacted
    signals = store.signals_since(0)
    assert [(s.source, s.entries) for s in signals] == [("centre_silent", ())]
    [warning] = grade(signals, DEFAULT_TABLE, clock.now * 1000)
    assert (warning.level, warning.subject.kind) == ("yellow", "centre")
    # The mirror's own centre_silent finding was handed over too, and made no second signal.
    assert store.feed_position(ORIGIN).finding_after > 0
