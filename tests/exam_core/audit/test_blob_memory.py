"""The audit's memory does not depend on what the bundle holds: blobs are hashed as streams.

A bundle comes from the party being audited; blobs of up to 256 MiB each are allowed, and a
bundle may hold many.  The audit reads each in pieces to hash it, and a replayer reads a blob
whole only up to the bound its format allows.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from exam_core.audit.history import AdmittedHistory
from exam_core.audit.reader import read_bundle
from exam_core.errors import BlobError
from tests.exam_core.audit.bundle_factory import demo_log, write_files

REPO = Path(__file__).resolve().parents[3]
BLOB_BYTES = 96 << 20
BLOBS = 4
HEADROOM = 128 << 20
"""Address space the audit may use beyond what the program takes once imported: less than the
blobs together (384 MiB), so an audit that holds them cannot finish."""

CHILD = """
import resource, sys
import api.cli.main, api.replayers, exam_core.audit.check
status = open("/proc/self/status").read()
size = int(status.split("VmSize:")[1].split()[0]) * 1024
limit = size + int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sys.exit(api.cli.main.main(["audit", sys.argv[1], "--jobs", "1", "--policy", sys.argv[3]]))
"""


def _sparse_blob(directory: Path, first: int, size: int) -> str:
    """A blob of ``size`` bytes, ``first`` then zeros, written sparse; returns its name."""
    digest = hashlib.sha256(bytes([first]))
    zeros = bytes(1 << 20)
    left = size - 1
    while left:
        digest.update(zeros[: min(left, len(zeros))])
        left -= min(left, len(zeros))
    name = digest.hexdigest()
    with (directory / name).open("wb") as f:
        f.write(bytes([first]))
        f.truncate(size)
    return name


def test_the_audits_memory_does_not_grow_with_the_blobs_it_hashes(tmp_path: Path) -> None:
    root = write_files(tmp_path / "bundle", demo_log(30, checkpoint_every=11).files())
    (root / "blobs").mkdir()
    names = [_sparse_blob(root / "blobs", k + 1, BLOB_BYTES) for k in range(BLOBS)]
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), str(HEADROOM), str(root / "policy")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in result.stderr
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("audit OK")
    assert sorted(line.split("/")[1].split(":")[0] for line in lines[:-1]) == sorted(names)


def test_a_replayer_reads_a_blob_whole_only_up_to_the_bound_it_asks_for(tmp_path: Path) -> None:
    root = write_files(tmp_path / "bundle", demo_log(5, checkpoint_every=5).files())
    (root / "blobs").mkdir()
    data = b"telemetry" * 1000
    sha = hashlib.sha256(data).hexdigest()
    (root / "blobs" / sha).write_bytes(data)
    history = AdmittedHistory(read_bundle(root).blobs, ())
    assert history.blob(sha, max_bytes=len(data)) == data
    with pytest.raises(BlobError, match="at most 8999"):
        history.blob(sha, max_bytes=len(data) - 1)
    (root / "blobs" / sha).write_bytes(data[::-1])  # changed after it was found
    with pytest.raises(BlobError, match="changed since it was checked"):
        history.blob(sha)
    assert history.blob("00" * 32) is None
