"""Bring a database to the current schema with Alembic, from code.

The Alembic configuration is built here rather than read from an ``alembic.ini``, so that an
installed package (where no ini file sits beside the code) migrates its database the same way a
checkout does.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

import migrations
from exam_core.db.failures import store_error

HEAD = "0010"


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration that runs the packaged migrations on ``engine``."""
    config = Config()
    # __path__ rather than __file__: an editable install may expose the folder as a namespace.
    config.set_main_option("script_location", str(Path(next(iter(migrations.__path__)))))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to ``revision``."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Undo migrations down to ``revision`` (``base`` removes the log tables)."""
    command.downgrade(alembic_config(engine), revision)


def upgrade_store(engine: Engine, database: str) -> None:
    """``upgrade`` as a store opens: a failure is the store's one ``StoreError``, naming the
    ``database`` it could not migrate.

    Raises:
        StoreError: the tables cannot be created or upgraded.
    """  # noqa: DOC501 - ``store_error`` builds the StoreError named above
    try:
        upgrade(engine)
    except SQLAlchemyError as e:
        raise store_error(f"cannot migrate the {database}", e) from e
