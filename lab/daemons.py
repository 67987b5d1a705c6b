"""Real PostgreSQL and Redis servers on loopback for the tests of the distributed mode.

- `Postgres`: the Debian `postgresql` package's server (major version 15), in its own temporary
  data folder made by initdb. initdb and the server refuse to run as root, so both run as the
  `postgres` system user: the data folder is owned by it and the processes are started with
  Popen's `user=`/`group=`, so the PID we hold is the postmaster's own and not a wrapper's
  (runuser would stand between us and the server). It listens on 127.0.0.1 only, with a password
  (scram-sha-256) over TCP, and its unix socket lives in the temporary folder, never in
  /var/run/postgresql. Durability is off (fsync): a test database is thrown away.
- `Redis`: the Debian `redis-server` package's server, with its own temporary folder, bound to
  127.0.0.1, no snapshots (`--save ''`) and, as docs/zones.md requires of a broker, its
  append-only file written at every command (`--appendonly yes --appendfsync always`), so a
  restart keeps the queues; `persist=False` turns it off (what a broker without persistence
  loses). With `tls=make_tls(folder)`, TLS only (Debian's redis-server is built with TLS), its
  certificate from a test CA. `restart()` stops it by its PID and starts it again on the same
  port with the same folder: a broker restarted during a scan.

Both listen on a port the OS picks (bound to port 0, released, then given to the server; a server
that loses the race for it is started again on another) and are stopped by their PID, never by
name. The classes are plain context managers: `make demo-zones` (lab/zonedemo.py) and the benchmark
start their broker and store with them, and tests/daemonfixtures.py wraps them in session
fixtures that skip, saying why, when the machine cannot run them (not root, package missing).
Python's standard library only; tests/daemons.py adds a test CA for the TLS broker.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Self

LOOPBACK = "127.0.0.1"
PG_BIN = Path(os.environ.get("READYSCAN_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"  # the Debian package's system user
REDIS_SERVER = Path("/usr/bin/redis-server")
START_ATTEMPTS = 3  # a port the OS handed us may be taken by another test before our server binds it
START_TIMEOUT = 30.0
SERVER_TIMEZONE = "Asia/Ho_Chi_Minh"


class DaemonUnavailable(RuntimeError):
    """This machine cannot run the server (not root, package missing): tests skip with the reason."""


def free_port() -> int:
    """A loopback port the OS picks as free now (bind port 0). The caller retries on a lost race."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def stop_pid(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Stop one process we started, by its PID: `sig`, then SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


def _start_on_free_port(launch: Callable[[int, IO[bytes]], subprocess.Popen], ready: Callable[[int], bool],
                        what: str, log: Path) -> tuple[int, subprocess.Popen]:
    """Start a server on a free loopback port and wait until `ready(port)`; try another port when
    the one the OS picked was taken in between (the log says "Address already in use")."""
    for _ in range(START_ATTEMPTS):
        port = free_port()
        with log.open("wb") as out:
            proc = launch(port, out)
        deadline, up = time.monotonic() + START_TIMEOUT, False
        while not up and proc.poll() is None and time.monotonic() < deadline:
            up = ready(port)
            time.sleep(0 if up else 0.1)
        if up:
            return port, proc
        stop_pid(proc, signal.SIGKILL)
        if "Address already in use" not in _tail(log):
            raise RuntimeError(f"{what} on {LOOPBACK}:{port} did not start (exit {proc.returncode}): {_tail(log)}")
    raise RuntimeError(f"{what} found no free port in {START_ATTEMPTS} attempts: {_tail(log)}")


def _tail(log: Path, lines: int = 5) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _accepts(port: int, address: str = LOOPBACK) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


class Daemon:
    """A server process we start in a temporary folder of its own and stop by its PID."""

    stop_signal = signal.SIGTERM

    def __init__(self) -> None:
        self.port = 0
        self.folder: Path | None = None
        self.proc: subprocess.Popen | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        if self.proc is not None:
            stop_pid(self.proc, self.stop_signal)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


class Postgres(Daemon):
    """One PostgreSQL server in a temporary folder; `url` reaches its `postgres` database."""

    user = "readyscan"
    stop_signal = signal.SIGINT  # PostgreSQL's fast shutdown; SIGTERM would wait for every client to leave

    def __init__(self) -> None:
        if os.geteuid() != 0:
            raise DaemonUnavailable("PostgreSQL tests need root (the server runs as the postgres user)")
        missing = [name for name in ("initdb", "postgres", "pg_isready") if not (PG_BIN / name).is_file()]
        if missing:
            raise DaemonUnavailable(f"{', '.join(missing)} not found in {PG_BIN}: apt-get install postgresql")
        try:
            self.account = pwd.getpwnam(PG_USER)
        except KeyError:
            raise DaemonUnavailable(f"no '{PG_USER}' system user: apt-get install postgresql") from None
        super().__init__()
        self.password = secrets.token_urlsafe(16)

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}:{self.password}@{LOOPBACK}:{self.port}/{database}"

    def _as_postgres(self) -> dict:
        """Popen arguments that run a command as the postgres user, with no group of ours."""
        return {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": [],
                "env": {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": str(self.folder)}}

    def _own(self, path: Path) -> Path:
        os.chown(path, self.account.pw_uid, self.account.pw_gid)
        return path

    def start(self) -> Self:
        # Not pytest's tmp_path: its parents are 0700 root, which the postgres user cannot cross.
        self.folder = self._own(Path(tempfile.mkdtemp(prefix="readyscan-pg-")))
        (self.folder / "socket").mkdir(mode=0o700)
        self._own(self.folder / "socket")
        pwfile = self.folder / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        self._own(pwfile)
        log = self.folder / "initdb.log"
        with log.open("wb") as out:
            done = subprocess.run(
                [str(PG_BIN / "initdb"), "-D", str(self.folder / "data"), "-U", self.user,
                 f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=peer",
                 "-E", "UTF8", "--locale=C", "--no-sync"],
                stdout=out, stderr=subprocess.STDOUT, timeout=120, check=False, **self._as_postgres())
        pwfile.unlink()
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}): {_tail(log)}")
        self.port, self.proc = _start_on_free_port(self._launch, self._ready, "PostgreSQL", self.folder / "server.log")
        return self

    def _launch(self, port: int, out) -> subprocess.Popen:
        return subprocess.Popen(
            [str(PG_BIN / "postgres"), "-D", str(self.folder / "data"),
             "-c", f"listen_addresses={LOOPBACK}", "-c", f"port={port}",
             "-c", f"unix_socket_directories={self.folder / 'socket'}",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=50",
             # A province's zone, not UTC: the store must read times back in UTC whatever the server's.
             "-c", f"timezone={SERVER_TIMEZONE}"],
            stdout=out, stderr=subprocess.STDOUT, **self._as_postgres())

    @staticmethod
    def _ready(port: int) -> bool:
        # The port accepts before the server accepts logins; pg_isready asks the server itself.
        return subprocess.run([str(PG_BIN / "pg_isready"), "-q", "-h", LOOPBACK, "-p", str(port), "-t", "1"],
                              check=False, timeout=10).returncode == 0

    def create_database(self, name: str) -> str:
        """A new empty database (one per test keeps tests apart); its URL."""
        import psycopg  # the `zones` extra; the tests that need a database import it first

        with psycopg.connect(host=LOOPBACK, port=self.port, user=self.user, password=self.password,
                             dbname="postgres", autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)



@dataclass(frozen=True)
class Tls:
    ca: Path  # the test CA's certificate: what a client must trust
    cert: Path  # the server's, for IP 127.0.0.1 only (no name)
    key: Path


class Redis(Daemon):
    """One redis-server in a temporary folder; `url` reaches its database 0 (over TLS with `tls`).
    It keeps an append-only file (fsync on every write), as docs/zones.md asks of a broker, so a
    restart loses no queued task; `persist=False` runs it without, to show what that loses."""

    def __init__(self, tls: Tls | None = None, *, persist: bool = True, bind: str = LOOPBACK,
                 port: int | None = None, password: str | None = None) -> None:
        """`bind` and `port`: the lab's broker listens on its bridge address, on a port its zone
        firewall opens; tests take loopback and a port the OS picks."""
        if not REDIS_SERVER.is_file():
            raise DaemonUnavailable(f"{REDIS_SERVER} not found: apt-get install redis-server")
        super().__init__()
        self.tls, self.persist = tls, persist
        self.bind, self.fixed_port, self.password = bind, port, password

    @property
    def url(self) -> str:
        login = f":{self.password}@" if self.password else ""
        return f"{'rediss' if self.tls else 'redis'}://{login}{self.bind}:{self.port}/0"

    def start(self) -> Self:
        self.folder = Path(tempfile.mkdtemp(prefix="readyscan-redis-"))
        if self.fixed_port is None:
            self.port, self.proc = _start_on_free_port(self._launch, _accepts, "redis-server", self.folder / "server.log")
            return self
        self.port = self.fixed_port
        self._run("wb")
        return self

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop the server by its PID (SIGTERM: Redis's own shutdown, which writes the append-only
        file), stay down `down_seconds`, then start it on the same port with the same folder.
        The port was ours a moment ago; should another process take it meanwhile, this raises."""
        assert self.proc is not None and self.folder is not None
        stop_pid(self.proc, self.stop_signal)
        time.sleep(down_seconds)
        self._run("ab")

    def _run(self, mode: str) -> None:
        """Start on `self.port` and wait until it answers with its data loaded."""
        log = self.folder / "server.log"
        with log.open(mode) as out:
            self.proc = self._launch(self.port, out)
        deadline = time.monotonic() + START_TIMEOUT
        while self.proc.poll() is None and time.monotonic() < deadline:
            if _accepts(self.port, self.bind) and self._loaded():
                return
            time.sleep(0.1)
        raise RuntimeError(f"redis-server did not start on {self.bind}:{self.port}: {_tail(log)}")

    def _loaded(self) -> bool:
        """True once the server has read its append-only file back (it answers LOADING before)."""
        if self.tls is not None:
            return True  # the port accepting is all a plain socket can tell over TLS
        try:
            with socket.create_connection((self.bind, self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False

    def _launch(self, port: int, out) -> subprocess.Popen:
        listen = ["--port", str(port)] if self.tls is None else [
            "--port", "0", "--tls-port", str(port), "--tls-cert-file", str(self.tls.cert),
            "--tls-key-file", str(self.tls.key), "--tls-ca-cert-file", str(self.tls.ca), "--tls-auth-clients", "no"]
        config = []
        if self.password:  # in a 0600 file, not on the command line other users can read
            config = [str(self.folder / "redis.conf")]
            fd = os.open(config[0], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as conf:
                conf.write(f"requirepass {self.password}\n")
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.persist else ["--appendonly", "no"]
        return subprocess.Popen(
            [str(REDIS_SERVER), *config, "--bind", self.bind, *listen, "--dir", str(self.folder),
             "--save", "", *persistence, "--daemonize", "no", "--protected-mode", "yes"],
            stdout=out, stderr=subprocess.STDOUT)
