"""Signature checks in worker processes give the same audit as checks in one process."""

from __future__ import annotations

import pytest

from exam_core.audit import check_bundle
from exam_core.audit_pool import ProcessSignatureCheck, local_share_for
from exam_core.bundle import bundle_from_files
from exam_core.note import Ed25519Signer
from tests.exam_core.bundle_factory import ORIGIN, demo_log


def _tampered() -> dict[str, bytes]:
    log = demo_log(60, checkpoint_every=25)
    impostor = Ed25519Signer.from_seed(f"{ORIGIN}/demo/d1", bytes(range(32)))
    log.append_bytes(
        log.entries[10].replace(b'"n":', b'"n":1')  # text changed, signature kept
    )
    log.append(impostor, "demo.event", n=7)  # a key of a registered name, but not registered
    log.checkpoint()
    return log.files()


@pytest.mark.parametrize(("chunk", "share"), [(5, None), (7, 0.0), (3, 0.5)])
def test_worker_processes_agree_with_one_process(chunk: int, share: float | None) -> None:
    files = _tampered()
    serial = check_bundle(bundle_from_files(files))
    assert [(f.code, f.index) for f in serial.errors] == [
        ("bad_signature", 60),
        ("bad_signature", 61),
    ]
    with ProcessSignatureCheck(workers=1, chunk=chunk, local_share=share) as pool:
        pooled = check_bundle(bundle_from_files(files), signature_check=pool)
    assert pooled == serial


def test_the_ordered_pass_takes_back_chunks_rather_than_wait() -> None:
    files = _tampered()
    serial = check_bundle(bundle_from_files(files))
    with ProcessSignatureCheck(workers=1, chunk=4, local_share=0.0) as pool:
        # The worker process is still starting when the ordered pass asks for the first
        # chunk (a new interpreter takes far longer than this small audit), so the auditing
        # process verifies chunks no worker has started itself; the findings are the same.
        pooled = check_bundle(bundle_from_files(files), signature_check=pool)
    assert pooled == serial
    assert pool.taken_back > 0


def test_the_local_share_balances_the_processes() -> None:
    assert local_share_for(0) == 1.0
    assert 0.3 < local_share_for(1) < 0.4
    assert 0.0 < local_share_for(4) < 0.05
    assert local_share_for(8) == 0.0  # the ordered pass alone keeps this process busy


def test_a_pool_is_used_as_a_context_manager() -> None:
    with pytest.raises(RuntimeError, match="context manager"):
        ProcessSignatureCheck(workers=1)([], {})
    with pytest.raises(RuntimeError):
        ProcessSignatureCheck(workers=0)
    with pytest.raises(RuntimeError):
        ProcessSignatureCheck(workers=1, local_share=1.0)
