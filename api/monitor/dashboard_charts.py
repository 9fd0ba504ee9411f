"""The dashboard's two charts, drawn on the server as inline SVG (no script, no network).

- ``pass_band_chart``: per examiner a horizontal track from 0 to 100 %, the band the committed
  allocations predict for their pass rate shaded, a tick at the expected rate and a dot at the
  observed one — red when it lies outside the band;
- ``timeline_chart``: the window's signals per day, stacked by the level of their source.

Every label is escaped (examiner ids come from a centre's entries).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from exam_core.monitoring.pass_bands import PassBand
from exam_core.monitoring.points_table import LEVELS

__all__ = ["LEVEL_COLOURS", "pass_band_chart", "timeline_chart"]

LEVEL_COLOURS = {"blue": "#2f6fd6", "yellow": "#d6b400", "orange": "#e07b00", "red": "#c8102e"}
_ROW = 26
_LABEL_W = 170
_TRACK_W = 360


def pass_band_chart(bands: Sequence[PassBand]) -> str:
    """The pass rates of ``bands`` beside their predicted bands, or a sentence if none."""
    if not bands:
        return (
            '<p class="empty">No results of committed allocations yet (the monitoring centre '
            "reads each session's published manifest from <code>DIR/manifests/</code>).</p>"
        )
    height = _ROW * len(bands) + 30
    width = _LABEL_W + _TRACK_W + 90
    parts = [
        f'<svg class="chart" id="pass-bands" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        "<title>Pass rate per examiner, with the band the committed allocations predict</title>",
    ]

    def x(rate: float) -> float:
        return _LABEL_W + rate * _TRACK_W

    for i, b in enumerate(bands):
        y = 10 + i * _ROW
        colour = LEVEL_COLOURS["red"] if b.outside else "#222"
        label = escape(b.examiner if len(b.examiner) <= 24 else b.examiner[:23] + "…")
        parts += [
            f'<g class="band" data-examiner="{escape(b.examiner)}" '
            f'data-outside="{str(b.outside).lower()}">',
            f"<title>{escape(b.examiner)}: {b.passed}/{b.examined} passed "
            f"({b.rate:.0%}); predicted {b.expected_rate:.0%}, band "
            f"{b.low:.0%}–{b.high:.0%}</title>",
            f'<text x="0" y="{y + 13}" font-size="12">{label}</text>',
            f'<rect x="{x(0):.1f}" y="{y + 7}" width="{_TRACK_W}" height="4" fill="#eee"/>',
            f'<rect x="{x(b.low):.1f}" y="{y + 2}" width="{max(1.0, x(b.high) - x(b.low)):.1f}" '
            f'height="14" fill="#9bc59d" opacity="0.7"/>',
            f'<line x1="{x(b.expected_rate):.1f}" x2="{x(b.expected_rate):.1f}" y1="{y}" '
            f'y2="{y + 18}" stroke="#2e7d32" stroke-width="2"/>',
            f'<circle cx="{x(b.rate):.1f}" cy="{y + 9}" r="5" fill="{colour}"/>',
            f'<text x="{_LABEL_W + _TRACK_W + 10}" y="{y + 13}" font-size="12" '
            f'fill="{colour}">{b.rate:.0%} of {b.examined}</text>',
            "</g>",
        ]
    axis_y = 10 + len(bands) * _ROW
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<text x="{x(tick) - 8:.1f}" y="{axis_y + 12}" font-size="10">{tick:.0%}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def timeline_chart(timeline: Sequence[Mapping[str, Any]]) -> str:
    """The signals per day of ``timeline``, stacked by level, or a sentence if none."""
    if not timeline:
        return '<p class="empty">No signals in the window.</p>'
    bar, gap, height = 18, 6, 140
    most = max(sum(int(day[lv]) for lv in LEVELS) for day in timeline)
    width = 40 + len(timeline) * (bar + gap)
    parts = [
        f'<svg class="chart" id="timeline" role="img" width="{width}" height="{height + 40}" '
        f'viewBox="0 0 {width} {height + 40}" xmlns="http://www.w3.org/2000/svg">',
        "<title>Signals per day, by level</title>",
        f'<text x="0" y="12" font-size="10">{most}</text>',
        f'<line x1="30" x2="{width}" y1="{height + 10}" y2="{height + 10}" stroke="#999"/>',
    ]
    for i, day in enumerate(timeline):
        x = 34 + i * (bar + gap)
        y = height + 10.0
        date = datetime.datetime.fromtimestamp(int(day["day_ms"]) / 1000, tz=datetime.UTC)
        counts = ", ".join(f"{lv} {int(day[lv])}" for lv in LEVELS)
        parts.append(f'<g class="day"><title>{date:%Y-%m-%d}: {counts}</title>')
        for level in LEVELS:
            h = height * int(day[level]) / most
            if h:
                y -= h
                parts.append(
                    f'<rect x="{x}" y="{y:.1f}" width="{bar}" height="{h:.1f}" '
                    f'fill="{LEVEL_COLOURS[level]}"/>'
                )
        parts.append(f'<text x="{x}" y="{height + 24}" font-size="9">{date:%m-%d}</text></g>')
    parts.append("</svg>")
    return "".join(parts)
