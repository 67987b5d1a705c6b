"""Alembic's environment: runs the migrations on the connection Store.migrate hands over, inside
its transaction (which holds the advisory lock), against the models' metadata. Only the online
mode exists: the store is migrated by the control side, on its own connection."""

from __future__ import annotations

from alembic import context

from scanner.app.store.tables import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
