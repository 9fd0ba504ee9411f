"""The mirror against logs served by uvicorn on loopback, over a real database (both engines).

Its verdicts: a log that grows is copied incrementally and cosigned; a log that rewrites an old
entry, truncates, or shows another tree of a verified size is refused, with a finding that names
the entries or the two checkpoints; an entry that fails the ingest rules is kept and reported;
hostile answers are refused without a traceback and without changing the copy; a silent centre
is a finding once it has been silent for longer than allowed.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor

import httpx
import pytest
from starlette.responses import Response

from api.monitor.app import create_app
from api.monitor.mirror_client import http_sources, mirror_client
from api.monitor.server import BackgroundServer
from exam_core.log.checkpoint import Checkpoint, sign_checkpoint, verify_checkpoint
from exam_core.log.cosignature import cosignature_verifier_from_vkey
from exam_core.log.entry import make_entry, parse_entry
from exam_core.log.note import Ed25519Signer, open_note
from exam_core.monitoring.entry_proof import prove_entry
from exam_core.monitoring.home import Monitor
from exam_core.monitoring.mirror import PullOutcome, new_findings
from tests.api.monitor.static_log import StaticLogs
from tests.exam_core.audit.bundle_factory import LogBuilder, _seed
from tests.exam_core.monitoring.conftest import (  # noqa: F401 - shared fixtures
    SecondsClock,
    clock,
    monitor_dir,
    open_again,
)

ORIGIN = "exam.example/c/370100-01"


@pytest.fixture
def logs() -> Iterator[tuple[StaticLogs, str]]:
    static = StaticLogs()
    with BackgroundServer(static.app) as server:
        yield static, server.url


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """The mirror's own client: tiles and bundles read straight from its transport (the other
    mirror tests read through a plain ``httpx.Client``)."""
    with mirror_client(10) as c:
        yield c


def demo_log(entries: int) -> LogBuilder:
    log = LogBuilder()
    device = log.key("d1", "demo")
    while len(log.entries) < entries:
        log.append(device, "demo.event", n=len(log.entries))
    return log


Pull = Callable[[], PullOutcome]


@pytest.fixture
def mirrored(
    logs: tuple[StaticLogs, str],
    open_again: Callable[[], Monitor],  # noqa: F811
    clock: SecondsClock,  # noqa: F811
    client: httpx.Client,
) -> tuple[Monitor, Pull]:
    static, url = logs
    monitor = open_again()
    monitor.add_log(LogBuilder().log_key.vkey, f"{url}/a", clock.now * 1000)

    def pull() -> PullOutcome:
        clock.now += 3600
        outcomes = monitor.mirror.pull_all_due(http_sources(client))
        assert [o.origin for o in outcomes] == [ORIGIN]
        return outcomes[0]

    assert static is not None
    return monitor, pull


def test_a_growing_log_is_mirrored_incrementally_and_cosigned(
    logs: tuple[StaticLogs, str], mirrored: tuple[Monitor, Pull]
) -> None:
    static, _ = logs
    monitor, pull = mirrored
    log = demo_log(300)
    static.publish("a", log, 10)
    first = pull()
    assert (first.tree_size, first.entries_size, first.refused) == (10, 10, False)
    static.publish("a", log, 300)
    before = dict(static.requests)
    second = pull()
    assert (second.tree_size, second.entries_size, second.findings) == (300, 300, [])
    fetched = {p for p, n in static.requests.items() if n > before.get(p, 0)}
    # Only the checkpoint and what the 10-entry tree lacked or held partly.
    assert fetched == {
        ("a", "checkpoint"),
        ("a", "tile/0/000"),
        ("a", "tile/0/001.p/44"),
        ("a", "tile/1/000.p/1"),
        ("a", "tile/entries/000"),
        ("a", "tile/entries/001.p/44"),
    }
    assert monitor.mirror.store.entries(ORIGIN, 0, 1000) == log.entries
    # The mirror's cosignature, under its own key, on the centre's checkpoint.
    note = monitor.mirror.cosigned_checkpoint(ORIGIN)
    assert note is not None
    assert verify_checkpoint(note, log.log_key.verifier).size == 300
    _, signers = open_note(note, [cosignature_verifier_from_vkey(monitor.mirror_vkey)])
    assert signers == (monitor.mirror.name,)
    assert monitor.mirror.name != monitor.witness.name
    # Nothing new: only the checkpoint is read again.
    before = dict(static.requests)
    assert pull().findings == []
    assert {p for p, n in static.requests.items() if n > before.get(p, 0)} == {("a", "checkpoint")}
    with BackgroundServer(create_app(monitor)) as server:
        origin_hash = hashlib.sha256(ORIGIN.encode()).hexdigest()
        answer = httpx.get(f"{server.url}/mirror/{origin_hash}/checkpoint")
        assert (answer.status_code, answer.content) == (200, note)
        info = httpx.get(f"{server.url}/mirror").json()
        assert info["logs"] == [
            {"origin": ORIGIN, "tree_size": 300, "entries": 300, "cosigned_size": 300}
        ]
        assert httpx.get(f"{server.url}/mirror/{'0' * 64}/checkpoint").status_code == 404


def test_a_rewritten_old_entry_is_refused_and_named(
    logs: tuple[StaticLogs, str], mirrored: tuple[Monitor, Pull]
) -> None:
    static, _ = logs
    monitor, pull = mirrored
    log = demo_log(600)
    held = static.publish("a", log, 300)
    assert pull().entries_size == 300
    # Entry 5 is re-signed by its own key with another field, and the log goes on growing.
    event = parse_entry(log.entries[5]).event
    device = Ed25519Signer.from_seed(str(event["actor"]), _seed("d1"))
    log.entries[5] = make_entry(device, {**event, "n": 99999})
    served = static.publish("a", log, 600)
    outcome = pull()
    assert outcome.refused
    [finding] = outcome.findings
    assert finding.finding.code == "log_rewritten"
    assert finding.finding.index == 5
    assert finding.evidence["entries"] == [5]
    assert finding.evidence["held"] == held.decode()
    assert finding.evidence["served"] == served.decode()
    head = monitor.mirror.store.head(ORIGIN)
    assert head is not None
    assert (head.tree_size, head.entries_size) == (300, 300)
    # Seen again on the next pull, it is still one finding.
    pull()
    assert [r.finding.code for r in new_findings(monitor.mirror.store)] == ["log_rewritten"]


def test_a_truncated_log_is_refused_with_both_checkpoints(
    logs: tuple[StaticLogs, str], mirrored: tuple[Monitor, Pull]
) -> None:
    static, _ = logs
    monitor, pull = mirrored
    log = demo_log(300)
    held = static.publish("a", log, 300)
    pull()
    served = static.publish("a", log, 200)
    outcome = pull()
    [finding] = outcome.findings
    assert (finding.finding.code, finding.finding.index) == ("log_truncated", 200)
    assert finding.evidence == {"held": held.decode(), "served": served.decode()}
    head = monitor.mirror.store.head(ORIGIN)
    assert head is not None
    assert head.tree_size == 300


def test_another_tree_of_the_same_size_is_a_fork(
    logs: tuple[StaticLogs, str], mirrored: tuple[Monitor, Pull]
) -> None:
    static, _ = logs
    _monitor, pull = mirrored
    log = demo_log(300)
    held = static.publish("a", log, 300)
    pull()
    other = demo_log(299)
    other.append(other.admin, "demo.event", n=10**6)
    served = static.publish("a", other, 300)
    [finding] = pull().findings
    assert finding.finding.code == "log_forked"
    assert finding.evidence == {"held": held.decode(), "served": served.decode()}


@pytest.mark.parametrize("workers", [0, 2])
def test_an_entry_that_fails_the_rules_is_kept_and_reported(
    logs: tuple[StaticLogs, str], mirrored: tuple[Monitor, Pull], workers: int
) -> None:
    """The same verdicts whether signatures are verified here or in worker processes."""
    static, _ = logs
    monitor, pull = mirrored
    if workers:
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        monitor.mirror.signatures = pool
    log = demo_log(700)
    replayed = log.append_bytes(log.entries[600])  # a replay, in a later bundle: bad_seq
    forged = bytearray(log.entries[20])
    forged[-10] ^= 1  # the signature no longer verifies (the base64 stays well-formed)
    log.entries[20] = bytes(forged)
    static.publish("a", log)
    try:
        outcome = pull()
    finally:
        if workers:
            pool.shutdown()
    codes = [(f.finding.index, f.finding.code) for f in outcome.findings]
    assert codes == [(20, "bad_signature"), (21, "bad_seq"), (replayed, "bad_seq")]
    assert outcome.entries_size == 701
    assert not outcome.refused
    assert monitor.mirror.store.entries(ORIGIN, 20, 21) == [bytes(forged)]


@pytest.mark.parametrize("workers", [0, 2])
def test_verdicts_hold_across_many_worker_calls_and_a_key_registered_midway(
    logs: tuple[StaticLogs, str], mirrored: tuple[Monitor, Pull], workers: int
) -> None:
    """Seventeen bundles: calls of four bundles each to the workers, then a call each for the
    last eight; a key whose registration and first entries fall in the second call, and forged
    signatures inside a four-bundle call (not its first bundle) and in a one-bundle call."""
    static, _ = logs
    _, pull = mirrored
    log = demo_log(1400)
    first = Ed25519Signer.from_seed(f"{log.origin}/demo/d1", _seed("d1"))  # demo_log's device
    second = log.key("d2", "demo")
    while len(log.entries) < 4200:
        signer = second if len(log.entries) % 2 else first
        log.append(signer, "demo.event", n=len(log.entries))
    forged_at = [i for i in (1701, 3901) if parse_entry(log.entries[i]).actor == second.name]
    assert len(forged_at) == 2
    for i in forged_at:
        forged = bytearray(log.entries[i])
        forged[-10] ^= 1
        log.entries[i] = bytes(forged)
    static.publish("a", log)
    pool = (
        ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        if workers
        else None
    )
    mirrored[0].mirror.signatures = pool
    try:
        outcome = pull()
    finally:
        if pool is not None:
            pool.shutdown()
    codes = [(f.finding.index, f.finding.code) for f in outcome.findings]
    expected = [
        (i + k, code) for i in forged_at for k, code in ((0, "bad_signature"), (2, "bad_seq"))
    ]
    assert codes == expected
    assert (outcome.entries_size, outcome.refused) == (4200, False)


def test_entries_resumed_under_a_tree_verified_earlier_are_held_to_its_stored_tiles(
    logs: tuple[StaticLogs, str], mirrored: tuple[Monitor, Pull]
) -> None:
    """A bundle unavailable after the tree was verified: the next pull fetches no tile again
    and checks the entries against the level-0 tiles the database holds."""
    static, _ = logs
    monitor, pull = mirrored
    log = demo_log(1000)
    static.publish("a", log)
    static.faults[("a", "tile/entries/002")] = lambda d: Response(b"busy", status_code=503)
    stalled = pull()
    assert stalled.error is not None
    assert (stalled.tree_size, stalled.entries_size) == (1000, 0)
    tiles = static.count("a", "tile/0/")
    del static.faults[("a", "tile/entries/002")]
    healed = pull()
    assert (healed.entries_size, healed.refused, healed.findings) == (1000, False, [])
    assert static.count("a", "tile/0/") == tiles
    assert monitor.mirror.store.entries(ORIGIN, 0, 1000) == log.entries


@pytest.mark.parametrize(
    ("path", "fault", "code"),
    [
        ("tile/0/000.p/50", lambda d: Response(d[:-7]), "mirror_response_refused"),
        ("tile/0/000.p/50", lambda d: Response(bytes(len(d))), "mirror_tiles_wrong"),
        ("tile/entries/000.p/50", lambda d: Response(d + b"\x00"), "mirror_response_refused"),
        (
            "tile/entries/000.p/50",
            lambda d: Response(d.replace(b'"n":7,', b'"n":8,')),  # one entry, same length
            "mirror_entry_mismatch",
        ),
        ("tile/entries/000.p/50", lambda d: Response(b"x" * 20_000_000), "mirror_response_refused"),
        ("tile/0/000.p/50", lambda d: Response(b"", status_code=404), "mirror_response_refused"),
        ("checkpoint", lambda d: Response(b"x" * 1_000_000), "mirror_response_refused"),
        (
            "checkpoint",
            lambda d: Response(d.replace(b"\n50\n", b"\n51\n")),
            "mirror_checkpoint_refused",
        ),
        ("checkpoint", lambda d: Response(b"not a note"), "mirror_checkpoint_refused"),
    ],
    ids=[
        "short-tile",
        "zero-tile",
        "trailing-bundle",
        "altered-entry",
        "giant-bundle",
        "404",
        "giant-checkpoint",
        "altered-checkpoint",
        "garbage",
    ],
)
def test_hostile_answers_are_refused_and_change_nothing(
    logs: tuple[StaticLogs, str],
    mirrored: tuple[Monitor, Pull],
    path: str,
    fault: Callable[[bytes], Response],
    code: str,
) -> None:
    static, _ = logs
    monitor, pull = mirrored
    static.publish("a", demo_log(50))
    static.faults[("a", path)] = fault
    outcome = pull()
    assert outcome.refused
    assert outcome.contacted
    assert [f.finding.code for f in outcome.findings] == [code]
    head = monitor.mirror.store.head(ORIGIN)
    assert head is not None
    assert (head.tree_size, head.entries_size, head.cosigned) in {(0, 0, None), (50, 0, None)}
    assert monitor.mirror.store.entries(ORIGIN, 0, 100) == []
    del static.faults[("a", path)]
    healed = pull()
    assert (healed.entries_size, healed.refused) == (50, False)


def test_a_checkpoint_of_an_enormous_tree_is_refused_before_any_tile(
    logs: tuple[StaticLogs, str], mirrored: tuple[Monitor, Pull]
) -> None:
    static, _ = logs
    monitor, pull = mirrored
    log = demo_log(10)
    static.publish("a", log)
    huge = Checkpoint(ORIGIN, 2**60, bytes(32))
    static.files["a"]["checkpoint"] = sign_checkpoint(huge, [log.log_key])
    outcome = pull()
    assert [f.finding.code for f in outcome.findings] == ["mirror_response_refused"]
    assert static.count("a", "tile/") == 0
    head = monitor.mirror.store.head(ORIGIN)
    assert head is not None
    assert head.tree_size == 0


def test_a_server_error_is_unavailability_and_long_silence_a_finding(
    logs: tuple[StaticLogs, str],
    mirrored: tuple[Monitor, Pull],
    clock: SecondsClock,  # noqa: F811
) -> None:
    static, _ = logs
    monitor, pull = mirrored
    static.publish("a", demo_log(10))
    static.faults[("a", "checkpoint")] = lambda d: Response(b"busy", status_code=503)
    monitor.mirror.silence_ms = 10 * 3600 * 1000
    outcome = pull()  # an hour silent: not yet a finding
    assert not outcome.contacted
    assert outcome.findings == []
    clock.now += 10 * 3600
    outcome = pull()
    [finding] = outcome.findings
    assert finding.finding.code == "centre_silent"
    pull()  # the same silence is one finding
    assert [r.finding.code for r in new_findings(monitor.mirror.store)] == ["centre_silent"]
    del static.faults[("a", "checkpoint")]
    assert pull().contacted


# --- level-0 tiles made from the bundles ---------------------------------------------------


def _index_of(log: LogBuilder, needle: bytes) -> int:
    [index] = [i for i, e in enumerate(log.entries) if needle in e]
    return index


def test_a_full_pull_fetches_no_full_level_0_tile_and_stores_every_one(
    logs: tuple[StaticLogs, str], mirrored: tuple[Monitor, Pull]
) -> None:
    """The full level-0 tiles are made from the bundles, held to the level-1 tile and stored
    with their entries: the dashboard's inclusion proofs read them."""
    static, _ = logs
    monitor, pull = mirrored
    log = demo_log(2000)
    static.publish("a", log)
    outcome = pull()
    assert (outcome.entries_size, outcome.findings) == (2000, [])
    assert set(static.requests) == {
        ("a", "checkpoint"),
        ("a", "tile/0/007.p/208"),
        ("a", "tile/1/000.p/7"),
        *(("a", f"tile/entries/00{n}") for n in range(7)),
        ("a", "tile/entries/007.p/208"),
    }
    store = monitor.mirror.store
    served = static.files["a"]
    assert store.tiles(ORIGIN, 0, 0, 8) == {
        n: served[f"tile/0/00{n}" if n < 7 else "tile/0/007.p/208"] for n in range(8)
    }
    for index in (0, 300, 1791, 1999):
        proof = prove_entry(store, ORIGIN, log.log_key.vkey, index)
        assert (proof.verified, proof.problem) == (True, None)


def test_a_bundle_that_does_not_give_its_tile_hash_names_the_entry(
    logs: tuple[StaticLogs, str], mirrored: tuple[Monitor, Pull]
) -> None:
    """The centre's level-0 tile hashes to its parent: the entry that differs from it is
    named, and the bundles before are kept with their tiles."""
    static, _ = logs
    monitor, pull = mirrored
    log = demo_log(600)
    static.publish("a", log)
    altered = _index_of(log, b'"n":300,')
    static.faults[("a", "tile/entries/001")] = lambda d: Response(
        d.replace(b'"n":300,', b'"n":399,')
    )
    outcome = pull()
    assert outcome.refused
    [finding] = outcome.findings
    assert (finding.finding.code, finding.finding.index) == ("mirror_entry_mismatch", altered)
    assert finding.evidence["entries"] == [altered]
    assert static.count("a", "tile/0/001") == 1  # fetched to tell whose fault it is
    head = monitor.mirror.store.head(ORIGIN)
    assert head is not None
    assert (head.tree_size, head.entries_size) == (600, 256)
    assert monitor.mirror.store.tiles(ORIGIN, 0, 0, 3) == {
        0: static.files["a"]["tile/0/000"],
        2: static.files["a"]["tile/0/002.p/88"],
    }
    del static.faults[("a", "tile/entries/001")]
    healed = pull()
    assert (healed.entries_size, healed.refused) == (600, False)
    assert monitor.mirror.store.tile(ORIGIN, 0, 1) == static.files["a"]["tile/0/001"]


def test_a_bundle_and_its_tile_that_miss_the_tile_hash_are_wrong_tiles(
    logs: tuple[StaticLogs, str], mirrored: tuple[Monitor, Pull]
) -> None:
    static, _ = logs
    monitor, pull = mirrored
    static.publish("a", demo_log(600))
    static.faults[("a", "tile/entries/001")] = lambda d: Response(
        d.replace(b'"n":300,', b'"n":399,')
    )
    static.faults[("a", "tile/0/001")] = lambda d: Response(bytes(len(d)))
    [finding] = pull().findings
    assert (finding.finding.code, finding.finding.index) == ("mirror_tiles_wrong", None)
    assert "tile/0/001 does not hash to hash 1 of its parent tile" in finding.finding.message
    assert finding.evidence["path"] == "tile/0/001"
    head = monitor.mirror.store.head(ORIGIN)
    assert head is not None
    assert head.entries_size == 256
    assert monitor.mirror.store.tile(ORIGIN, 0, 1) is None


@pytest.mark.parametrize("altered", [False, True])
def test_entries_resumed_are_held_to_the_stored_level_1_tile(
    logs: tuple[StaticLogs, str], mirrored: tuple[Monitor, Pull], altered: bool
) -> None:
    """The tree was verified by an earlier pull: the next one fetches no tile (the centre's
    tiles now answer 404) and holds the bundles to the level-1 tile the database holds."""
    static, _ = logs
    monitor, pull = mirrored
    log = demo_log(1000)
    static.publish("a", log)
    static.faults[("a", "tile/entries/000")] = lambda d: Response(b"busy", status_code=503)
    assert pull().error is not None
    served = dict(static.files["a"])
    for path in [p for p in served if p.startswith(("tile/0/", "tile/1/"))]:
        del static.files["a"][path]
    static.faults.clear()
    if altered:
        static.faults[("a", "tile/entries/001")] = lambda d: Response(
            d.replace(b'"n":300,', b'"n":399,')
        )
        [finding] = pull().findings  # the diagnosis asks for the tile: it is gone
        assert (finding.finding.code, finding.evidence) == (
            "mirror_response_refused",
            {"path": "tile/0/001"},
        )
        static.files["a"]["tile/0/001"] = served["tile/0/001"]
        [finding] = pull().findings
        index = _index_of(log, b'"n":300,')
        assert (finding.finding.code, finding.finding.index) == ("mirror_entry_mismatch", index)
        return
    healed = pull()
    assert (healed.entries_size, healed.refused, healed.findings) == (1000, False, [])
    assert monitor.mirror.store.tiles(ORIGIN, 0, 0, 4) == {
        0: served["tile/0/000"],
        1: served["tile/0/001"],
        2: served["tile/0/002"],
        3: served["tile/0/003.p/232"],
    }


def test_a_rewrite_among_entries_verified_but_not_yet_held_names_their_tile(
    logs: tuple[StaticLogs, str], mirrored: tuple[Monitor, Pull]
) -> None:
    """Entries 0–999 verified through the level-1 tile, none held yet (a bundle was busy):
    entry 600 rewritten is known only as one of the entries of its tile."""
    static, _ = logs
    monitor, pull = mirrored
    log = demo_log(1200)
    static.publish("a", log, 1000)
    static.faults[("a", "tile/entries/000")] = lambda d: Response(b"busy", status_code=503)
    assert pull().error is not None
    event = parse_entry(log.entries[600]).event
    device = Ed25519Signer.from_seed(str(event["actor"]), _seed("d1"))
    log.entries[600] = make_entry(device, {**event, "n": 99999})
    static.publish("a", log)
    static.faults.clear()
    outcome = pull()
    [finding] = outcome.findings
    assert (finding.finding.code, finding.finding.index) == ("log_rewritten", 512)
    assert "entries 512–767 of the tree of 1000" in finding.finding.message
    assert (finding.evidence["entries"], finding.evidence["tiles"]) == ([], ["tile/0/002"])
    head = monitor.mirror.store.head(ORIGIN)
    assert head is not None
    assert (head.tree_size, head.entries_size) == (1000, 0)
