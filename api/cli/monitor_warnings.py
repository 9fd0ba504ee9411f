"""``examctl monitor warnings | ack | close``: the monitoring centre's graded warnings.

- ``monitor warnings --dir DIR [--json] [--at MS] [--recompute]``: every warning now (or at
  ``MS``), highest level first, with its points, status and evidence (the signals, each with
  the indexes of the entries of the centre's log that caused it; the newest ten in text, all
  with ``--json``);
  graded by the points table in ``DIR/warnings.json`` (or the default, docs/monitoring.md),
  which is refused with the offending key named when it breaks a rule.  ``--recompute`` first
  runs every centre's statistics over what the mirror handed to the warnings (the mirror runs
  them daily); a centre added without a token has no manifests and no statistics, which the
  listing says;
- ``monitor ack --dir DIR WARNING --by NAME --why TEXT`` and ``monitor close …``: acknowledge
  or close a warning (its id, or a prefix of at least 6 digits that names one warning) as a
  signed entry of the monitoring centre's own log; prints the entry's index.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from api.cli.log import passphrase, passphrase_option
from exam_core.errors import WarningsError
from exam_core.monitoring.centre_tokens import read_tokens
from exam_core.monitoring.desk_log import act_on_warning, open_desk_log, sync_actions
from exam_core.monitoring.home import Monitor, open_monitor
from exam_core.monitoring.mirror_feed import MirrorFeed
from exam_core.monitoring.points_table import load_points_table
from exam_core.monitoring.warning_store import WarningStore
from exam_core.monitoring.warnings import ACKNOWLEDGED, CLOSED, GradedWarning, grade

MIN_PREFIX = 6
SHOWN_SIGNALS = 10
"""The newest signals of a warning listed in text; ``--json`` lists every one."""


def register(actions: Any) -> None:
    """Add ``warnings``, ``ack`` and ``close`` to the ``monitor`` group's actions."""
    listing = actions.add_parser("warnings", help="the graded warnings, highest level first")
    listing.add_argument("--dir", required=True, type=Path, help="monitoring centre directory")
    listing.add_argument("--json", action="store_true", help="one JSON object, with evidence")
    listing.add_argument("--at", type=int, help="grade as of this time (ms since 1970)")
    listing.add_argument(
        "--recompute", action="store_true", help="run every centre's statistics first"
    )
    passphrase_option(listing)
    listing.set_defaults(run=run_warnings)
    for name, action, what in (
        ("ack", ACKNOWLEDGED, "acknowledge a warning (a signed entry of the monitor's log)"),
        ("close", CLOSED, "close a warning (a signed entry of the monitor's log)"),
    ):
        act = actions.add_parser(name, help=what)
        act.add_argument("--dir", required=True, type=Path, help="monitoring centre directory")
        act.add_argument("warning", metavar="WARNING", help="the warning's id or a prefix of it")
        act.add_argument("--by", required=True, help="who acts (their duty key is made once)")
        act.add_argument("--why", required=True, help="why, on the record")
        passphrase_option(act)
        act.set_defaults(run=run_act, action=action)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _graded(monitor: Monitor, now_ms: int) -> list[GradedWarning]:
    table = load_points_table(monitor.root)
    store = WarningStore(monitor.store.engine)
    signals = store.signals_since(now_ms - table.window_ms)
    return grade(signals, table, now_ms, store.actions())


def _as_json(w: GradedWarning) -> dict[str, object]:
    return {
        "id": w.id,
        "level": w.level,
        "points": w.points,
        "status": w.status,
        "subject": {"kind": w.subject.kind, "centre": w.subject.centre, "name": w.subject.name},
        "entries": list(w.entries),
        "signals": [
            {
                "id": s.id,
                "source": s.source,
                "at_ms": s.at_ms,
                "entries": list(s.entries),
                "examiner": s.examiner,
                "vehicle": s.vehicle,
                "message": s.message,
            }
            for s in w.signals
        ],
        "actions": [
            {
                "action": a.action,
                "by": a.actor,
                "why": a.why,
                "level": a.level,
                "at_ms": a.at_ms,
                "log_index": a.log_index,
            }
            for a in w.actions
        ],
    }


def _printable(text: str) -> str:
    """One line whatever a centre's log put in a message (escapes controls)."""
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def run_warnings(args: argparse.Namespace) -> int:
    """Print the warnings.

    Raises:
        StoreError: the monitoring centre cannot be opened.
        WarningsError: its points table is refused.
    """
    with open_monitor(args.dir, passphrase=passphrase(args)) as monitor:
        now = args.at if args.at is not None else _now_ms()
        origins = [h.origin for h in monitor.mirror.store.heads()]
        tokens = read_tokens(monitor.root)
        untokened = [o for o in origins if o not in tokens]
        if args.recompute:
            feed = MirrorFeed(
                monitor.root,
                monitor.mirror.store,
                WarningStore(monitor.store.engine),
                load_points_table(monitor.root),
                tokens=tokens,
                silent_after_ms=monitor.config.mirror_silence_ms,
            )
            for origin in origins:
                feed.recompute(origin)
        warnings = _graded(monitor, now)
    if args.json:
        listing = {
            "at_ms": now,
            "warnings": [_as_json(w) for w in warnings],
            "no_statistics": untokened,
        }
        print(json.dumps(listing, indent=2))
        return 0
    for origin in untokened:
        print(
            f"no statistics for {_printable(origin)}: added without --token, so its manifests "
            "are not fetched"
        )
    if not warnings:
        print("no warnings")
    for w in warnings:
        who = (
            w.subject.centre
            if w.subject.kind == "centre"
            else f"{w.subject.kind} {w.subject.name} at {w.subject.centre}"
        )
        print(f"{w.id[:12]}  {w.level:<6}  {w.points:>5} points  {w.status:<12}  {_printable(who)}")
        for s in w.signals[-SHOWN_SIGNALS:]:
            entries = ",".join(map(str, s.entries)) or "-"
            print(f"    {s.source}  entries {entries}  {_printable(s.message)}")
        if len(w.signals) > SHOWN_SIGNALS:
            print(f"    … and {len(w.signals) - SHOWN_SIGNALS} earlier signals (--json lists all)")
    return 0


def _find(warnings: list[GradedWarning], wanted: str) -> GradedWarning:
    wanted = wanted.lower()
    if len(wanted) < MIN_PREFIX:
        raise WarningsError(f"name the warning by at least {MIN_PREFIX} digits of its id")
    found = [w for w in warnings if w.id.startswith(wanted)]
    if not found:
        raise WarningsError(f"no current warning {wanted!r} (examctl monitor warnings lists them)")
    if len(found) > 1:
        raise WarningsError(f"{wanted!r} names {len(found)} warnings; give more digits")
    return found[0]


def run_act(args: argparse.Namespace) -> int:
    """Acknowledge or close a warning as a signed entry of the monitor's own log.

    Raises:
        StoreError: the monitoring centre or its log cannot be opened or written.
        WarningsError: no such warning, an empty reason or an unusable name.
    """
    secret = passphrase(args)
    with open_monitor(args.dir, passphrase=secret) as monitor:
        store = WarningStore(monitor.store.engine)
        warning = _find(_graded(monitor, _now_ms()), args.warning)
        with open_desk_log(monitor.root, monitor.config.name, passphrase=secret) as desk:
            sync_actions(desk, store)
            action = act_on_warning(desk, store, warning, args.action, by=args.by, why=args.why)
    done = f"{action.action} {warning.id} ({warning.level}) by {action.actor}"
    print(f"{done}: entry {action.log_index} of {desk.origin}")
    return 0
