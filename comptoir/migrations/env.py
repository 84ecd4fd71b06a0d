"""Alembic environment: the app's engine and metadata, for the core and every plugin branch."""

from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name is not None and not current_app.testing:
    # disable_existing_loggers=False: the app's own loggers must keep working afterwards.
    fileConfig(config.config_file_name, disable_existing_loggers=False)

migrate_ext = current_app.extensions["migrate"]
target_metadata = migrate_ext.db.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=str(migrate_ext.db.engine.url),
        target_metadata=target_metadata,
        literal_binds=True,
        **migrate_ext.configure_args,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with migrate_ext.db.engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, **migrate_ext.configure_args
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
