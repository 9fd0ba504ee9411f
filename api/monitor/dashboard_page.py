"""The dashboard's HTML, rendered on the server from the overview (no template engine).

Every value that comes from a centre — origins, exam and device ids, reasons, decoded entry
fields, finding messages — is hostile input and goes through ``html.escape`` (quotes included)
before it reaches the page, whether as text or as an attribute; nothing is put into a script.
The page's one script (``dashboard.js``) is served from the monitor itself, and the Content
Security Policy the routes send allows no other (``script-src 'self'``), so an escaping mistake
could still not run a centre's script.  Nothing is fetched from the network: a monitoring centre
may be offline.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from api.monitor.dashboard_charts import LEVEL_COLOURS, pass_band_chart, timeline_chart
from exam_core.monitoring.entry_proof import EntryProof
from exam_core.monitoring.overview import Snapshot
from exam_core.monitoring.points_table import LEVELS
from exam_core.monitoring.warnings import GradedWarning

__all__ = ["entry_page", "origin_hash", "page", "panels", "warning_page"]

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0 1.5em 2em;color:#222}
h1{font-size:20px;margin:.6em 0}h2{font-size:16px;margin:1.2em 0 .4em}
table{border-collapse:collapse;margin:.3em 0}td,th{border:1px solid #ccc;padding:3px 7px;
text-align:left;vertical-align:top}th{background:#f4f4f4}
.level{display:inline-block;padding:1px 8px;border-radius:3px;color:#fff;font-weight:600}
.counts span{margin-right:1em}.ok{color:#2e7d32}.bad{color:#c8102e;font-weight:600}
.empty{color:#777}code,pre{font:12px ui-monospace,monospace}pre{white-space:pre-wrap;
word-break:break-all;margin:0}.muted{color:#777}#live{float:right;color:#777}
"""
MAX_LIVE_ROWS = 200
"""Live exams listed on the page, newest first (``/dashboard/api/state`` has them all)."""
CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""Sent with every page: only the monitor's own script runs, and nothing loads from elsewhere."""


def origin_hash(origin: str) -> str:
    """The hex SHA-256 of an origin: how URLs name a log (as ``/mirror/{hash}/checkpoint``)."""
    return hashlib.sha256(origin.encode()).hexdigest()


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _time(ms: int | None) -> str:
    if ms is None or ms <= 0:
        return '<span class="muted">never</span>'
    when = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return f'<time datetime="{when.isoformat()}">{when:%Y-%m-%d %H:%M:%S} UTC</time>'


def _level(level: str) -> str:
    colour = LEVEL_COLOURS[level]
    return f'<span class="level level-{_e(level)}" style="background:{colour}">{_e(level)}</span>'


def _document(title: str, body: str, version: str = "") -> str:
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<style>{STYLE}</style>"
        f'<script src="/dashboard/dashboard.js" defer></script></head>'
        f'<body data-version="{_e(version)}">{body}</body></html>'
    )


def page(s: Snapshot) -> str:
    """The dashboard: a header, then the panels the script replaces as they change."""
    body = (
        f'<span id="live">live</span><h1>Monitoring centre</h1><div id="panels">{panels(s)}</div>'
    )
    return _document("Monitoring centre", body, s.version)


def panels(s: Snapshot) -> str:
    """Everything that changes, as one fragment (the script swaps it in when ``version``
    moves)."""
    return "".join(
        [
            f'<p class="muted">As of {_time(s.now_ms)}.</p>',
            _warning_counts(s),
            _warnings(s.warnings),
            _centres(s),
            _live_exams(s),
            _rooms(s),
            "<h2>Pass rates by examiner</h2>",
            '<p class="muted">Dot: observed pass rate; shaded: the band (±2 sd) the committed '
            "allocations and the schools' results with other examiners predict; tick: the "
            "expected rate.</p>",
            pass_band_chart(s.bands),
            "<h2>Warnings over time</h2>",
            '<p class="muted">Signals per day, coloured by the lowest level their source '
            "reaches on its own.</p>",
            timeline_chart(s.timeline),
        ]
    )


def _warning_counts(s: Snapshot) -> str:
    counts = "".join(
        f'<span id="open-{level}">{_level(level)} {s.open_by_level[level]}</span>'
        for level in reversed(LEVELS)
    )
    return f'<h2>Open warnings</h2><p class="counts">{counts}</p>'


def _warnings(warnings: Iterable[GradedWarning]) -> str:
    rows = [
        f'<tr class="warning" data-level="{_e(w.level)}" data-id="{_e(w.id)}">'
        f"<td>{_level(w.level)}</td><td>{w.points}</td><td>{_e(w.status)}</td>"
        f"<td>{_e(w.subject.kind)} <b>{_e(w.subject.name)}</b><br>"
        f'<span class="muted">{_e(w.subject.centre)}</span></td>'
        f"<td>{_e(w.signals[-1].message) if w.signals else ''}</td>"
        f'<td><a class="evidence" href="/dashboard/warnings/{_e(w.id)}">'
        f"{len(w.entries)} {'entry' if len(w.entries) == 1 else 'entries'}</a></td></tr>"
        for w in warnings
    ]
    if not rows:
        return '<p class="empty" id="warnings">No warnings.</p>'
    return (
        '<table id="warnings"><tr><th>level</th><th>points</th><th>status</th><th>about</th>'
        "<th>latest signal</th><th>evidence</th></tr>" + "".join(rows) + "</table>"
    )


def _centres(s: Snapshot) -> str:
    rows = []
    for c in s.centres:
        behind = c.tree_size - c.entries
        finding = (
            f'<span class="bad">{c.findings} ({_e(c.newest_finding)})</span>'
            if c.findings
            else '<span class="ok">none</span>'
        )
        rows.append(
            f'<tr class="centre"><td><b>{_e(c.origin)}</b><br>'
            f'<span class="muted">{_e(c.url or "")}</span></td>'
            f"<td>{c.tree_size}</td><td><code>{_e(c.root_hash[:16])}…</code></td>"
            f"<td>{c.entries}{f' ({behind} to fetch)' if behind else ''}</td>"
            f"<td>{_e(c.mirror_cosigned if c.mirror_cosigned is not None else '—')}</td>"
            f"<td>{_e(c.witness_cosigned if c.witness_cosigned is not None else '—')}</td>"
            f"<td>{_time(c.last_contact_ms)}</td><td>{finding}</td>"
            f'<td><a href="/mirror/{origin_hash(c.origin)}/checkpoint">checkpoint</a></td></tr>'
        )
    if not rows:
        return '<h2>Centres</h2><p class="empty">No centre is watched yet.</p>'
    return (
        '<h2>Centres</h2><table id="centres"><tr><th>centre</th><th>verified size</th>'
        "<th>root</th><th>entries held</th><th>mirror cosigned</th><th>witness cosigned</th>"
        "<th>last answered</th><th>findings</th><th></th></tr>" + "".join(rows) + "</table>"
    )


def _live_exams(s: Snapshot) -> str:
    exams = [(origin, x) for origin, survey in s.surveys.items() for x in survey.live]
    rows = [
        f'<tr class="exam"><td>{_e(origin)}</td><td>{_e(x.exam)}</td><td>{_e(x.session)}</td>'
        f"<td>{_e(x.examiner_tablet)}</td><td>{_time(x.started_ms)}</td>"
        f'<td><a href="/dashboard/entries/{origin_hash(origin)}/{x.started_index}">'
        f"#{x.started_index}</a></td></tr>"
        for origin, x in sorted(exams, key=lambda e: -e[1].started_ms)[:MAX_LIVE_ROWS]
    ]
    if not rows:
        return '<h2>Live exams</h2><p class="empty" id="live-exams">No exam under way.</p>'
    more = len(exams) - len(rows)
    return (
        f'<h2>Live exams ({len(exams)})</h2><table id="live-exams"><tr><th>centre</th>'
        "<th>exam</th><th>session</th><th>tablet</th><th>started</th><th>entry</th></tr>"
        + "".join(rows)
        + "</table>"
        + (
            f'<p class="muted">and {more} more started earlier (all in the JSON).</p>'
            if more
            else ""
        )
    )


def _rooms(s: Snapshot) -> str:
    rows = []
    for origin, survey in s.surveys.items():
        for room in survey.rooms:
            if room.gate_allowed is None:
                gate = '<span class="muted">no decision yet</span>'
            elif room.gate_allowed:
                gate = f'<span class="ok">allowed</span> {_time(room.gate_ms)}'
            else:
                reasons = "; ".join(room.gate_reasons)
                gate = f'<span class="bad">refused</span> {_time(room.gate_ms)}<br>{_e(reasons)}'
            devices = "".join(
                f"<li><b>{_e(d.device)}</b> ({_e(d.kind)}): "
                f'<span class="{"ok" if d.link == "ONLINE" and not d.alarms else "bad"}">'
                f"{_e(d.link)}</span> {_e(d.state)}"
                f"{' — ' + _e(', '.join(sorted(d.alarms))) if d.alarms else ''}"
                f' <span class="muted">#{d.last_index}</span></li>'
                for d in sorted(room.devices.values(), key=lambda d: d.device)
            )
            rows.append(
                f'<tr class="room"><td>{_e(origin)}</td><td>{_e(room.room)}</td>'
                f"<td>{gate}</td><td><ul>{devices}</ul></td></tr>"
            )
    if not rows:
        return '<h2>Device health</h2><p class="empty">No room has reported yet.</p>'
    return (
        '<h2>Device health</h2><table id="rooms"><tr><th>centre</th><th>room</th>'
        "<th>gate</th><th>devices</th></tr>" + "".join(rows) + "</table>"
    )


def _fields(event: Mapping[str, Any] | None) -> str:
    if event is None:
        return '<span class="bad">does not decode</span>'
    rows = "".join(
        f'<tr><th>{_e(k)}</th><td class="field" data-field="{_e(k)}"><pre>'
        f"{_e(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))}</pre>"
        f"{_time(v) if k == 'ts' and isinstance(v, int) and 0 < v < 2**53 else ''}</td></tr>"
        for k, v in event.items()
    )
    return f'<table class="fields">{rows}</table>'


def _proof_result(p: EntryProof) -> str:
    if p.verified:
        return (
            f'<span class="verify-result ok">verified: included in the checkpoint of size '
            f"{p.tree_size}, signed by the centre</span>"
        )
    return f'<span class="verify-result bad">not verified: {_e(p.problem)}</span>'


def _centre_proof(p: EntryProof, centre_url: str | None) -> str:
    query = f"/proof/inclusion?index={p.index}&size={p.tree_size or ''}"
    if centre_url is None or not centre_url.startswith(("http://", "https://")):
        return f"<code>{_e(query)}</code>"
    return f'<a class="centre-proof" href="{_e(centre_url + query)}">{_e(query)}</a>'


def _entry_block(p: EntryProof, centre_url: str | None) -> str:
    href = f"/dashboard/entries/{origin_hash(p.origin)}/{p.index}"
    api = f"/dashboard/api/entries/{origin_hash(p.origin)}/{p.index}"
    return (
        f'<section class="entry" id="entry-{p.index}" data-index="{p.index}">'
        f'<h3>Entry <a class="entry-index" href="{href}">#{p.index}</a> of {_e(p.origin)}</h3>'
        f"{_fields(p.event)}"
        f'<p>{_proof_result(p)} <button class="verify" type="button" data-url="{api}">'
        f'verify again</button> <span class="verify-live"></span></p>'
        f'<p class="muted">leaf hash <code>{_e(p.leaf_hash or "")}</code>; the centre\'s own '
        f"proof: {_centre_proof(p, centre_url)}</p></section>"
    )


def warning_page(
    w: GradedWarning, proofs: Iterable[EntryProof], centre_url: str | None = None
) -> str:
    """One warning with its evidence: its signals and every entry they cite, decoded, proved
    (``centre_url``: where the centre serves its log, to ask it for the same proof)."""
    signals = "".join(
        f'<tr class="signal"><td>{_e(sig.source)}</td><td>{_time(sig.at_ms)}</td>'
        f"<td>{_e(sig.message)}</td><td>{_e(', '.join(f'#{i}' for i in sig.entries))}</td></tr>"
        for sig in w.signals
    )
    actions = "".join(
        f"<li>{_e(a.action)} by {_e(a.actor)} at {_time(a.at_ms)}: {_e(a.why)} "
        f'<span class="muted">(entry #{a.log_index} of the monitor\'s log)</span></li>'
        for a in w.actions
    )
    body = (
        '<p><a href="/dashboard">← dashboard</a></p>'
        f'<h1 id="warning" data-level="{_e(w.level)}">{_level(w.level)} warning about '
        f"{_e(w.subject.kind)} {_e(w.subject.name)}</h1>"
        f"<p>Centre {_e(w.subject.centre)}; {w.points} points; {_e(w.status)}; id "
        f"<code>{_e(w.id)}</code>.</p>"
        '<h2>Signals</h2><table id="signals"><tr><th>source</th><th>when</th><th>what</th>'
        f"<th>entries</th></tr>{signals}</table>"
        f"{'<h2>Acts</h2><ul>' + actions + '</ul>' if actions else ''}"
        "<h2>Evidence</h2>" + "".join(_entry_block(p, centre_url) for p in proofs)
    )
    return _document(f"{w.level} warning", body)


def entry_page(p: EntryProof, centre_url: str | None = None) -> str:
    """One mirrored entry, decoded, with its inclusion proof checked."""
    proof = "".join(f"<li><code>{_e(h)}</code></li>" for h in p.proof)
    body = (
        '<p><a href="/dashboard">← dashboard</a></p>'
        + _entry_block(p, centre_url)
        + f'<h2>Checkpoint</h2><pre id="checkpoint">{_e(p.checkpoint or "")}</pre>'
        + f"<h2>Inclusion proof</h2><ol>{proof}</ol>"
    )
    return _document(f"entry {p.index}", body)
