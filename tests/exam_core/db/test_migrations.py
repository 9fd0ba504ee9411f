"""The Alembic migration builds exactly the models' schema, with the append-only triggers."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Column, Engine, MetaData, String, Table, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from exam_core import db
from exam_core.centre.store import LogStore
from exam_core.db import (
    APPEND_ONLY_TABLES,
    EXAM_DAY_TABLES,
    MIRROR_TABLES,
    MONITORING_TABLES,
    WARNING_TABLES,
    Base,
    upgrade,
)
from exam_core.db.migrate import HEAD, alembic_config, downgrade
from exam_core.log.entry import make_entry
from exam_core.log.note import Ed25519Signer

ALL_TABLES = (
    set(APPEND_ONLY_TABLES)
    | set(EXAM_DAY_TABLES)
    | set(MONITORING_TABLES)
    | set(MIRROR_TABLES)
    | set(WARNING_TABLES)
)


def trigger_names(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        else:
            rows = conn.execute(
                text(
                    "SELECT tgname FROM pg_trigger t JOIN pg_class c ON t.tgrelid = c.oid "
                    "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
                )
            )
        return {str(r[0]) for r in rows}


def test_models_match_the_migration(engine: Engine) -> None:
    upgrade(engine)
    # `alembic check`: autogenerate finds nothing to add, drop or alter.
    command.check(alembic_config(engine))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        assert MigrationContext.configure(conn).get_current_revision() == HEAD
    assert set(inspect(engine).get_table_names()) >= (ALL_TABLES)


def test_single_head_is_the_one_code_expects(engine: Engine) -> None:
    assert ScriptDirectory.from_config(alembic_config(engine)).get_heads() == [HEAD]


def test_migration_installs_triggers_and_downgrade_removes_everything(engine: Engine) -> None:
    upgrade(engine)
    upgrade(engine)  # a second run is a no-op
    names = trigger_names(engine)
    for table in APPEND_ONLY_TABLES:
        assert any(name.startswith(table) for name in names), table
    downgrade(engine, "base")
    assert not set(inspect(engine).get_table_names()) & (ALL_TABLES)
    assert trigger_names(engine) == set()
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO log_entries (idx, data) VALUES (0, :d)"), {"d": b"x"})
    with pytest.raises(SQLAlchemyError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM log_entries"))


def test_check_fails_on_an_unmigrated_database_and_on_drift(engine: Engine) -> None:
    with pytest.raises(CommandError, match="not up to date"):
        command.check(alembic_config(engine))
    upgrade(engine)
    drifted = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(drifted)
    Table("log_entries", drifted, Column("note", String(10)), extend_existing=True)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), drifted)
    assert [d[0] for d in diff] == ["add_column"]


def test_db_package_api() -> None:
    assert sorted(db.__all__) == [
        "APPEND_ONLY_TABLES",
        "ApiToken",
        "Base",
        "EXAM_DAY_TABLES",
        "LogCheckpoint",
        "LogCosignature",
        "LogEntry",
        "LogNode",
        "MIRROR_TABLES",
        "MONITORING_TABLES",
        "WARNING_TABLES",
        "WRITE_LOCK_OPTION",
        "make_engine",
        "upgrade",
    ]
    for name in db.__all__:
        assert getattr(db, name) is not None


def test_0009_keys_the_logged_entries_by_actor_and_seq(engine: Engine) -> None:
    """A log written before 0009 is filled in, so its entries are found by actor and seq; the
    hash index over every tree node goes, and comes back on a downgrade."""
    signer = Ed25519Signer.generate("test/a")
    entries = [
        make_entry(
            signer,
            {"v": 1, "log": "o", "type": "demo.event", "ts": 1, "actor": "test/a", "seq": n},
        )
        for n in (1, 2)
    ] + [b"altered, not an entry"]
    upgrade(engine, "0008")
    with engine.begin() as conn:
        for idx, data in enumerate(entries):
            conn.execute(
                text("INSERT INTO log_entries (idx, data) VALUES (:i, :d)"), {"i": idx, "d": data}
            )
    assert "ix_log_nodes_leaf_hash" in {i["name"] for i in inspect(engine).get_indexes("log_nodes")}
    upgrade(engine)
    store = LogStore(engine)
    assert [store.find_entry(e) for e in entries] == [0, 1, None]
    assert inspect(engine).get_indexes("log_nodes") == []
    downgrade(engine, "0008")
    assert "log_actor_seqs" not in inspect(engine).get_table_names()
    assert "ix_log_nodes_leaf_hash" in {i["name"] for i in inspect(engine).get_indexes("log_nodes")}
