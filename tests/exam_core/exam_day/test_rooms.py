"""Room configurations: checked as a whole, signed by an administrator, copied into the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from exam_core.centre.blobs import BlobStore
from exam_core.centre.centre import Centre
from exam_core.centre.store import LogStore
from exam_core.db import upgrade
from exam_core.errors import EntryError, ExamDayError
from exam_core.exam_day.day import ExamDay
from exam_core.exam_day.day_guard import DayGuard
from exam_core.exam_day.room_rows import load_room, save_room
from exam_core.exam_day.rooms import (
    ROOM_CONFIGURED,
    RoomConfig,
    check_room_gateway,
    parse_room_configuration,
    room_configured_fields,
)
from exam_core.exam_day.steps import Step
from exam_core.log.entry import parse_entry
from exam_core.log.schemas.types import GATEWAY, TABLET
from tests.conftest import ORIGIN

GATEWAY_KEY = f"{ORIGIN}/gateway/g1"


def fields(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "room": "field-1",
        "kind": "field",
        "gateway": GATEWAY_KEY,
        "jammers": [{"device": "field-1/jammer", "bands": [3, 1, 2]}],
        "detectors": ["field-1/detector"],
        "canaries": ["field-1/canary"],
        "max_age_ms": 2000,
    }
    base.update(changes)
    return base


def test_a_configuration_parses_and_lays_out_canonically() -> None:
    config = parse_room_configuration(fields(), ORIGIN)
    assert config.jammers == {"field-1/jammer": frozenset({1, 2, 3})}
    assert config.devices == {"field-1/jammer", "field-1/detector", "field-1/canary"}
    laid_out = room_configured_fields(config)
    assert laid_out == fields(jammers=[{"device": "field-1/jammer", "bands": [1, 2, 3]}])
    assert parse_room_configuration(laid_out, ORIGIN) == config


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"jammers": [], "detectors": [], "canaries": []}, "at least one device"),
        ({"detectors": ["field-1/jammer"]}, "a device is named twice"),
        ({"canaries": ["c", "c"]}, "a device is named twice"),
        ({"jammers": [{"device": "j", "bands": [1, 1]}]}, "a band is named twice"),
        ({"jammers": [{"device": "j", "bands": [0]}]}, "jammers[0].bands[0]"),
        ({"jammers": [{"device": "j", "bands": [19]}]}, "jammers[0].bands[0]"),
        ({"jammers": [{"device": "j", "bands": []}]}, "jammers[0].bands"),
        ({"jammers": [{"device": "j", "bands": [1], "power": 3}]}, "unknown field"),
        ({"gateway": "other.example/gateway/g1"}, "is not a key under"),
        ({"kind": "hall"}, "kind"),
        ({"max_age_ms": 2000.0}, "max_age_ms"),
        ({"max_age_ms": 0}, "max_age_ms"),
        ({"room": "张三的考场"}, "room"),
        ({"colour": "red"}, "unknown field"),
    ],
)
def test_unusable_configurations_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ExamDayError, match="room_config") as caught:
        parse_room_configuration(fields(**changes), ORIGIN)
    assert message in str(caught.value)


def test_missing_fields_are_refused() -> None:
    for name in fields():
        doc = fields()
        del doc[name]
        with pytest.raises(ExamDayError, match=f"{name}: missing"):
            parse_room_configuration(doc, ORIGIN)


def test_only_an_administrator_signs_a_configuration(centre: Centre) -> None:
    tablet = centre.register_key("tablet/T1", TABLET)
    with pytest.raises(EntryError, match="role_forbidden"):
        centre.append(tablet, ROOM_CONFIGURED, fields())
    gateway = centre.register_key("gateway/g1", GATEWAY)
    with pytest.raises(EntryError, match="role_forbidden"):
        centre.append(gateway, ROOM_CONFIGURED, fields())
    index = centre.append(centre.admin(), ROOM_CONFIGURED, fields())
    entry = parse_entry(centre.store.entry(index))
    assert entry.type == ROOM_CONFIGURED
    assert entry.actor == centre.admin().name


ADMIN_KEY = f"{ORIGIN}/admin"
NOT_REGISTERED = f"gateway {GATEWAY_KEY} is not a registered key"
REVOKED = f"gateway {GATEWAY_KEY} is a revoked key"
WRONG_ROLE = f"gateway {GATEWAY_KEY} is a tablet key, not a gateway key"


def _step(index: int, type_: str, /, **event_fields: object) -> Step:
    event = {"v": 1, "log": ORIGIN, "type": type_, "ts": 0, "actor": ADMIN_KEY, "seq": index + 1}
    return Step(index, type_, ADMIN_KEY, 0, event | event_fields)


def _refusal(day: ExamDay, index: int) -> str:
    """Why the day refuses the room's configuration at ``index`` (checked and applied alike)."""
    before = dict(day.rooms)
    with pytest.raises(ExamDayError) as caught:
        day.check(_step(index, ROOM_CONFIGURED, **fields()))
    assert caught.value.code == "room_gateway"
    with pytest.raises(ExamDayError):
        day.apply(_step(index, ROOM_CONFIGURED, **fields()))
    assert day.rooms == before
    return caught.value.message


def test_the_day_takes_a_room_only_for_a_registered_gateway_key() -> None:
    """The gateway must be registered, unrevoked and a gateway at the entry's place in the log."""
    day = ExamDay(ORIGIN)
    assert _refusal(day, 0).startswith(NOT_REGISTERED)
    day.apply(_step(1, "key.registered", name=GATEWAY_KEY, role="tablet", vkey="-"))
    assert _refusal(day, 2) == WRONG_ROLE

    day = ExamDay(ORIGIN)
    day.apply(_step(0, "key.registered", name=GATEWAY_KEY, role="gateway", vkey="-"))
    day.apply(_step(1, ROOM_CONFIGURED, **fields()))
    assert day.rooms["field-1"][1] == 1
    # Revoked afterwards: the configuration in force stays, a new one naming it is refused.
    day.apply(_step(2, "key.revoked", name=GATEWAY_KEY, reason="lost"))
    assert _refusal(day, 3) == REVOKED
    assert day.rooms["field-1"][1] == 1


def test_the_rule_reads_the_registry_as_it_reads_the_day(centre: Centre) -> None:
    """The administrator's command checks the registry with the same rule and words."""
    keys = centre.sequencer.registry_view.registry.keys
    with pytest.raises(ExamDayError, match=NOT_REGISTERED):
        check_room_gateway(GATEWAY_KEY, keys)
    centre.register_key("gateway/g1", TABLET)
    keys = centre.sequencer.registry_view.registry.keys
    with pytest.raises(ExamDayError, match=WRONG_ROLE):
        check_room_gateway(GATEWAY_KEY, keys)
    centre.revoke_key("gateway/g1", "registered with the wrong role")
    keys = centre.sequencer.registry_view.registry.keys
    with pytest.raises(ExamDayError, match=REVOKED):
        check_room_gateway(GATEWAY_KEY, keys)


def _guard(origin: str, _store: LogStore, blobs: BlobStore) -> DayGuard:
    return DayGuard(origin, blobs, None)


def test_a_guarded_centre_refuses_a_room_whose_gateway_is_not_a_gateway_key(
    db_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "centre"
    Centre.create(root, ORIGIN, database_url=db_url).close()
    with Centre.open(root, max_age_ms=5, guard=_guard) as centre:
        admin = centre.admin()
        size = centre.store.size()
        with pytest.raises(ExamDayError, match=NOT_REGISTERED):
            centre.append(admin, ROOM_CONFIGURED, fields())
        centre.register_key("gateway/g1", GATEWAY)
        index = centre.append(admin, ROOM_CONFIGURED, fields())
        assert index == size + 1
        centre.revoke_key("gateway/g1", "stolen")
        with pytest.raises(ExamDayError, match=REVOKED):
            centre.append(admin, ROOM_CONFIGURED, fields(max_age_ms=3000))
        size = centre.store.size()
    # Reopened, the day is rebuilt from the log: the revocation is remembered.
    with Centre.open(root, max_age_ms=5, guard=_guard) as centre:
        with pytest.raises(ExamDayError, match=REVOKED):
            centre.append(centre.admin(), ROOM_CONFIGURED, fields(max_age_ms=3000))
        assert centre.store.size() == size
        assert isinstance(centre.guard, DayGuard)
        assert centre.guard.day.rooms["field-1"][1] == index


def test_the_rows_copy_the_configuration_in_force(engine: Engine) -> None:
    upgrade(engine)
    first = parse_room_configuration(fields(), ORIGIN)
    second = RoomConfig(
        room="field-1",
        kind="field",
        gateway=GATEWAY_KEY,
        jammers={"field-1/jammer": frozenset({1, 2, 3, 4}), "field-1/jammer-b": frozenset({7})},
        detectors=frozenset(),
        canaries=frozenset({"field-1/canary"}),
        max_age_ms=1500,
    )
    with Session(engine) as db, db.begin():
        assert load_room(db, "field-1") is None
        save_room(db, first, 5)
    with Session(engine) as db, db.begin():
        assert load_room(db, "field-1") == (first, 5)
        save_room(db, second, 9)
    with Session(engine) as db, db.begin():
        assert load_room(db, "field-1") == (second, 9)
        with pytest.raises(RuntimeError, match="already holds configuration 9"):
            save_room(db, first, 7)
