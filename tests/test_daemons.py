"""The real servers of tests/daemons.py keep to loopback and to their own folders, run as the
user they should, and are gone, folder and all, once stopped by their PID."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.daemons import LOOPBACK, SERVER_TIMEZONE, DaemonUnavailable, Postgres, Redis

pytest_plugins = ["tests.daemonfixtures"]  # the fixtures `postgres_server`, `redis_server`, `redis`


def redis_says(port: int, command: str) -> str:
    """One inline command to redis-server and its reply, read raw (no client library needed)."""
    with socket.create_connection((LOOPBACK, port), timeout=5) as s:
        s.sendall(command.encode() + b"\r\n")
        return s.recv(4096).decode()


def uid_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])


def test_redis_answers_on_loopback_with_its_append_only_file(redis_server, redis):
    """As docs/zones.md requires of a broker: no snapshots, every command in the append-only file."""
    assert redis == f"redis://{LOOPBACK}:{redis_server.port}/0"
    assert redis_says(redis_server.port, "PING") == "+PONG\r\n"
    assert LOOPBACK in redis_says(redis_server.port, "CONFIG GET bind")
    assert redis_says(redis_server.port, "CONFIG GET save").endswith("$0\r\n\r\n")  # no snapshots
    assert "yes" in redis_says(redis_server.port, "CONFIG GET appendonly")
    assert "always" in redis_says(redis_server.port, "CONFIG GET appendfsync")


def test_redis_restarts_on_its_port_with_its_queues():
    """restart(): stopped by its PID, started again on the same port and folder, the data kept;
    without the append-only file the same restart loses it."""
    for persist, kept in ((True, ":1"), (False, ":0")):
        try:
            server = Redis(persist=persist)
        except DaemonUnavailable as exc:
            pytest.skip(str(exc))
        with server:
            port, pid = server.port, server.proc.pid
            assert redis_says(port, "RPUSH zone.edge task") == ":1\r\n"
            server.restart(down_seconds=0.5)
            assert (server.port, server.folder.is_dir()) == (port, True) and server.proc.pid != pid
            assert redis_says(port, "LLEN zone.edge") == kept + "\r\n"


def test_postgres_runs_as_the_postgres_user_on_loopback_with_its_socket_in_its_folder(postgres_server, postgres):
    psycopg = pytest.importorskip("psycopg", reason="the `zones` extra is not installed")
    assert postgres.startswith(f"postgresql+psycopg://readyscan:{postgres_server.password}@{LOOPBACK}:")
    assert uid_of(postgres_server.proc.pid) == postgres_server.account.pw_uid != 0
    with psycopg.connect(host=LOOPBACK, port=postgres_server.port, user="readyscan", dbname="postgres",
                         password=postgres_server.password, connect_timeout=10) as conn:
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0]
                    for name in ("listen_addresses", "unix_socket_directories", "data_directory", "TimeZone")}
    assert settings["listen_addresses"] == LOOPBACK
    assert Path(settings["unix_socket_directories"]).parent == postgres_server.folder
    assert Path(settings["data_directory"]).parent == postgres_server.folder
    assert settings["TimeZone"] == SERVER_TIMEZONE != "UTC"  # so a test sees a store that trusts the server's zone


def test_postgres_refuses_a_wrong_password(postgres_server):
    psycopg = pytest.importorskip("psycopg", reason="the `zones` extra is not installed")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(host=LOOPBACK, port=postgres_server.port, user="readyscan", dbname="postgres",
                        password="wrong", connect_timeout=10)


@pytest.mark.parametrize("kind", [Redis, Postgres])
def test_a_stopped_server_is_gone_with_its_folder(kind):
    try:
        server = kind()
    except DaemonUnavailable as exc:
        pytest.skip(str(exc))
    with server:
        pid, folder, port = server.proc.pid, server.folder, server.port
        assert folder.is_dir() and os.path.exists(f"/proc/{pid}")
    assert server.proc.returncode is not None and not folder.exists()
    with pytest.raises(OSError), socket.create_connection((LOOPBACK, port), timeout=2):
        pass
