"""The monitoring centre's own log, where acting on a warning is a signed entry.

A warning acknowledged or closed changes what people are told, so the act is on the record as
every act in a centre is: an entry in a signed, tamper-evident log (the same machinery as a
centre's, ``exam_core.centre``), signed by the key of the person on duty, saying why
(``warning.acknowledged`` / ``warning.closed``, ``exam_core.log.schemas.warnings``).

The log lives in the monitor's directory under ``log/`` (a centre directory: its own
``centre.json``, keys and SQLite database), with origin ``<monitor name>/log``.  It is created
on first use.  A person's key is ``<origin>/duty/<name>``, made and registered (role ``duty``)
by the log's administrator the first time that person acts; each later act is signed with it.
Its entries export and audit like any centre's (``examctl log export --dir DIR/log``).

The database rows of ``exam_core.monitoring.warning_store`` are a copy of these entries:
``sync_actions`` copies any entry not yet copied (an act interrupted between the two is
completed on the next call), so the log is the record.
"""

from __future__ import annotations

import re
from pathlib import Path

from exam_core.centre.centre import Centre
from exam_core.errors import WarningsError
from exam_core.log.entry import parse_entry
from exam_core.log.schemas.types import DUTY
from exam_core.monitoring.warning_store import WarningStore
from exam_core.monitoring.warnings import (
    ACKNOWLEDGED,
    CLOSED,
    GradedWarning,
    WarningAction,
    signals_digest,
)

__all__ = ["DESK_DIR", "act_on_warning", "desk_origin", "open_desk_log", "sync_actions"]

DESK_DIR = "log"
MAX_WHY = 2000
_TYPES = {ACKNOWLEDGED: "warning.acknowledged", CLOSED: "warning.closed"}
_ACTIONS = {v: k for k, v in _TYPES.items()}
_PERSON = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def desk_origin(monitor_name: str) -> str:
    """The origin of the monitoring centre's own log."""
    return f"{monitor_name}/log"


def open_desk_log(
    root: Path | str, monitor_name: str, *, passphrase: bytes | None = None
) -> Centre:
    """Open the monitor's own log in ``root/log``, creating it on first use.

    Raises:
        StoreError: the log cannot be created or opened.
        KeyFormatError: a key file cannot be read.
    """
    path = Path(root) / DESK_DIR
    if (path / "centre.json").exists():
        return Centre.open(path, passphrase=passphrase)
    return Centre.create(path, desk_origin(monitor_name), passphrase=passphrase, max_age_ms=5)


def _officer(desk: Centre, by: str) -> str:
    """The key name of ``by`` on duty, made and registered the first time ``by`` acts.

    Raises:
        WarningsError: ``by`` is not one segment of a key name (letters, digits, ``.-_``).
    """
    if _PERSON.fullmatch(by) is None:
        raise WarningsError(
            f"--by {by!r} is not a name on duty: 1-64 letters, digits, '.', '-' or '_', "
            "starting with a letter or digit"
        )
    name = desk.key_name(f"duty/{by}")
    if name not in desk.sequencer.registry_view.registry.keys:
        desk.register_key(name, DUTY)
    return name


def act_on_warning(
    desk: Centre, store: WarningStore, warning: GradedWarning, action: str, *, by: str, why: str
) -> WarningAction:
    """Sign ``action`` (acknowledged or closed) on ``warning`` as ``by``, saying ``why``.

    The entry is appended and published first, then copied into ``store``.

    Raises:
        RuntimeError: ``action`` is neither (a caller bug).
        WarningsError: an empty or overlong reason, or an unusable name.
        StoreError: the log or the database cannot be written.
    """
    if action not in _TYPES:
        raise RuntimeError(f"no action {action!r}")
    why = why.strip()
    if not why:
        raise WarningsError("say why (--why): an action on a warning is on the record")
    if len(why) > MAX_WHY:
        raise WarningsError(f"--why is {len(why)} characters; at most {MAX_WHY}")
    signer = desk.signer(_officer(desk, by))
    fields = {
        "warning": warning.id,
        "subject": {
            "kind": warning.subject.kind,
            "centre": warning.subject.centre,
            "name": warning.subject.name,
        },
        "level": warning.level,
        "points": warning.points,
        "signals": len(warning.signals),
        "signals_sha256": signals_digest(s.id for s in warning.signals),
        "why": why,
    }
    desk.append(signer, _TYPES[action], fields)
    sync_actions(desk, store)
    recorded = [a for a in store.actions() if a.warning == warning.id]
    return recorded[-1]


def sync_actions(desk: Centre, store: WarningStore, start: int = 0) -> int:
    """Copy every action entry of the monitor's log from ``start`` into ``store``; how many.

    Raises:
        StoreError: the log or the database cannot be read or written.
    """
    size = desk.store.size()
    copied = 0
    for offset, data in enumerate(desk.store.entries(start, size)):
        event = parse_entry(data).event
        action = _ACTIONS.get(str(event["type"]))
        if action is None:
            continue
        store.record_action(
            WarningAction(
                warning=str(event["warning"]),
                action=action,
                actor=str(event["actor"]),
                why=str(event["why"]),
                level=str(event["level"]),
                points=int(event["points"]),
                at_ms=int(event["ts"]),
                signals=int(event["signals"]),
                signals_sha256=str(event["signals_sha256"]),
                log_index=start + offset,
            )
        )
        copied += 1
    return copied
