"""A checkpoint that claims more entries than the bundle holds costs what the bundle holds.

The newest checkpoint's size is signed by the log key, which the audited party holds: it can
claim 2^62 entries.  The audit reports the bundles and entries missing (listing at most
``MAX_FINDINGS_PER_CODE`` and counting the rest) without making a tile path per entry bundle
the claim implies, which ran out of memory (a MemoryError, or the machine's memory) in the full
and the resumed audit alike.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from exam_core.audit.check import check_bundle
from exam_core.audit.reader import bundle_from_files
from exam_core.audit.report import MAX_FINDINGS_PER_CODE
from exam_core.log.checkpoint import Checkpoint, sign_checkpoint
from exam_core.log.cosignature import add_cosignatures, cosign_checkpoint
from tests.exam_core.audit.bundle_factory import LogBuilder, demo_log, write_files

REPO = Path(__file__).resolve().parents[3]
HEADROOM = 128 << 20
"""Address space the audit may use beyond its imports: far less than a tile path for each of
the 2^54 entry bundles claimed."""
CHILD = """
import resource, sys
import api.cli.main, api.replayers, exam_core.audit.check
status = open("/proc/self/status").read()
size = int(status.split("VmSize:")[1].split()[0]) * 1024
limit = size + int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sys.exit(api.cli.main.main(["audit", "--jobs", "1", *sys.argv[2:]]))
"""


def _claim(log: LogBuilder, size: int) -> dict[str, bytes]:
    """``log``'s bundle under a newest checkpoint of ``size`` entries, signed by the log key
    and cosigned by the witnesses, over a root the entries do not give."""
    note = sign_checkpoint(Checkpoint(log.origin, size, bytes(32)), [log.log_key])
    lines = [cosign_checkpoint(note, log.log_key.verifier, w) for w in log.witness_keys]
    log.checkpoints.append(add_cosignatures(note, lines))
    return log.files()


def _audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(HEADROOM), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("resumed", [False, True])
def test_a_claim_of_2_62_entries_is_findings_within_bounded_memory(
    tmp_path: Path, resumed: bool
) -> None:
    log = demo_log(5, checkpoint_every=5)
    policy = write_files(tmp_path / "pinned", {"policy": log.files()["policy"]}) / "policy"
    state = tmp_path / "state"
    if resumed:
        before = write_files(tmp_path / "before", log.files())
        saved = _audit(str(before), "--policy", str(policy), "--save-state", str(state))
        assert saved.returncode == 0, saved.stderr
    root = write_files(tmp_path / "bundle", _claim(log, 1 << 62))
    since = ["--since", str(state)] if resumed else []
    result = _audit(str(root), "--policy", str(policy), *since)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    missing = [line for line in lines if ": missing_entry_bundle: " in line]
    assert len(missing) == MAX_FINDINGS_PER_CODE + 1
    more = (1 << 54) - MAX_FINDINGS_PER_CODE  # the 5 entries held fill no bundle of 256
    assert missing[-1].endswith(f"{more} more missing_entry_bundle findings not listed")
    assert any(": missing_entries: " in line for line in lines)


def test_the_bundles_listed_missing_are_those_a_smaller_claim_lists_one_by_one() -> None:
    log = demo_log(5, checkpoint_every=5)
    files = _claim(log, 3 * 256 + 7)
    findings = check_bundle(bundle_from_files(files), policy=files["policy"]).findings
    assert [(f.index, f.message) for f in findings if f.code == "missing_entry_bundle"] == [
        (0, "tile/entries/000: missing"),
        (256, "tile/entries/001: missing"),
        (512, "tile/entries/002: missing"),
        (768, "tile/entries/003.p/7: missing"),
    ]
