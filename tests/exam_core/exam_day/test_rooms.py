"""Room configurations: checked as a whole, signed by an administrator, copied into the database."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from exam_core.centre.centre import Centre
from exam_core.db import upgrade
from exam_core.errors import EntryError, ExamDayError
from exam_core.exam_day.room_rows import load_room, save_room
from exam_core.exam_day.rooms import (
    ROOM_CONFIGURED,
    RoomConfig,
    parse_room_configuration,
    room_configured_fields,
)
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
