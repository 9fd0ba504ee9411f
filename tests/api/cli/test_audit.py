"""``examctl audit``: exit 0 only when all holds, 1 with every finding listed, 2 on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli.main import main
from exam_core.log.note import Ed25519Signer
from exam_core.log.policy import Policy, render_policy
from tests.api.allocation_bundle import BEACON_KEY, allocation_log, dev_beacon, hash_chain_beacon
from tests.exam_core.audit.bundle_factory import LogBuilder, cut_back, demo_log, write_files

ORIGIN = "exam.example/c/370100-02"


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return demo_log(30, checkpoint_every=11).files()


def _flip(data: bytes, pos: int) -> bytes:
    return data[:pos] + bytes([data[pos] ^ 0x01]) + data[pos + 1 :]


def test_a_valid_bundle_exits_0_with_a_summary(
    tmp_path: Path, files: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_files(tmp_path / "b", files)
    assert main(["audit", str(root), "--jobs", "1", "--policy", str(root / "policy")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert out[0].startswith("audit OK: log exam.example/c/370100-01, 30 entries, tree size 30")
    assert out[0].endswith("0 errors, 0 warnings")


def test_findings_are_listed_by_index_and_exit_1(
    tmp_path: Path, files: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    tampered = files | {"tile/entries/000.p/30": _flip(files["tile/entries/000.p/30"], 2000)}
    root = write_files(tmp_path / "b", tampered)
    assert main(["audit", str(root), "--jobs", "1"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("audit FAILED")
    index = next(line for line in lines if ": entry_mismatch: " in line)
    assert index.startswith("index ")
    assert all(line.startswith(("index ", "bundle: ")) for line in lines[:-1])


def test_json_report_and_worker_processes_agree_with_one_process(
    tmp_path: Path, files: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    tampered = files | {"tile/0/000.p/30": _flip(files["tile/0/000.p/30"], 5 * 32)}
    tampered |= {"tile/entries/000.p/30": _flip(files["tile/entries/000.p/30"], 900)}
    root = write_files(tmp_path / "b", tampered)
    reports = []
    for jobs in ("1", "2"):
        assert main(["audit", str(root), "--json", "--jobs", jobs]) == 1
        reports.append(json.loads(capsys.readouterr().out))
    assert reports[0] == reports[1]
    assert reports[0]["ok"] is False
    found = {(f["code"], f["index"]) for f in reports[0]["findings"]}
    # Both the tiles and the entries were changed: neither gives the checkpoint's root.
    assert {("leaf_mismatch", 2), ("leaf_mismatch", 5)} <= found


def test_warnings_alone_pass(
    tmp_path: Path, files: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_files(tmp_path / "b", files | {"NOTES.txt": b"from the centre"})
    assert main(["audit", str(root), "--jobs", "1", "--policy", str(root / "policy")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "bundle: unexpected_file (warning): NOTES.txt: not part of the bundle layout"
    assert lines[1].startswith("audit OK")


@pytest.mark.parametrize(
    "kind",
    [
        "missing",
        "garbage file",
        "bad policy path",
        "endless policy",
        "endless checkpoint",
        "bad jobs",
    ],
)
def test_unreadable_input_is_one_line_and_exit_2(
    tmp_path: Path, files: dict[str, bytes], capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    root = write_files(tmp_path / "b", files)
    args = {
        "missing": ["audit", str(tmp_path / "nope")],
        "garbage file": ["audit", str(root / "policy")],
        "bad policy path": ["audit", str(root), "--policy", str(tmp_path / "nope")],
        "endless policy": ["audit", str(root), "--policy", "/dev/zero"],
        "endless checkpoint": ["audit", str(root), "--checkpoint", "/dev/zero"],
        "bad jobs": ["audit", str(root), "--jobs", "0"],
    }[kind]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert captured.err.startswith("examctl: error: ")


def test_an_outside_policy_is_used_instead_of_the_bundles(
    tmp_path: Path, files: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    impostor = Ed25519Signer.generate("exam.example/c/370100-01")
    pinned = tmp_path / "pinned-policy"
    pinned.write_bytes(render_policy(Policy.build(log=impostor.vkey)))
    root = write_files(tmp_path / "b", files)
    assert main(["audit", str(root), "--jobs", "1", "--policy", str(pinned)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "bundle: checkpoint_signature: checkpoint: " in "\n".join(lines)
    assert main(["audit", str(root), "--jobs", "1", "--policy", str(root / "policy")]) == 0


def test_the_installed_command_never_prints_a_traceback(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"\x00\xff" * 100)
    result = subprocess.run(
        [sys.executable, "-m", "api.cli.main", "audit", str(garbage)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("examctl: error: bundle ")


def test_export_then_audit_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    centre, bundle = tmp_path / "centre", tmp_path / "bundle"
    assert main(["init", "--dir", str(centre), "--origin", ORIGIN]) == 0
    assert main(["log", "append", "--dir", str(centre), "--count", "40", "--quiet"]) == 0
    assert main(["log", "export", "--dir", str(centre), "--out", str(bundle)]) == 0
    capsys.readouterr()
    assert main(["audit", str(bundle)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith(f"audit OK: log {ORIGIN}, 42 entries")
    # Trusted on the bundle's word: the policy is the centre's own, and no witness cosigns yet.
    assert [line.split(": ")[1] for line in lines[:-1]] == [
        "policy_unpinned (warning)",
        "checkpoint_unwitnessed (warning)",
    ]
    assert main(["log", "export", "--dir", str(centre), "--out", str(bundle)]) == 2


def test_a_rolled_back_bundle_fails_against_a_checkpoint_given_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = demo_log(30, checkpoint_every=11)
    root = write_files(tmp_path / "b", cut_back(log.files(), 1))
    for ordinal, note in enumerate(log.checkpoints):
        (tmp_path / f"seen-{ordinal}").write_bytes(note)
    seen = [str(tmp_path / f"seen-{ordinal}") for ordinal in range(3)]
    audit = ["audit", str(root), "--jobs", "1", "--policy", str(root / "policy")]
    assert main([*audit, "--checkpoint", seen[1]]) == 0
    capsys.readouterr()
    args = [*audit, "--checkpoint", seen[0], "--checkpoint", seen[2]]
    assert main(args) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        f"index 22: bundle_rolled_back: {seen[2]}: the log signed a tree of 30 entries; "
        "the bundle's newest checkpoint has 22"
    )
    assert lines[-1].startswith("audit FAILED")


def test_a_policy_taken_from_the_bundle_is_named_with_the_log_key_it_trusts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Anyone can make a complete bundle with keys of their own: without --policy the audit
    can only say which log key it took on the bundle's word, for the auditor to compare."""
    forger = LogBuilder(origin="exam.example/c/370100-01")
    forger.log_key = Ed25519Signer.from_seed(forger.origin, b"\x66" * 32)
    forger.append(forger.key("d1", "demo"), "demo.event", n=1)
    forger.checkpoint()
    root = write_files(tmp_path / "b", forger.files())
    assert main(["audit", str(root), "--jobs", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "bundle: policy_unpinned (warning): policy: taken from the bundle, which the audited "
        f"party wrote; the log key trusted is {forger.log_key.vkey}: compare it with the key "
        "the centre publishes, or pin a policy with --policy"
    )
    assert lines[1].startswith("audit OK")
    assert main(["audit", str(root), "--jobs", "1", "--policy", str(root / "policy")]) == 0
    assert "policy_unpinned" not in capsys.readouterr().out


def test_a_crafted_file_name_cannot_print_a_line_of_its_own(
    tmp_path: Path, files: dict[str, bytes]
) -> None:
    """A file name carrying a newline and terminal controls would forge an "audit OK" line; one
    that is not UTF-8 could not be printed at all.  Both are shown escaped, in text and JSON."""
    root = write_files(tmp_path / "b", files)
    forged = "x\n\x1b[1A\x1b[2Kaudit OK: log exam.example, 30 entries, 0 errors\u202e"
    (root / "blobs").mkdir()
    (root / "blobs" / forged).write_bytes(b"evidence")
    os.close(os.open(os.fsencode(root / "blobs") + b"/\xff\xfe", os.O_CREAT | os.O_WRONLY))
    tampered = files["tile/entries/000.p/30"]
    (root / "tile/entries/000.p/30").write_bytes(_flip(tampered, 2000))
    command = [sys.executable, "-m", "api.cli.main", "audit", str(root), "--jobs", "1"]
    text = subprocess.run(command, capture_output=True, timeout=60, check=False)
    assert text.returncode == 1
    assert text.stderr == b""
    lines = text.stdout.decode("utf-8").splitlines()
    assert [line for line in lines if line.startswith("audit ")] == [lines[-1]]
    assert lines[-1].startswith("audit FAILED")
    assert all(ch.isprintable() for line in lines for ch in line)
    assert (
        "bundle: unexpected_file (warning): blobs/x\\x0a\\x1b[1A\\x1b[2Kaudit OK: log "
        "exam.example, 30 entries, 0 errors\\u202e: not part of the bundle layout"
    ) in lines
    assert (
        "bundle: unexpected_file (warning): blobs/\\udcff\\udcfe: not part of the bundle layout"
        in lines
    )
    machine = subprocess.run([*command, "--json"], capture_output=True, timeout=60, check=False)
    assert machine.returncode == 1
    report = json.loads(machine.stdout.decode("utf-8"))
    messages = [f["message"] for f in report["findings"]]
    assert all(m.encode("utf-8").isascii() and m.isprintable() for m in messages)
    assert "blobs/\\udcff\\udcfe: not part of the bundle layout" in messages


def test_a_draw_on_a_development_beacon_fails_unless_the_auditor_allows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whoever chose a development beacon's seed knew every round's value: the allocation
    could have been chosen.  Only a test or a demonstration allows it."""
    root = write_files(tmp_path / "b", allocation_log(dev_beacon()).files())
    audit = ["audit", str(root), "--jobs", "1", "--policy", str(root / "policy")]
    assert main(audit) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("index 3: beacon_insecure: dev beacon: its values are known")
    assert "could have been chosen" in lines[0]
    assert main([*audit, "--allow-dev-beacon"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("index 3: beacon_insecure (warning): dev beacon")
    assert lines[1].startswith("audit OK")


def test_a_hash_chain_allocation_audits_clean_with_its_beacon_pinned_in_the_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The deployment beacon can only be verified against a key the auditor pins: a
    ``beacon <vkey>`` line of the policy."""
    pinned = allocation_log(hash_chain_beacon(), beacons=[BEACON_KEY.vkey]).files()
    root = write_files(tmp_path / "pinned", pinned)
    assert b"\nbeacon " + BEACON_KEY.vkey.encode() + b"\n" in pinned["policy"]
    assert main(["audit", str(root), "--jobs", "1", "--policy", str(root / "policy")]) == 0
    assert capsys.readouterr().out.startswith("audit OK")
    unpinned = write_files(tmp_path / "unpinned", allocation_log(hash_chain_beacon()).files())
    policy = str(unpinned / "policy")
    assert main(["audit", str(unpinned), "--jobs", "1", "--policy", policy]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "index 2: beacon_invalid: hash-chain commitment: no trusted beacon key is pinned"
    )


def test_a_witness_cosignature_in_the_bundle_dates_the_commitment_before_its_round(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The checkpoints' witness cosignatures reach the allocation replayer: a tree including the
    commitment, cosigned before the round, is the evidence its allocator does not control."""
    for witnesses, expected in ((1, []), (0, ["commitment_unproven", "checkpoint_unwitnessed"])):
        log = allocation_log(dev_beacon(), witnesses=witnesses)
        root = write_files(tmp_path / str(witnesses), log.files())
        policy = str(root / "policy")
        args = ["audit", str(root), "--jobs", "1", "--policy", policy, "--allow-dev-beacon"]
        assert main([*args, "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        found = {f["code"] for f in report["findings"]} - {"beacon_insecure"}
        assert sorted(found) == sorted(expected)
