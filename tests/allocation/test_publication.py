"""Published allocations: any changed byte fails verification with a reason; CLI round trip."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from allocation import (
    ASSIGNMENT_FILE,
    MANIFEST_FILE,
    PROOF_FILE,
    VerificationError,
    check_publication,
    encode_assignment,
    encode_proof,
    verify_allocation,
)
from api.cli.main import main
from exam_core.findings import Finding
from exam_core.log.canonical import canonical_json
from tests.allocation.samples import (
    BEACON_SIGNER,
    Published,
    hash_chain_beacon,
    publish,
    small_roster,
)


@pytest.fixture(scope="module")
def published() -> Published:
    return publish(small_roster(), cap=400)


@pytest.fixture(scope="module")
def files(published: Published) -> dict[str, bytes]:
    session = published.manifest.session
    return {
        MANIFEST_FILE: published.manifest_bytes,
        PROOF_FILE: encode_proof(published.allocation),
        ASSIGNMENT_FILE: encode_assignment(published.allocation, session),
    }


def _check(files: dict[str, bytes], **replaced: bytes) -> list[str]:
    merged = {**files, **{k.replace("_", "."): v for k, v in replaced.items()}}
    findings = check_publication(merged[MANIFEST_FILE], merged[PROOF_FILE], merged[ASSIGNMENT_FILE])
    return [f"{f.code}: {f.message}" for f in findings if f.severity == "error"]


def test_untouched_bundle_holds_with_only_the_insecure_beacon_warning(
    files: dict[str, bytes],
) -> None:
    findings = check_publication(files[MANIFEST_FILE], files[PROOF_FILE], files[ASSIGNMENT_FILE])
    assert [(f.code, f.severity) for f in findings] == [("beacon_insecure", "warning")]
    # The house's one finding type; a publication belongs to no log entry.
    assert [(type(f), f.index) for f in findings] == [(Finding, None)]


@pytest.mark.parametrize("name", [MANIFEST_FILE, PROOF_FILE, ASSIGNMENT_FILE])
def test_every_changed_byte_fails_with_a_reason(files: dict[str, bytes], name: str) -> None:
    data = files[name]
    positions: Sequence[int] = range(len(data))
    if len(data) > 400:
        positions = sorted(random.Random(name).sample(range(len(data)), 400))
    for i in positions:
        for flip in (0x01, 0x20):
            changed = bytearray(data)
            changed[i] ^= flip
            errors = check_publication(
                *(
                    bytes(changed) if k == name else files[k]
                    for k in (MANIFEST_FILE, PROOF_FILE, ASSIGNMENT_FILE)
                ),
                recompute=False,
            )
            assert any(p.severity == "error" and p.message for p in errors), (name, i, flip)


def _proof_json(files: dict[str, bytes]) -> dict[str, object]:
    value = json.loads(files[PROOF_FILE])
    assert isinstance(value, dict)
    return value


def test_other_beacon_value_is_reported_as_such(files: dict[str, bytes]) -> None:
    proof = _proof_json(files)
    beacon = proof["beacon"]
    assert isinstance(beacon, dict)
    proof["beacon"] = beacon | {"value": "00" * 32}
    errors = _check(files, proof_json=canonical_json(proof))
    assert any(e.startswith("beacon_invalid: value of round 5") for e in errors)
    assert any(e.startswith("vrf_invalid") for e in errors)


def test_other_round_is_reported(files: dict[str, bytes]) -> None:
    proof = _proof_json(files)
    beacon = proof["beacon"]
    assert isinstance(beacon, dict)
    proof["beacon"] = beacon | {"round": 6}
    errors = _check(files, proof_json=canonical_json(proof))
    assert any("beacon round 6 is not the committed round 5" in e for e in errors)


def test_swapped_pair_is_named(files: dict[str, bytes]) -> None:
    value = json.loads(files[ASSIGNMENT_FILE])
    pairs = value["assignment"]
    k = next(i for i in range(1, len(pairs)) if pairs[i][1] != pairs[0][1])
    pairs[0][1], pairs[k][1] = pairs[k][1], pairs[0][1]
    errors = _check(files, assignment_json=canonical_json(value))
    assert len(errors) == 1
    assert errors[0].startswith(f"assignment_mismatch: {pairs[0][0]}: published")


def test_replaced_manifest_is_a_mismatch(files: dict[str, bytes]) -> None:
    other = publish(small_roster(), cap=500).manifest_bytes
    errors = _check(files, manifest_json=other)
    assert any(e.startswith("manifest_mismatch: proof.json names manifest") for e in errors)
    assert any(e.startswith("vrf_invalid") for e in errors)


def test_verify_allocation_raises_with_every_reason(published: Published) -> None:
    allocation = published.allocation
    verify_allocation(
        published.manifest_bytes, allocation.reading, allocation.proof, allocation.assignment
    )
    with pytest.raises(VerificationError, match="vrf_invalid"):
        verify_allocation(
            published.manifest_bytes,
            allocation.reading,
            allocation.proof[:-1] + b"\x00",
            allocation.assignment,
        )


def test_pinned_vrf_key_is_enforced(files: dict[str, bytes]) -> None:
    findings = check_publication(
        files[MANIFEST_FILE], files[PROOF_FILE], files[ASSIGNMENT_FILE], pinned_vrf_key=b"\x01" * 32
    )
    assert any(f.code == "vrf_invalid" and "pinned" in f.message for f in findings)


def _demo_argv(*, seed: int, out: Path) -> list[str]:
    """``examctl alloc demo`` with 150 candidates and 30 examiners."""
    return [
        "alloc",
        "demo",
        "--candidates",
        "150",
        "--examiners",
        "30",
        "--seed",
        str(seed),
        "--out",
        str(out),
    ]


def test_cli_demo_then_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "alloc"
    assert main(_demo_argv(seed=2, out=out)) == 0
    said = capsys.readouterr().out
    assert "150 candidates, 30 examiners" in said
    assert "Q* = 1667/10000" in said
    assert sorted(p.name for p in out.iterdir()) == [ASSIGNMENT_FILE, MANIFEST_FILE, PROOF_FILE]
    assert main(["alloc", "verify", str(out)]) == 0
    captured = capsys.readouterr()
    assert "verifies" in captured.out
    assert "beacon_insecure" in captured.out

    proof = json.loads((out / PROOF_FILE).read_text())
    proof["proof"] = proof["proof"][:-2] + ("00" if proof["proof"][-2:] != "00" else "01")
    (out / PROOF_FILE).write_bytes(canonical_json(proof))
    assert main(["alloc", "verify", str(out), "--no-recompute"]) == 1
    captured = capsys.readouterr()
    assert "error: vrf_invalid" in captured.err
    assert "does NOT verify" in captured.err


def test_cli_refuses_a_cap_below_q_star(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(_demo_argv(seed=3, out=tmp_path))
    assert code == 2
    err = capsys.readouterr().err
    assert "policy cap 2000/10000 is below the smallest feasible cap Q* = 5000/10000" in err
    assert not any(tmp_path.iterdir())


def test_cli_verify_of_missing_or_garbage_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["alloc", "verify", str(tmp_path)]) == 2
    assert "examctl: error:" in capsys.readouterr().err
    for name in (MANIFEST_FILE, PROOF_FILE, ASSIGNMENT_FILE):
        (tmp_path / name).write_bytes(b"\xff\xfe garbage")
    assert main(["alloc", "verify", str(tmp_path)]) == 1
    assert "file_invalid" in capsys.readouterr().err


def test_cli_verify_of_a_hash_chain_draw_needs_the_pinned_beacon_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    published = publish(small_roster(), cap=400, beacon=hash_chain_beacon())
    (tmp_path / MANIFEST_FILE).write_bytes(published.manifest_bytes)
    (tmp_path / PROOF_FILE).write_bytes(encode_proof(published.allocation))
    assignment = encode_assignment(published.allocation, published.manifest.session)
    (tmp_path / ASSIGNMENT_FILE).write_bytes(assignment)

    assert main(["alloc", "verify", str(tmp_path), "--beacon-vkey", BEACON_SIGNER.vkey]) == 0
    said = capsys.readouterr()
    assert "verifies" in said.out
    assert "warning" not in said.out + said.err
    assert main(["alloc", "verify", str(tmp_path)]) == 1
    assert "beacon_invalid: hash-chain commitment: no trusted beacon key" in capsys.readouterr().err


def test_cli_refuses_bad_option_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["alloc", "verify", str(tmp_path), "--vrf-key", "zz"])
    assert exit_info.value.code == 2
    assert "must be 32 bytes of hex" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(
            ["alloc", "demo", "--candidates", "0", "--examiners", "3", "--seed", "1", "--out", "x"]
        )
    assert "must be a positive integer" in capsys.readouterr().err
    assert main(["alloc", "verify", str(tmp_path), "--beacon-vkey", "not-a-vkey"]) == 2
    assert "examctl: error:" in capsys.readouterr().err
