"""Alembic migrations of the store, run programmatically (no alembic.ini): see
scanner.app.store.api.Store.migrate. `env.py` expects the connection in the config's attributes."""
