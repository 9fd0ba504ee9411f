"""The offline audit finds every tampering with a bundle, and names what and where."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from exam_core.audit.check import WARNING, AuditReport, check_bundle
from exam_core.audit.history import AdmittedHistory, AuditHistory, MemoryHistory
from exam_core.audit.reader import bundle_from_files, read_bundle
from exam_core.audit.signatures import signing_keys
from exam_core.findings import Finding
from exam_core.log.checkpoint import Checkpoint, parse_checkpoint_text, sign_checkpoint
from exam_core.log.cosignature import add_cosignatures, cosign_checkpoint
from exam_core.log.entry import Entry, make_entry, parse_entry
from exam_core.log.merkle import leaf_hash, root_from_leaf_hashes
from exam_core.log.note import Ed25519Signer
from exam_core.log.tiles import bundle_files, decode_entry_bundle, encode_entry_bundle
from tests.exam_core.audit.bundle_factory import ORIGIN, LogBuilder, demo_log, write_files

SIZE = 300
MEMORY = Path("memory")
"""Passed as the directory: audit in memory only (for sweeps over every byte of a file)."""
"""Two entry bundles (256 + 44), two level-0 tiles and a level-1 partial tile."""


@pytest.fixture(scope="module")
def log() -> LogBuilder:
    return demo_log(SIZE, checkpoint_every=97)


@pytest.fixture(scope="module")
def files(log: LogBuilder) -> dict[str, bytes]:
    return log.files()


def audit(tmp_path: Path, files: dict[str, bytes]) -> AuditReport:
    """Audit ``files`` both from memory and, written out, from disk; the two must agree.

    The auditor pins the policy the centre published, which the bundle carries too (when a
    test changes or drops the bundle's policy, it is that policy the audit is given).
    """
    pinned = files.get("policy")
    report = check_bundle(bundle_from_files(files), policy=pinned)
    if tmp_path.name != "memory":
        root = tmp_path / "bundle"
        write_files(root, files)
        assert check_bundle(read_bundle(root), policy=pinned) == report
        # Signatures checked ahead (as worker processes do) change nothing in the findings.
        ahead = check_bundle(bundle_from_files(files), policy=pinned, signature_check=_ahead)
        assert ahead == report
    return report


def _ahead(
    entries: Sequence[bytes], keys: Mapping[str, frozenset[bytes]]
) -> Iterator[bytes | None]:
    return iter(signing_keys(entries, keys))


def found(report: AuditReport) -> set[tuple[str, int | None]]:
    return {(f.code, f.index) for f in report.errors}


def flip(data: bytes, pos: int) -> bytes:
    return data[:pos] + bytes([data[pos] ^ 0x01]) + data[pos + 1 :]


def entry_offset(files: dict[str, bytes], path: str, k: int) -> tuple[int, int]:
    """(offset of entry k's bytes in the bundle file, its length)."""
    data = files[path]
    pos = 0
    for _ in range(k):
        pos += 2 + int.from_bytes(data[pos : pos + 2], "big")
    return pos + 2, int.from_bytes(data[pos : pos + 2], "big")


def test_a_valid_bundle_passes_with_no_finding(
    tmp_path: Path, log: LogBuilder, files: dict[str, bytes]
) -> None:
    report = audit(tmp_path, files)
    assert report.findings == ()
    assert report.ok
    assert (report.entries, report.tree_size, report.checkpoints) == (SIZE, SIZE, 5)
    assert report.root_hash == root_from_leaf_hashes([leaf_hash(e) for e in log.entries])
    assert report.origin == ORIGIN


@pytest.mark.parametrize("index", [0, 100, 255, 256, 299])
def test_a_flipped_entry_byte_is_named_at_its_index(
    tmp_path: Path, files: dict[str, bytes], index: int
) -> None:
    path = "tile/entries/000" if index < 256 else "tile/entries/001.p/44"
    start, length = entry_offset(files, path, index % 256)
    rng = random.Random(index)
    for pos in (start, start + length - 1, start + rng.randrange(length)):
        tampered = files | {path: flip(files[path], pos)}
        report = audit(tmp_path / str(pos) if pos == start else MEMORY, tampered)
        assert not report.ok
        assert ("entry_mismatch", index) in found(report)
        # The checkpoints are still consistent with each other: the bundle, not the log, lies.
        assert "checkpoint_inconsistent" not in {code for code, _ in found(report)}
        # The ordered pass refuses it too: its signature or its text no longer holds.
        assert {code for code, at in found(report) if at == index} - {"entry_mismatch"}


def test_a_flipped_length_prefix_breaks_the_bundle_where_it_is(
    tmp_path: Path, files: dict[str, bytes]
) -> None:
    path = "tile/entries/001.p/44"
    start, _ = entry_offset(files, path, 10)
    report = audit(tmp_path, files | {path: flip(files[path], start - 2)})
    assert not report.ok
    codes = {f.code for f in report.errors if f.message.startswith(path)}
    assert codes & {"entry_bundle_malformed", "entry_bundle_count"}


@pytest.mark.parametrize(
    ("path", "hash_index", "entry_index"),
    [
        ("tile/0/000", 0, 0),
        ("tile/0/000", 77, 77),
        ("tile/0/000", 255, 255),
        ("tile/0/001.p/44", 0, 256),
        ("tile/0/001.p/44", 43, 299),
        ("tile/1/000.p/1", 0, 0),
    ],
)
def test_a_flipped_tile_byte_is_named_with_its_tile_and_index(
    tmp_path: Path, files: dict[str, bytes], path: str, hash_index: int, entry_index: int
) -> None:
    for offset in (0, 31):
        tampered = files | {path: flip(files[path], hash_index * 32 + offset)}
        report = audit(tmp_path / str(offset), tampered)
        mismatches = [f for f in report.errors if f.code == "tile_mismatch"]
        assert [(f.index, f.message.split(":")[0]) for f in mismatches] == [(entry_index, path)]


def test_every_byte_of_every_checkpoint_matters() -> None:
    small = demo_log(9, checkpoint_every=4)
    files = small.files()
    paths = ["checkpoint", *sorted(p for p in files if p.startswith("checkpoints/"))]
    assert len(paths) == 4
    for path in paths:
        for pos in range(len(files[path])):
            report = audit(MEMORY, files | {path: flip(files[path], pos)})
            assert not report.ok, (path, pos)
            assert any(f.message.startswith(path + ":") for f in report.errors), (path, pos)


def test_every_meaningful_byte_of_the_policy_matters() -> None:
    small = demo_log(5, checkpoint_every=5)
    files = small.files()
    policy = files["policy"]
    # Comment lines carry no meaning: a changed comment is the same policy.
    comment_end = policy.index(b"\n") + 1 if policy.startswith(b"#") else 0
    for pos in range(comment_end, len(policy)):
        report = audit(MEMORY, files | {"policy": flip(policy, pos)})
        assert not report.ok, pos
        assert any(
            f.code == "policy_malformed" or f.code.startswith("checkpoint_") or f.index == 0
            for f in report.errors
        ), pos


def test_dropping_the_last_entry_from_its_bundle_is_found(
    tmp_path: Path, files: dict[str, bytes]
) -> None:
    path = "tile/entries/001.p/44"
    kept = decode_entry_bundle(files[path])[:-1]
    report = audit(tmp_path, files | {path: encode_entry_bundle(kept)})
    assert ("entry_bundle_count", SIZE - 1) in found(report)
    assert ("missing_entries", SIZE - 1) in found(report)


def test_dropping_the_last_entry_and_renaming_its_bundle_is_found(
    tmp_path: Path, files: dict[str, bytes]
) -> None:
    path = "tile/entries/001.p/44"
    kept = decode_entry_bundle(files[path])[:-1]
    tampered = {k: v for k, v in files.items() if k != path}
    tampered["tile/entries/001.p/43"] = encode_entry_bundle(kept)
    report = audit(tmp_path, tampered)
    assert ("missing_entry_bundle", 256) in found(report)
    assert ("missing_entries", SIZE - 1) in found(report)


@pytest.mark.parametrize(("i", "j"), [(10, 11), (10, 12), (250, 260)])
def test_two_reordered_entries_are_both_named(
    tmp_path: Path, log: LogBuilder, i: int, j: int
) -> None:
    entries = list(log.entries)
    entries[i], entries[j] = entries[j], entries[i]
    # The log's tiles and checkpoints are kept; only the entry bundles are rewritten.
    tampered = log.files() | {
        k: v for k, v in bundle_files(entries).items() if k.startswith("tile/entries/")
    }
    report = audit(tmp_path, tampered)
    assert ("entry_mismatch", i) in found(report)
    assert ("entry_mismatch", j) in found(report)
    assert {at for code, at in found(report) if code == "entry_mismatch"} == {i, j}


def _forked(log: LogBuilder, size: int) -> bytes:
    """A checkpoint of another tree of ``size`` entries, signed and cosigned as the log would."""
    twin = LogBuilder()
    demo = twin.key("d1", "demo")
    while len(twin.entries) < size:
        twin.append(demo, "demo.event", n=10_000 + len(twin.entries))
    note = twin.checkpoint()
    assert note != log.checkpoints[0]
    return note


def test_two_checkpoints_of_one_size_with_different_trees_are_a_fork(
    tmp_path: Path, log: LogBuilder, files: dict[str, bytes]
) -> None:
    fork = _forked(log, 97)
    tampered = files | {"checkpoints/000000000004": files["checkpoints/000000000003"]}
    tampered |= {"checkpoints/000000000003": files["checkpoints/000000000002"]}
    tampered |= {"checkpoints/000000000002": files["checkpoints/000000000001"]}
    tampered |= {"checkpoints/000000000001": fork}
    report = audit(tmp_path, tampered)
    forks = [f for f in report.errors if f.code == "checkpoint_fork"]
    assert [(f.index, f.message) for f in forks] == [
        (
            96,
            "checkpoints/000000000001 and checkpoints/000000000000 state different trees "
            "of size 97",
        )
    ]
    assert ("checkpoint_root", 96) in found(report)
    # Proved from the tiles alone: the forked checkpoint is no prefix of the newest.
    assert ("checkpoint_inconsistent", 96) in found(report)
    assert not [f for f in report.errors if f.code == "checkpoint_signature"]


def test_a_checkpoint_signed_by_another_key_is_refused(
    tmp_path: Path, log: LogBuilder, files: dict[str, bytes]
) -> None:
    impostor = Ed25519Signer.generate(ORIGIN)
    genuine = files["checkpoints/000000000002"]
    body = genuine[: genuine.index(b"\n\n") + 1]
    note = sign_checkpoint(parse_checkpoint_text(body), [impostor])
    note = add_cosignatures(
        note, [cosign_checkpoint(note, impostor.verifier, w) for w in log.witness_keys]
    )
    report = audit(tmp_path, files | {"checkpoints/000000000002": note})
    bad = [f for f in report.errors if f.code == "checkpoint_signature"]
    assert len(bad) == 1
    assert bad[0].message.startswith("checkpoints/000000000002")


def test_a_checkpoint_without_its_witness_quorum_is_refused(
    tmp_path: Path, files: dict[str, bytes]
) -> None:
    genuine = files["checkpoint"]
    uncosigned = genuine[: genuine.rindex("— witness.example".encode())]
    report = audit(tmp_path, files | {"checkpoint": uncosigned})
    assert [(f.code, f.message.split(":")[0]) for f in report.errors] == [
        ("checkpoint_quorum", "checkpoint")
    ]


def test_a_checkpoint_that_disagrees_with_the_entries_names_its_size(
    tmp_path: Path, log: LogBuilder, files: dict[str, bytes]
) -> None:
    lie = Checkpoint(ORIGIN, 150, bytes(32))
    note = sign_checkpoint(lie, [log.log_key])
    note = add_cosignatures(
        note, [cosign_checkpoint(note, log.log_key.verifier, w) for w in log.witness_keys]
    )
    tampered = files | {"checkpoints/000000000002": note}
    report = audit(tmp_path, tampered)
    assert ("checkpoint_root", 149) in found(report)


def test_checkpoints_out_of_order_are_found(tmp_path: Path, files: dict[str, bytes]) -> None:
    tampered = files | {
        "checkpoints/000000000001": files["checkpoints/000000000002"],
        "checkpoints/000000000002": files["checkpoints/000000000001"],
    }
    report = audit(tmp_path, tampered)
    assert [f.code for f in report.errors] == ["checkpoint_order"]
    assert report.errors[0].message.startswith("checkpoints/000000000002")


def test_a_top_checkpoint_older_than_the_history_is_found(
    tmp_path: Path, files: dict[str, bytes]
) -> None:
    report = audit(tmp_path, files | {"checkpoint": files["checkpoints/000000000002"]})
    assert ("checkpoint_latest", None) in found(report)
    assert ("entries_beyond_checkpoint", 291) in found(report)


def test_an_entry_that_the_registry_refuses_is_named_even_when_the_log_committed_to_it(
    tmp_path: Path,
) -> None:
    log = LogBuilder()
    demo = log.key("d1", "demo")
    stranger = Ed25519Signer.from_seed(f"{ORIGIN}/demo/x9", bytes(32))
    log.append(demo, "demo.event", n=1)
    log.append_bytes(make_entry(stranger, log.event(stranger, "demo.event", n=2)))
    log.append(demo, "demo.event", n=3)
    replay = make_entry(demo, log.event(demo, "demo.event", n=4) | {"seq": 2})
    log.append_bytes(replay)
    log.append(log.admin, "demo.event", n=5)
    log.checkpoint()
    report = audit(tmp_path, log.files())
    assert [(f.code, f.index) for f in report.errors] == [
        ("unknown_key", 3),
        ("bad_seq", 5),
    ]


def test_the_audit_takes_the_pinned_admin_from_the_policy(tmp_path: Path) -> None:
    log = demo_log(6, checkpoint_every=6)
    files = log.files()
    other_admin = Ed25519Signer.generate(f"{ORIGIN}/admin/a2")
    policy = files["policy"].replace(log.admin.vkey.encode(), other_admin.vkey.encode())
    report = audit(tmp_path, files | {"policy": policy})
    assert ("unknown_key", 0) in found(report)


def test_an_outside_policy_replaces_the_bundles_own(tmp_path: Path) -> None:
    log = demo_log(6, checkpoint_every=6)
    files = log.files()
    root = write_files(tmp_path / "bundle", files)
    other_log = Ed25519Signer.generate(ORIGIN)
    pinned = files["policy"].replace(log.log_key.vkey.encode(), other_log.vkey.encode())
    report = check_bundle(read_bundle(root), policy=pinned)
    assert {f.code for f in report.errors} == {"checkpoint_signature"}
    assert check_bundle(read_bundle(root), policy=files["policy"]).ok


def test_a_checkpoint_taken_out_of_the_history_leaves_a_gap(
    tmp_path: Path, files: dict[str, bytes]
) -> None:
    tampered = {k: v for k, v in files.items() if k != "checkpoints/000000000001"}
    report = audit(tmp_path, tampered)
    assert [(f.code, f.message) for f in report.errors] == [
        (
            "checkpoint_gap",
            "checkpoints/000000000002: checkpoints/000000000001 to checkpoints/000000000001 "
            "are missing",
        ),
    ]


def test_a_policy_that_pins_no_administrator_fails(tmp_path: Path) -> None:
    files = demo_log(6, checkpoint_every=6).files()
    policy = b"".join(line for line in files["policy"].splitlines(True) if b"admin " not in line)
    report = audit(tmp_path, files | {"policy": policy})
    assert [f.code for f in report.errors] == ["policy_no_admins"]


def test_every_byte_of_a_small_logs_tiles_and_entries_matters() -> None:
    small = demo_log(9, checkpoint_every=4)
    files = small.files()
    assert sorted(p for p in files if p.startswith("tile/")) == [
        "tile/0/000.p/9",
        "tile/entries/000.p/9",
    ]
    for path, step in (("tile/0/000.p/9", 1), ("tile/entries/000.p/9", 3)):
        for pos in range(0, len(files[path]), step):
            report = audit(MEMORY, files | {path: flip(files[path], pos)})
            assert not report.ok, (path, pos)
            assert any(f.index is not None for f in report.errors), (path, pos)


def test_entries_of_a_key_whose_registration_was_refused_say_so(tmp_path: Path) -> None:
    log = demo_log(8, checkpoint_every=8)
    files = log.files()
    path = "tile/entries/000.p/8"
    start, length = entry_offset(files, path, 2)  # the registration of demo/d2
    tampered = files | {path: flip(files[path], start + length - 10)}
    report = audit(tmp_path, tampered)
    assert ("bad_signature", 2) in found(report)
    unknown = [f for f in report.errors if f.code == "unknown_key"]
    assert [f.index for f in unknown] == [3, 5, 7]
    assert all(f.message.endswith("(its registration, entry 2, was refused)") for f in unknown)


class _EarlierSeen:
    """A replayer of ``demo.event`` that reports which earlier entries the history holds."""

    event_types = frozenset({"demo.event"})
    reads = frozenset({"demo.event", "key.registered"})

    def replay(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        seen = [i for i, _ in history.earlier(self.reads, index)]
        return [Finding(index, "seen", repr(seen), WARNING)]


def test_replayers_see_only_the_entries_the_registry_admitted() -> None:
    log = demo_log(8, checkpoint_every=8)
    files = log.files()
    path = "tile/entries/000.p/8"
    start, length = entry_offset(files, path, 2)  # the registration of demo/d2
    tampered = files | {path: flip(files[path], start + length - 10)}
    report = check_bundle(bundle_from_files(tampered), [_EarlierSeen()])
    seen = {f.index: f.message for f in report.findings if f.code == "seen"}
    # Entries 3, 5 and 7 (by demo/d2) are refused too: not replayed, and not in the history.
    assert seen == {4: "[0, 1]", 6: "[0, 1, 4]"}
    untouched = check_bundle(bundle_from_files(files), [_EarlierSeen()])
    seen = {f.index: f.message for f in untouched.findings if f.code == "seen"}
    assert seen == {i: repr(list(range(i))) for i in range(3, 8)}


class _AsksForMore(_EarlierSeen):
    """Asks the history for a type it did not declare in ``reads``."""

    reads = frozenset({"demo.event"})

    def replay(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        return [Finding(index, "seen", repr(list(history.earlier({"key.revoked"}, index))))]


def test_a_replayer_sees_only_the_types_it_declared() -> None:
    report = check_bundle(bundle_from_files(demo_log(5).files()), [_AsksForMore()])
    crashed = [f for f in report.findings if f.code == "replay_crashed"]
    assert [f.index for f in crashed] == [3, 4]
    assert "key.revoked is not among the types the replayers read" in crashed[0].message


def test_the_audit_history_agrees_with_a_list_of_the_admitted_entries() -> None:
    entries = [parse_entry(e) for e in demo_log(30).entries]
    refused = {4, 9, 10, 17}
    reads = frozenset({"demo.event", "key.registered"})
    history = AdmittedHistory({}, reads)
    for index, entry in enumerate(entries):
        if index not in refused:
            history.admit(index, entry)
    plain = MemoryHistory(entries, refused=refused)
    for kinds in (reads, {"demo.event"}, {"key.registered"}, set()):
        for start, stop in ((0, 30), (0, 5), (3, 18), (11, 11), (20, 99), (-2, 3)):
            assert list(history.earlier(kinds, stop, start)) == list(
                plain.earlier(kinds, stop, start)
            ), (kinds, start, stop)
