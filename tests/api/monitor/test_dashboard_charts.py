"""The dashboard's SVG charts: what they draw, and that a centre's ids in them stay text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from api.monitor.dashboard_charts import pass_band_chart, timeline_chart
from exam_core.monitoring.pass_bands import PassBand

SVG = "{http://www.w3.org/2000/svg}"


def test_the_pass_band_chart_marks_the_examiner_outside_the_band() -> None:
    hostile = '<script>alert(1)</script>"e'
    bands = [
        PassBand("e-honest", 100, 62, 0.6, 0.5, 0.7),
        PassBand(hostile, 100, 97, 0.6, 0.5, 0.7),
    ]
    svg = pass_band_chart(bands)
    root = ET.fromstring(svg)  # well-formed: every id escaped
    groups = root.findall(f"{SVG}g")
    assert [(g.get("data-examiner"), g.get("data-outside")) for g in groups] == [
        ("e-honest", "false"),
        (hostile, "true"),
    ]
    assert "<script>" not in svg
    # The observed dot sits at its rate on the track, red when outside.
    dots = [g.find(f"{SVG}circle") for g in groups]
    assert [d.get("fill") for d in dots if d is not None] == ["#222", "#c8102e"]
    xs = [float(d.get("cx", "0")) for d in dots if d is not None]
    assert xs[1] > xs[0]


def test_the_timeline_stacks_each_days_levels() -> None:
    day = 86_400_000
    svg = timeline_chart(
        [
            {"day_ms": 20_000 * day, "blue": 2, "yellow": 0, "orange": 0, "red": 1},
            {"day_ms": 20_001 * day, "blue": 0, "yellow": 0, "orange": 0, "red": 3},
        ]
    )
    root = ET.fromstring(svg)
    days = root.findall(f"{SVG}g")
    assert len(days) == 2
    assert [len(d.findall(f"{SVG}rect")) for d in days] == [2, 1]
    heights = [float(r.get("height", "0")) for d in days for r in d.findall(f"{SVG}rect")]
    # Heights are proportional to the counts (3 is the tallest day).
    assert heights[0] == pytest.approx(heights[1] * 2, abs=0.2)
    assert heights[2] == pytest.approx(heights[1] * 3, abs=0.2)
    assert re.search(r"2024-10-04: blue 2, yellow 0, orange 0, red 1", svg)


def test_empty_charts_say_so() -> None:
    assert "No results" in pass_band_chart([])
    assert "No signals" in timeline_chart([])
