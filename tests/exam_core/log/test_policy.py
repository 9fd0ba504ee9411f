"""tlog-policy: strict parsing with line numbers, rendering, quorum rules, checkpoint checks."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exam_core.errors import CheckpointError
from exam_core.log.checkpoint import Checkpoint, sign_checkpoint
from exam_core.log.cosignature import CosignatureSigner, add_cosignatures, cosign_checkpoint
from exam_core.log.note import Ed25519Signer
from exam_core.log.policy import (
    MAX_POLICY_BYTES,
    Policy,
    PolicyGroup,
    PolicyLog,
    PolicyWitness,
    parse_policy,
    render_policy,
)

ORIGIN = "exam.example/c/370100-01"
ROOT = base64.b64decode("XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=")
LOG = Ed25519Signer.from_seed(ORIGIN, bytes(range(32)))
ADMIN = Ed25519Signer.from_seed(f"{ORIGIN}/admin/a1", bytes(range(1, 33)))
BEACON = Ed25519Signer.from_seed("monitor.exam.example/beacon", bytes(range(2, 34)))
TS = 1_790_000_000
X = [CosignatureSigner.from_seed(f"x.example/w{i}", bytes([i]) * 32, lambda: TS) for i in (1, 2, 3)]
Y = [
    CosignatureSigner.from_seed(f"y.example/w{i}", bytes([9 + i]) * 32, lambda: TS) for i in (1, 2)
]

TWO_LEVEL = f"""
# two organisations
log {LOG.vkey} https://log.exam.example/
  witness X1 {X[0].vkey}
witness\tX2 {X[1].vkey}
witness X3 {X[2].vkey} https://x.example/w3
group X-witnesses 2 X1 X2 X3
witness Y1 {Y[0].vkey}
witness Y2 {Y[1].vkey}
group Y-witnesses any Y1 Y2
group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
admin {ADMIN.vkey}
""".encode()


def _checkpoint(*witnesses: CosignatureSigner) -> bytes:
    note = sign_checkpoint(Checkpoint(ORIGIN, 8, ROOT), [LOG])
    return add_cosignatures(note, [cosign_checkpoint(note, LOG.verifier, w) for w in witnesses])


def test_two_level_example_parses_and_round_trips() -> None:
    policy = parse_policy(TWO_LEVEL)
    assert policy.origin == ORIGIN
    assert policy.logs == (PolicyLog(LOG.vkey, "https://log.exam.example/"),)
    assert policy.witnesses[2] == PolicyWitness("X3", X[2].vkey, "https://x.example/w3")
    assert policy.groups[0] == PolicyGroup("X-witnesses", "2", ("X1", "X2", "X3"))
    assert policy.admins == frozenset({ADMIN.vkey})
    assert parse_policy(render_policy(policy)) == policy
    assert policy.witness_verifiers["Y2"] == Y[1].verifier


@pytest.mark.parametrize(
    ("witnessed", "met"),
    [
        ((), False),
        (("X1", "X2"), False),
        (("X1", "Y1"), False),
        (("X1", "X3", "Y2"), True),
        (("X1", "X2", "X3", "Y1", "Y2"), True),
        (("X-witnesses", "Y-witnesses"), False),
    ],
)
def test_quorum_rule(witnessed: tuple[str, ...], met: bool) -> None:
    assert parse_policy(TWO_LEVEL).quorum_met(witnessed) is met


def test_verify_checkpoint_under_policy() -> None:
    policy = parse_policy(TWO_LEVEL)
    cp, witnessed = policy.verify_checkpoint(_checkpoint(X[0], X[2], Y[1]))
    assert cp == Checkpoint(ORIGIN, 8, ROOT)
    assert witnessed == ("X1", "X3", "Y2")
    with pytest.raises(CheckpointError, match="quorum"):
        policy.verify_checkpoint(_checkpoint(X[0], X[1]))
    stranger = CosignatureSigner.from_seed("z.example/w", bytes(32), lambda: TS)
    with pytest.raises(CheckpointError, match="quorum"):
        policy.verify_checkpoint(_checkpoint(X[0], stranger, Y[0]))
    # Witness lines alone do not stand in for the log's signature.
    note = _checkpoint(X[0], X[1], Y[0])
    unsigned_by_log = b"".join(
        line + b"\n" for line in note.split(b"\n")[:-1] if ORIGIN.encode() + b" " not in line
    )
    with pytest.raises(CheckpointError, match="log key"):
        policy.verify_checkpoint(unsigned_by_log)


def test_build_matches_parse() -> None:
    built = Policy.build(
        log=LOG.vkey, witnesses=[X[0].vkey, X[1].vkey], quorum=2, admins=[ADMIN.vkey]
    )
    assert parse_policy(render_policy(built)) == built
    assert built.groups == (PolicyGroup("witnesses", "2", ("x.example/w1", "x.example/w2")),)
    built.verify_checkpoint(_checkpoint(X[0], X[1]))
    with pytest.raises(CheckpointError, match="quorum"):
        built.verify_checkpoint(_checkpoint(X[0]))
    alone = Policy.build(log=LOG.vkey)
    assert alone.quorum == "none"
    assert render_policy(alone).endswith(b"quorum none\n")
    assert alone.verify_checkpoint(_checkpoint())[1] == ()


BASE = f"log {LOG.vkey}\nwitness W {X[0].vkey}\n"


def test_a_pinned_beacon_key_parses_renders_and_verifies() -> None:
    """The deployment beacon's commitment is a note signed by the monitoring centre's beacon
    key; the auditor pins that key with a ``beacon`` line."""
    policy = parse_policy((BASE + f"quorum W\nbeacon {BEACON.vkey}\n").encode())
    assert policy.beacon_vkeys == (BEACON.vkey,)
    assert policy.beacon_verifiers == (BEACON.verifier,)
    assert render_policy(policy).endswith(f"quorum W\nbeacon {BEACON.vkey}\n".encode())
    assert parse_policy(render_policy(policy)) == policy
    built = Policy.build(log=LOG.vkey, admins=[ADMIN.vkey], beacons=[BEACON.vkey])
    assert parse_policy(render_policy(built)) == built
    assert Policy.build(log=LOG.vkey).beacon_verifiers == ()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (BASE + "quorum W", "newline"),
        (BASE, "no quorum"),
        (BASE + "quorum W\nquorum none\n", "line 4: a second quorum"),
        (BASE + "quorum V\n", "line 3: quorum 'V'"),
        (BASE + "group G 2 W\nquorum G\n", "line 3: group G threshold"),
        (BASE + "group G 0 W\nquorum G\n", "line 3: group G threshold"),
        (BASE + "group G 01 W\nquorum G\n", "line 3: group G threshold"),
        (BASE + "group G some W\nquorum G\n", "line 3: group G threshold"),
        (BASE + "group G any W W\nquorum G\n", "line 3: group G lists a member twice"),
        (BASE + "group G any V\nquorum G\n", "line 3: group G names 'V'"),
        (BASE + "group W any W\nquorum W\n", "line 3: 'W' is defined twice"),
        (BASE + "group none any W\nquorum none\n", "line 3: 'none' cannot"),
        (BASE + "group G any\nquorum G\n", "line 3: wrong number"),
        (BASE + "witness W2\nquorum W\n", "line 3: wrong number"),
        (BASE + f"witness W2 {X[0].vkey}\nquorum W\n", "same witness key twice"),
        (BASE + f"witness L {LOG.vkey}\nquorum W\n", "line 3: vkey of"),
        (BASE + f"log {X[1].vkey}\nquorum W\n", "line 3: vkey of"),
        (BASE + "log exam+0000+AAAA\nquorum W\n", "line 3"),
        (BASE + f"log {ADMIN.vkey}\nquorum W\n", "different origins"),
        (BASE + "quorum W\nwitnesses X\n", "line 4: unknown keyword 'witnesses'"),
        (BASE + "quorum W\nadmin\n", "line 4: wrong number"),
        (BASE + "quorum W\nbeacon\n", "line 4: wrong number"),
        (BASE + f"quorum W\nbeacon {BEACON.vkey} https://b\n", "line 4: wrong number"),
        (BASE + f"quorum W\nbeacon {X[0].vkey}\n", "line 4: vkey of"),
        (BASE + f"quorum W\nbeacon {BEACON.vkey}\nbeacon {BEACON.vkey}\n", "same beacon key twice"),
        (BASE + "quorum W\x00\n", "line 3: control character 0x00"),
        (BASE + "quorum W\r\n", "line 3: control character 0x0d"),
        ("quorum none\n", "no log"),
    ],
)
def test_malformed_policies(text: str, reason: str) -> None:
    with pytest.raises(CheckpointError, match=reason):
        parse_policy(text.encode())


def test_hostile_sizes_and_bytes() -> None:
    with pytest.raises(CheckpointError, match="over"):
        parse_policy(b"#" * MAX_POLICY_BYTES + b"\n")
    with pytest.raises(CheckpointError, match="line 1: not UTF-8"):
        parse_policy(b"log \xff\xfe\nquorum none\n")
    many = BASE + "".join(f"witness W{i} {X[1].vkey}\n" for i in range(2))
    with pytest.raises(CheckpointError, match="twice"):
        parse_policy((many + "quorum none\n").encode())


def test_comments_blank_lines_and_tabs_are_ignored() -> None:
    text = f"\n   \n# c\n\t# c2\n\tlog\t{LOG.vkey}\t\nquorum none\n"
    assert parse_policy(text.encode()) == Policy.build(log=LOG.vkey)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_hostile_policy_bytes_raise_only_our_error(data: bytes) -> None:
    with pytest.raises(CheckpointError):
        parse_policy(data)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "log",
                "witness",
                "group",
                "quorum",
                "admin",
                "beacon",
                "none",
                "W",
                "G",
                "any",
                "all",
                "1",
                "2",
                LOG.vkey,
                X[0].vkey,
                "#",
                "\t",
            ]
        ),
        max_size=12,
    )
)
def test_hostile_policy_lines_raise_only_our_error(words: list[str]) -> None:
    text = " ".join(words).replace(" quorum", "\nquorum").replace(" group", "\ngroup") + "\n"
    try:
        policy = parse_policy(text.encode())
    except CheckpointError:
        return
    assert parse_policy(render_policy(policy)) == policy
