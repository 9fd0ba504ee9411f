"""Hostile bundles on disk, blobs, and the replayer seam of the audit."""

from __future__ import annotations

import hashlib
import inspect
import os
import sys
from pathlib import Path

import pytest

from exam_core.audit.check import AuditReport, check_bundle
from exam_core.audit.history import AuditHistory
from exam_core.audit.reader import BundleLimits, bundle_from_files, read_bundle
from exam_core.audit.report import MAX_FINDINGS_PER_CODE, FindingLog
from exam_core.errors import BundleError
from exam_core.findings import WARNING, Finding
from exam_core.log.blob_refs import blob_references
from exam_core.log.entry import Entry
from tests.exam_core.audit.bundle_factory import LogBuilder, demo_log, write_files


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return demo_log(40, checkpoint_every=16).files()


def audit_dir(root: Path, limits: BundleLimits | None = None) -> AuditReport:
    return check_bundle(read_bundle(root, limits))


def codes(report: AuditReport) -> set[tuple[str, int | None]]:
    return {(f.code, f.index) for f in report.errors}


def test_a_missing_or_non_directory_bundle_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="No such file"):
        read_bundle(tmp_path / "absent")
    (tmp_path / "file").write_bytes(b"\x00garbage")
    with pytest.raises(BundleError, match="not a directory"):
        read_bundle(tmp_path / "file")
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(BundleError, match="symlink"):
        read_bundle(tmp_path / "link")


def test_a_directory_with_nothing_of_the_layout_is_no_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="holds no audit bundle"):
        read_bundle(tmp_path)
    (tmp_path / "centre.json").write_bytes(b"{}")
    with pytest.raises(BundleError, match="holds no audit bundle"):
        read_bundle(tmp_path)


def test_a_bundle_without_policy_or_checkpoint_is_a_failed_audit_not_a_crash(
    tmp_path: Path, files: dict[str, bytes]
) -> None:
    root = write_files(tmp_path / "b", {"tile/0/000.p/40": files["tile/0/000.p/40"]})
    report = audit_dir(root)
    assert codes(report) == {
        ("missing_policy", None),
        ("missing_checkpoint", None),
        ("missing_checkpoint_history", None),
        ("no_origin", None),
        ("tile_beyond_tree", 0),
    }
    assert report.entries == 0


def test_symlinks_inside_the_bundle_are_never_followed(
    tmp_path: Path, files: dict[str, bytes]
) -> None:
    root = write_files(tmp_path / "b", files)
    secret = tmp_path / "secret"
    secret.write_bytes(files["checkpoint"])
    (root / "checkpoint").unlink()
    (root / "checkpoint").symlink_to(secret)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "000").write_bytes(b"x")
    (root / "tile" / "9").symlink_to(outside, target_is_directory=True)
    report = audit_dir(root)
    symlinks = sorted(f.message for f in report.errors if f.code == "symlink")
    assert symlinks == [
        "checkpoint: symlinks are not followed",
        "tile/9: symlinks are not followed",
    ]
    assert ("missing_checkpoint", None) in codes(report)


def test_a_fifo_in_the_bundle_does_not_block_the_audit(
    tmp_path: Path, files: dict[str, bytes]
) -> None:
    root = write_files(tmp_path / "b", files)
    os.mkfifo(root / "blobs-fifo")
    (root / "blobs").mkdir()
    os.mkfifo(root / "blobs" / ("ab" * 32))
    report = audit_dir(root)
    assert [f.message for f in report.errors if f.code == "unexpected_file"] == [
        f"blobs/{'ab' * 32}: not a regular file"
    ]
    assert [f.message for f in report.warnings if f.code == "unexpected_file"] == [
        "blobs-fifo: not part of the bundle layout"
    ]


def test_oversized_files_are_refused_unread(tmp_path: Path, files: dict[str, bytes]) -> None:
    big = files | {"tile/0/000.p/40": files["tile/0/000.p/40"] + b"\x00" * 8192}
    root = write_files(tmp_path / "b", big)
    report = audit_dir(root)
    assert ("oversized_file", None) in codes(report)
    assert ("missing_tile", 0) in codes(report)
    small_limit = BundleLimits(note_bytes=100)
    report = audit_dir(write_files(tmp_path / "c", files), small_limit)
    oversized = sorted(f.message.split(":")[0] for f in report.errors if f.code == "oversized_file")
    assert oversized[0] == "checkpoint"
    assert "policy" in oversized
    assert ("missing_policy", None) in codes(report)


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1234",
        "tile/abc/000",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/x000/001",
        "tile/64/000",
        "tile/entries/000.p/",
        "tile/entries",
        "tile/0/000/extra",
    ],
)
def test_tile_paths_that_do_not_parse_are_findings(
    tmp_path: Path, files: dict[str, bytes], path: str
) -> None:
    report = check_bundle(bundle_from_files(files | {path: b"\x00" * 32}))
    assert [f.message.split(":")[0] for f in report.errors if f.code == "bad_tile_path"] == [path]
    report = audit_dir(write_files(tmp_path / "b", {path: b"\x00" * 32}))
    assert ("bad_tile_path", None) in codes(report)


@pytest.mark.parametrize(
    ("path", "code", "index"),
    [
        ("policy", "policy_malformed", None),
        ("checkpoint", "checkpoint_malformed", None),
        ("checkpoints/000000000001", "checkpoint_malformed", None),
        ("tile/entries/000.p/40", "entry_bundle_", 0),
        ("tile/0/000.p/40", "tile_malformed", 0),
    ],
)
@pytest.mark.parametrize("garbage", [b"", b"\xff\xfe\x00garbage\n\n\n", os.urandom(1000)])
def test_garbage_in_any_file_is_a_finding_where_it_is(
    files: dict[str, bytes], path: str, code: str, index: int | None, garbage: bytes
) -> None:
    report = check_bundle(bundle_from_files(files | {path: garbage}))
    assert not report.ok
    found = [f for f in report.errors if f.code.startswith(code)]
    assert found, [f.code for f in report.errors]
    assert found[0].index == index
    assert found[0].message.startswith(path + ":")


def test_a_truncated_bundle_names_what_is_missing(files: dict[str, bytes]) -> None:
    truncated = {k: v for k, v in files.items() if k not in ("tile/entries/000.p/40",)}
    report = check_bundle(bundle_from_files(truncated))
    assert ("missing_entry_bundle", 0) in codes(report)
    assert ("missing_entries", 0) in codes(report)
    no_tiles = {k: v for k, v in files.items() if not k.startswith("tile/0/")}
    report = check_bundle(bundle_from_files(no_tiles))
    assert codes(report) == {("missing_tile", 0)}


def test_a_bundle_without_its_checkpoint_history_fails(files: dict[str, bytes]) -> None:
    """The listed checkpoints are what the history is held to: a bundle without them (the top
    checkpoint alone) cannot show its log never shrank or forked."""
    bare = {path: data for path, data in files.items() if not path.startswith("checkpoints/")}
    report = check_bundle(bundle_from_files(bare), policy=files["policy"])
    assert codes(report) == {("missing_checkpoint_history", None)}


def test_more_than_a_thousand_warnings_of_one_code_still_pass(files: dict[str, bytes]) -> None:
    extra = {f"notes/{n}": b"from the centre" for n in range(MAX_FINDINGS_PER_CODE + 5)}
    report = check_bundle(bundle_from_files(files | extra), policy=files["policy"])
    assert report.ok
    tail = report.findings[-1]
    assert (tail.code, tail.severity) == ("unexpected_file", "warning")
    assert tail.message == "5 more unexpected_file findings not listed"
    # Past the listed thousand, one error among the warnings fails the tail, and the audit.
    log = FindingLog()
    for n in range(MAX_FINDINGS_PER_CODE + 2):
        log.add(None, "bad_seq", str(n), WARNING if n != MAX_FINDINGS_PER_CODE + 1 else "error")
    assert log.done()[-1].severity == "error"


def test_unknown_files_are_warnings_and_do_not_fail(files: dict[str, bytes]) -> None:
    extra = files | {"README": b"hello", "checkpoints/7": b"x", "blobs/NOTHEX": b"y"}
    report = check_bundle(bundle_from_files(extra), policy=files["policy"])
    assert report.ok
    assert sorted(f.message.split(":")[0] for f in report.warnings) == [
        "README",
        "blobs/NOTHEX",
        "checkpoints/7",
    ]


# --- blobs --------------------------------------------------------------------------------


def test_blob_references_are_sha256_fields_with_a_length() -> None:
    a, b, c = "a" * 64, "b" * 64, "c" * 64
    event = {
        "sha256": a,
        "length": 5,
        "manifest_sha256": b,
        "manifest_len": 7,
        "chunks": [{"chunk_sha256": c, "chunk_length": 9}, {"chunk_sha256": c}],
        "hashes": [a, b],
        "only_sha256": c,
        "bad_sha256": "A" * 64,
        "bad_length": 3,
        "flag_sha256": a,
        "flag_length": True,
    }
    assert sorted(blob_references(event)) == [(a, 5), (b, 7), (c, 9)]


def _log_with_manifest(blob: bytes) -> tuple[LogBuilder, str]:
    log = LogBuilder()
    allocator = log.key("alloc", "allocator")
    sha = log.blob(blob)
    log.append(
        allocator,
        "allocation.committed",
        session="S-1",
        manifest_sha256=sha,
        manifest_len=len(blob),
        round=7,
        beacon_kind="dev",
        vrf_key="00" * 32,
    )
    log.checkpoint()
    return log, sha


def test_referenced_blobs_must_be_present_whole_and_of_their_length() -> None:
    log, sha = _log_with_manifest(b"manifest bytes")
    files = log.files()
    assert check_bundle(bundle_from_files(files)).ok
    index = len(log.entries) - 1

    changed = files | {f"blobs/{sha}": b"manifest bytez"}
    report = check_bundle(bundle_from_files(changed))
    assert codes(report) == {("blob_hash", None), ("blob_corrupt", index)}
    assert [f.message.split(":")[0] for f in report.errors if f.code == "blob_hash"] == [
        f"blobs/{sha}"
    ]

    missing = {k: v for k, v in files.items() if not k.startswith("blobs/")}
    assert codes(check_bundle(bundle_from_files(missing))) == {("blob_missing", index)}


def test_a_blob_of_another_length_than_its_entry_says_is_found() -> None:
    log = LogBuilder()
    allocator = log.key("alloc", "allocator")
    sha = log.blob(b"twelve bytes")
    log.append(
        allocator,
        "allocation.committed",
        session="S-1",
        manifest_sha256=sha,
        manifest_len=13,
        round=7,
        beacon_kind="dev",
        vrf_key="00" * 32,
    )
    log.checkpoint()
    report = check_bundle(bundle_from_files(log.files()))
    assert codes(report) == {("blob_length", len(log.entries) - 1)}


def test_an_unreferenced_blob_is_a_warning(files: dict[str, bytes]) -> None:
    data = b"stray evidence"
    sha = hashlib.sha256(data).hexdigest()
    report = check_bundle(bundle_from_files(files | {f"blobs/{sha}": data}), policy=files["policy"])
    assert report.ok
    assert [(f.code, f.severity) for f in report.findings] == [("blob_unreferenced", "warning")]


# --- replayers ------------------------------------------------------------------------------


class EvenReplayer:
    """Recomputes demo events: ``n`` must be the entry's index; reads history and blobs."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    event_types = reads = frozenset({"demo.event"})

    def replay(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        earlier = [i for i, _ in history.earlier(self.reads, index)]
        assert earlier == self.seen  # every demo event before this one, in order
        self.seen.append(index)
        assert history.blob("00" * 32) is None
        if entry.event["n"] != index:
            return [Finding(index, "demo_mismatch", f"n is {entry.event['n']}, not {index}")]
        if index == 7:
            return [Finding(index, "demo_note", "seven is insecure", "warning")]
        return []


class BrokenReplayer:
    event_types = reads = frozenset({"demo.event"})

    def replay(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        raise ZeroDivisionError("replayer bug")


def test_replayers_see_their_types_in_order_and_their_findings_are_reported() -> None:
    log = demo_log(12, checkpoint_every=12)
    log.append(log.admin, "demo.event", n=99)
    log.checkpoint()
    replayer = EvenReplayer()
    files = log.files()
    report = check_bundle(bundle_from_files(files), [replayer], policy=files["policy"])
    assert replayer.seen == list(range(3, 13))
    assert [(f.code, f.index, f.severity) for f in report.findings] == [
        ("demo_note", 7, "warning"),
        ("demo_mismatch", 12, "error"),
    ]


def test_gating_replayers_run_like_the_others() -> None:
    log = demo_log(5, checkpoint_every=5)
    replayer = EvenReplayer()
    check_bundle(bundle_from_files(log.files()), gating=[replayer])
    assert replayer.seen == [3, 4]


def test_a_crashing_replayer_is_a_finding_and_the_audit_goes_on() -> None:
    log = demo_log(5, checkpoint_every=5)
    report = check_bundle(bundle_from_files(log.files()), [BrokenReplayer()])
    assert [(f.code, f.index) for f in report.errors] == [
        ("replay_crashed", 3),
        ("replay_crashed", 4),
    ]
    assert "ZeroDivisionError: replayer bug" in report.errors[0].message


def test_replay_stops_after_an_entry_that_does_not_parse() -> None:
    log = demo_log(4, checkpoint_every=100)
    log.append_bytes(b"not a signed note\n")
    demo = log.key("d3", "demo")
    log.append(demo, "demo.event", n=6)
    log.checkpoint()
    replayer = EvenReplayer()
    report = check_bundle(bundle_from_files(log.files()), [replayer])
    assert replayer.seen == [3]
    assert [(f.code, f.index) for f in report.errors] == [
        ("malformed_note", 4),
        ("replay_stopped", 4),
    ]


def test_entry_bundles_and_tiles_past_the_tree_are_findings(files: dict[str, bytes]) -> None:
    far = "tile/entries/x999/x999/x999/x999/999"
    stray = files | {
        far: files["tile/entries/000.p/40"],
        "tile/entries/000.p/41": files["tile/entries/000.p/40"],
        "tile/0/x123/456": b"\x00" * 8192,
    }
    report = check_bundle(bundle_from_files(stray))
    beyond = [(f.code, f.message.split(":")[0]) for f in report.errors]
    assert ("entry_bundle_beyond_tree", far) in beyond
    assert ("entry_bundle_beyond_tree", "tile/entries/000.p/41") in beyond
    assert ("tile_beyond_tree", "tile/0/x123/456") in beyond


def test_directories_outside_the_layout_are_not_walked(
    tmp_path: Path, files: dict[str, bytes]
) -> None:
    root = write_files(tmp_path / "b", files)
    deep = root / "junk"
    for _ in range(50):
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "policy").write_bytes(b"not read")
    (root / "blobs" / "nested").mkdir(parents=True)
    report = check_bundle(read_bundle(root), policy=files["policy"])
    assert report.ok
    assert sorted(f.message for f in report.warnings) == [
        "blobs/nested: directory outside the layout",
        "junk: directory outside the layout",
    ]


def test_a_bundle_nested_beyond_recursion_is_refused_in_one_line(tmp_path: Path) -> None:
    deep = tmp_path / "b" / "tile"
    for _ in range(80):
        deep = deep / "0"
    deep.mkdir(parents=True)
    # A real tree deep enough to exhaust the default limit would also defeat the clean-up of
    # temporary directories (shutil.rmtree recurses), so the limit is lowered instead.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 60)
    try:
        with pytest.raises(BundleError, match="too deeply"):
            read_bundle(tmp_path / "b")
    finally:
        sys.setrecursionlimit(limit)
