"""Alembic environment: runs the migrations on the engine that ``exam_core.db`` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from exam_core.db import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if not isinstance(engine, Engine):
        raise RuntimeError("migrations are run through exam_core.db.upgrade, with an engine")
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
