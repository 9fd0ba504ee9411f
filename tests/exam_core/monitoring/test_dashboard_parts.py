"""The dashboard's domain parts: the pass-rate bands, the centre survey, the manifest folder."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from exam_core.monitoring.centre_survey import CentreSurvey, decode_event
from exam_core.monitoring.overview import manifest_reader
from exam_core.monitoring.pass_bands import pass_bands
from exam_core.monitoring.statistics import Placement
from tests.exam_core.audit.bundle_factory import LogBuilder


def month(lenient: str | None, seed: int = 1) -> list[Placement]:
    """Four examiners, three schools passing 40/60/80 %; ``lenient`` passes everyone."""
    rng = random.Random(seed)
    rates = {"s1": 0.4, "s2": 0.6, "s3": 0.8}
    out = []
    for i in range(600):
        school = rng.choice(sorted(rates))
        examiner = f"e{i % 4}"
        passed = True if examiner == lenient else rng.random() < rates[school]
        out.append(Placement(f"c{i}", school, ((examiner, 1.0),), examiner, passed, i))
    return out


def test_an_honest_month_lies_inside_its_bands() -> None:
    bands = pass_bands(month(None))
    assert [b.examiner for b in bands] == ["e0", "e1", "e2", "e3"]
    assert all(b.examined == 150 for b in bands)
    assert not any(b.outside for b in bands)
    for b in bands:
        assert b.low < b.expected_rate < b.high
        assert 0.5 < b.expected_rate < 0.7


def test_an_examiner_who_passes_everyone_lies_outside() -> None:
    bands = {b.examiner: b for b in pass_bands(month("e2"))}
    assert bands["e2"].rate == 1.0
    assert bands["e2"].outside
    assert bands["e2"].high < 0.8
    # The others' yardstick includes e2's passes, so they may look low; none looks high.
    assert all(b.rate <= b.high for k, b in bands.items() if k != "e2")


def test_no_results_or_no_other_examiner_gives_no_band() -> None:
    unscored = Placement("c", "s", (("e", 1.0),), "e", None, 0)
    alone = Placement("d", "s", (("e", 1.0),), "e", True, 1)
    assert pass_bands([unscored]) == []
    assert pass_bands([alone]) == []  # no yardstick without e


def test_the_survey_follows_exams_and_devices_and_skips_garbage() -> None:
    log = LogBuilder()
    gateway = log.key("gw", "gateway")
    tablet = log.key("t", "tablet")
    room = {"room": "r1", "kind": "room", "gateway": gateway.name, "jammers": []}
    log.append(log.admin, "room.configured", detectors=[], canaries=[], max_age_ms=1, **room)
    device = {"kind": "detector", "mono_ms": 0, "raw": "00"}
    log.append(gateway, "device.state", device="d", state="OFFLINE", **device)
    log.append(gateway, "device.alarm", device="d", name="x", action="set", **device)
    cleared = log.append(gateway, "device.alarm", device="d", name="x", action="clear", **device)
    log.append(gateway, "device.gate", room="r1", allowed=False, reasons=["<b>d</b> down"])
    log.append(tablet, "exam.started", session="s", exam="e1", gate=5)
    log.append(tablet, "exam.stopped", exam="e1", reason="danger")
    log.append(tablet, "exam.started", session="s", exam="e2", gate=5)
    survey = CentreSurvey(log.origin)
    for i, data in enumerate(log.entries):
        survey.observe(i, data)
    survey.observe(len(log.entries), b"not an entry\n")
    assert set(survey.rooms) == {"r1"}  # the gateway's devices are the room's
    assert list(survey.live) == ["e2"]
    r1 = survey.rooms["r1"]
    assert (r1.gate_allowed, r1.gate_reasons) == (False, ("<b>d</b> down",))
    d = r1.devices["d"]
    assert (d.link, d.alarms, d.last_index) == ("OFFLINE", set(), cleared)


def test_a_manifest_counts_only_if_it_hashes_to_its_name(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    good = b"manifest"
    name = hashlib.sha256(good).hexdigest()
    (folder / name).write_bytes(good)
    (folder / ("0" * 64)).write_bytes(b"not that")
    read = manifest_reader(tmp_path)
    assert read(name) == good
    assert read("0" * 64) is None
    assert read("1" * 64) is None
    assert read("../" + name) is None


def test_the_survey_decodes_only_a_json_object_on_the_notes_one_line() -> None:
    assert decode_event(b'{"type":"x","n":1}\n\n\xe2\x80\x94 k sig\n') == {"type": "x", "n": 1}
    assert decode_event(b'{"type":"x"}\n') is None  # no signature block
    assert decode_event(b'{"a":1}\n{"b":2}\n\nsig\n') is None  # two lines of text
    assert decode_event(b"[1, 2]\n\nsig\n") is None
    assert decode_event(b"{not json\n\nsig\n") is None
    assert decode_event(b"\xff\xfe\n\nsig\n") is None
    assert decode_event(b"[" * 100_000 + b"\n\nsig\n") is None  # too deep to be an event
