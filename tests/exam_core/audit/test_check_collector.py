"""The audit pauses the cycle collector while it runs and leaves it as it found it."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence

import pytest

from exam_core.audit.check import check_bundle
from exam_core.audit.reader import bundle_from_files
from tests.exam_core.audit.bundle_factory import demo_log


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_state_is_restored(enabled: bool) -> None:
    files = demo_log(20, checkpoint_every=10).files()
    seen: list[bool] = []

    def during(entries: Sequence[bytes], keys: Mapping[str, frozenset[bytes]]) -> Iterator[None]:
        seen.append(gc.isenabled())
        return iter([None] * len(entries))

    was = gc.isenabled()
    try:
        if enabled:
            gc.enable()
        else:
            gc.disable()
        assert check_bundle(bundle_from_files(files), signature_check=during).ok
        assert seen == [False]
        assert gc.isenabled() is enabled
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()


def test_the_collector_is_restored_when_the_audit_fails() -> None:
    files = demo_log(20, checkpoint_every=10).files()

    def broken(entries: Sequence[bytes], keys: Mapping[str, frozenset[bytes]]) -> Iterator[None]:
        raise RuntimeError("signature check failed")

    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="signature check failed"):
        check_bundle(bundle_from_files(files), signature_check=broken)
    assert gc.isenabled()
