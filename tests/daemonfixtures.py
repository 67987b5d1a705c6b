"""Session fixtures over tests/daemons.py: `postgres` and `redis` yield the URL of a real server
on loopback, `postgres_server` and `redis_server` the server object (its port, its PID,
`create_database`). Each skips, saying why, when this machine cannot run the server.

Use them with ``pytest_plugins = ["tests.daemonfixtures"]`` in a test module.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.daemons import DaemonUnavailable, Postgres, Redis


def _serve(kind) -> Iterator:
    try:
        server = kind()
    except DaemonUnavailable as exc:
        pytest.skip(str(exc))
    with server:
        yield server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    """The session's PostgreSQL server (for tests that need their own database: create_database)."""
    yield from _serve(Postgres)


@pytest.fixture(scope="session")
def postgres(postgres_server: Postgres) -> str:
    """The URL of the session's PostgreSQL server (`postgresql+psycopg://…/postgres`)."""
    return postgres_server.url


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Redis]:
    yield from _serve(Redis)


@pytest.fixture(scope="session")
def redis(redis_server: Redis) -> str:
    """The URL of the session's redis-server (`redis://127.0.0.1:<port>/0`)."""
    return redis_server.url
