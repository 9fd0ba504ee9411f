"""``examctl witness add`` and ``witness status`` through the real dispatcher."""

from __future__ import annotations

from pathlib import Path

import pytest

from exam_core.centre.centre import Centre
from exam_core.log.cosignature import CosignatureSigner
from exam_core.log.policy import parse_policy
from tests.api.cli.test_log import centre_dir, one_line_error, run

__all__ = ["centre_dir"]  # the fixture, shared with test_log

W1 = CosignatureSigner.from_seed("w1.example/witness", bytes(32))
W2 = CosignatureSigner.from_seed("w2.example/witness", bytes([1]) * 32)


def test_witnesses_are_named_in_the_policy(
    centre_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "witness",
        "add",
        "--dir",
        str(centre_dir),
        "--vkey",
        W1.vkey,
        "--url",
        "http://127.0.0.1:9/",
    )
    assert code == 0
    policy = parse_policy(out.encode())
    assert [(w.name, w.url) for w in policy.witnesses] == [(W1.name, "http://127.0.0.1:9")]
    assert policy.quorum_met([W1.name])
    code, out, _ = run(
        capsys, "witness", "add", "--dir", str(centre_dir), "--vkey", W2.vkey,
        "--url", "https://w2.example", "--quorum", "1",
    )  # fmt: skip
    assert code == 0
    policy = parse_policy(out.encode())
    assert policy.quorum_met([W2.name])
    assert not policy.quorum_met([])
    with Centre.open(centre_dir) as centre:
        assert centre.policy() == policy
        assert centre.policy_text() == out
    code, out, _ = run(capsys, "witness", "status", "--dir", str(centre_dir))
    assert code == 0
    assert out.splitlines()[0].startswith(f"{W1.name} (http://127.0.0.1:9): cosigned up to")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vkey", "nonsense", "--url", "http://w.example"], "vkey"),
        (["--vkey", W1.vkey, "--url", "file:///etc/passwd"], "URL"),
        (["--vkey", W1.vkey, "--url", "http://w.example", "--quorum", "2"], "quorum"),
    ],
)
def test_bad_witnesses_are_refused_in_one_line(
    centre_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    before = (centre_dir / "centre.json").read_bytes()
    code, _, err = run(capsys, "witness", "add", "--dir", str(centre_dir), *args)
    assert code == 2
    assert message in one_line_error(err)
    assert (centre_dir / "centre.json").read_bytes() == before


def test_a_centre_without_witnesses_says_so(
    centre_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "witness", "status", "--dir", str(centre_dir))
    assert (code, out) == (0, "no witness is named in this centre's policy\n")
