"""The store of distributed scans against a real PostgreSQL 15 (tests/daemons.py starts it on
loopback; every test that writes gets its own database), the URL's 0600 rule, the one-line error
when the database cannot be reached, and the one-zone path that never loads SQLAlchemy."""

from __future__ import annotations

import ast
import json
import os
import pwd
import socket
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy", reason="the `zones` extra is not installed")
pytest.importorskip("psycopg", reason="the `zones` extra is not installed")

from alembic.autogenerate import compare_metadata  # noqa: E402
from alembic.migration import MigrationContext  # noqa: E402
from sqlalchemy import create_engine, inspect, text  # noqa: E402

from scanner.app.secreturl import UrlFileRefused, UrlMissing, UrlTwice  # noqa: E402
from scanner.app.store.api import Store  # noqa: E402
from scanner.app.store.config import DATABASE_URL_VAR, database_url  # noqa: E402
from scanner.app.store.errors import DatabaseUnreachable, UnknownScan, UrlInvalid  # noqa: E402
from scanner.app.store.tables import Base, ScanState  # noqa: E402
from scanner.model import Message, Observation, Outcome, Result, Severity, Status  # noqa: E402
from tests.daemons import LOOPBACK, Postgres  # noqa: E402
from tests.paths import ROOT  # noqa: E402

pytest_plugins = ["tests.daemonfixtures"]  # the fixture `postgres_server`

T0 = datetime(2026, 12, 5, 8, 30, 0, 123456, tzinfo=UTC)
DIGEST = "ab" * 32
DATABASE_LIBRARIES = ("sqlalchemy", "alembic", "psycopg")


def observation(collector: str = "ports", outcome: Outcome = Outcome.OK, detail: str = "", **data) -> Observation:
    return Observation(collector=collector, outcome=outcome, detail=detail, started=T0,
                       ended=T0 + timedelta(seconds=2), data=data)


@pytest.fixture
def database(postgres_server: Postgres) -> str:
    """The URL of a new, empty database of the session's server."""
    return postgres_server.create_database(f"t_{uuid.uuid4().hex}")


@pytest.fixture
def store(database: str):
    with Store(database) as s:
        s.migrate()
        yield s


def rows(url: str, table: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


# -- schema ------------------------------------------------------------------------------------

def _schema_differences(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()


def test_the_migration_creates_exactly_the_models_schema(database):
    assert _schema_differences(database) != []  # the comparison sees a missing schema: it is not vacuous
    with Store(database) as s:
        s.migrate()
        s.migrate()  # at head already: nothing to do, no error
    assert _schema_differences(database) == []
    engine = create_engine(database)
    try:
        found = inspect(engine)
        assert set(found.get_table_names()) == {"alembic_version", "scans", "observations", "results"}
        assert found.get_pk_constraint("observations")["constrained_columns"] == ["scan_id", "host", "collector",
                                                                                  "vantage"]
    finally:
        engine.dispose()


def test_two_control_processes_migrating_at_once_both_succeed(database):
    """The advisory lock serialises them: without it both would CREATE TABLE and one would fail."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def migrate():
        try:
            with Store(database) as s:
                barrier.wait()
                s.migrate()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert _schema_differences(database) == []


# -- observations ------------------------------------------------------------------------------

def test_a_duplicate_delivery_leaves_one_row_and_the_first_stays(store, database):
    scan = store.begin_scan(DIGEST)
    first = observation(open_ports=[22, 443])
    later = observation(outcome=Outcome.TIMEOUT, detail="redelivered after the worker died")
    assert store.put_observation(scan, "web1", "dmz", first) is True
    assert store.put_observation(scan, "web1", "dmz", later) is False
    assert store.put_observation(scan, "web1", "dmz", first) is False
    assert rows(database, "observations") == 1
    assert store.observations(scan) == {"web1": {("ports", "dmz"): first}}


def test_the_same_collector_from_another_vantage_or_scan_is_another_fact(store, database):
    scan, other_scan = store.begin_scan(DIGEST), store.begin_scan(DIGEST)
    seen_from_dmz, seen_from_lan = observation(open_ports=[443]), observation(open_ports=[443, 5432])
    assert store.put_observation(scan, "db1", "dmz", seen_from_dmz)
    assert store.put_observation(scan, "db1", "lan", seen_from_lan)
    assert store.put_observation(other_scan, "db1", "dmz", seen_from_lan)
    assert store.observations(scan) == {"db1": {("ports", "dmz"): seen_from_dmz, ("ports", "lan"): seen_from_lan}}
    assert store.observations(other_scan) == {"db1": {("ports", "dmz"): seen_from_lan}}


def canonical(facts: dict[str, dict[tuple[str, str], Observation]]) -> str:
    return json.dumps({h: {"/".join(k): o.model_dump(mode="json") for k, o in v.items()} for h, v in facts.items()},
                      sort_keys=True)


def test_observations_round_trip_equal(store):
    scan = store.begin_scan(DIGEST, started=T0)
    sent = {
        "web1": {("ports", "dmz"): observation(open_ports=[22, 443], scanned={"tcp": "1-1024"}),
                 ("tls", "internet"): observation("tls", endpoints={"443/tcp": {"protocols": ["TLSv1.2"],
                                                                              "ratio": 0.5, "ok": True,
                                                                              "issuer": None}})},
        "db1": {("host", "mgmt"): observation("host", Outcome.PERMISSION_DENIED, "sudo: mật khẩu bắt buộc",
                                              raw="Cổng dịch vụ — “đóng”\n\ttab")},
        "lan1": {("ports", "lan"): observation()},
    }
    for host, by_key in sent.items():
        for (_, vantage), obs in by_key.items():
            assert store.put_observation(scan, host, vantage, obs)
    got = store.observations(scan)
    assert got == sent
    # Types too (True == 1 for ==). The order of keys is JSONB's own, not the sender's: compare sorted.
    assert canonical(got) == canonical(sent)
    assert store.scan(scan).started == T0 and store.scan(scan).state is ScanState.RUNNING


def test_a_nul_character_from_a_hostile_target_is_stored_as_the_replacement_character(store):
    """PostgreSQL text cannot hold U+0000; the fact is kept with U+FFFD instead of being lost."""
    scan = store.begin_scan(DIGEST)
    assert store.put_observation(scan, "web1", "dmz", observation("ssh_server", detail="SSH-2.0\x00evil",
                                                                  banner="a\x00b", **{"k\x00": ["\x00"]}))
    got = store.observations(scan)["web1"][("ssh_server", "dmz")]
    assert got == observation("ssh_server", detail="SSH-2.0\ufffdevil", banner="a\ufffdb", **{"k\ufffd": ["\ufffd"]})


def test_concurrent_deliveries_of_one_key_leave_one_row(store, database):
    scan = store.begin_scan(DIGEST)
    barrier, stored = threading.Barrier(6), {}

    def deliver(n: int):
        barrier.wait()
        stored[n] = store.put_observation(scan, "web1", "dmz", observation(detail=f"delivery {n}"))

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    winners = [n for n, ok in stored.items() if ok]
    assert len(stored) == 6 and len(winners) == 1
    assert rows(database, "observations") == 1
    assert store.observations(scan)["web1"][("ports", "dmz")].detail == f"delivery {winners[0]}"


def test_facts_of_a_scan_the_store_does_not_hold_are_refused(store):
    stranger = uuid.uuid4()
    with pytest.raises(UnknownScan):
        store.put_observation(stranger, "web1", "dmz", observation())
    with pytest.raises(UnknownScan):
        store.scan(stranger)


# -- scans and results -------------------------------------------------------------------------

def result(status: Status = Status.FAIL, target: str = "5432/tcp", **evidence) -> Result:
    return Result(check_id="exposure.zone.reachable", host="db1", target=target, status=status,
                  severity=Severity.HIGH, survey_items=("XI.3.1",),
                  message=Message(key="reachable", params={"zone": "lan", "ports": [5432]}),
                  evidence=evidence, waiver=None)


def test_results_round_trip_and_judging_again_replaces_them(store, database):
    scan = store.begin_scan(DIGEST)
    sent = [result(reachable=True), result(Status.PASS, "443/tcp")]
    org = Result(check_id="declared.policy", host="", status=Status.MANUAL, severity=Severity.INFO,
                 survey_items=("XI.1.1",), waiver={"reason": "đã chấp nhận", "expires": "2027-01-01"})
    assert store.put_results(scan, "lan", sent) == 2
    assert store.put_results(scan, "", [org]) == 1
    assert store.results(scan) == {"": [org], "lan": sorted(sent, key=lambda r: r.target)}
    rejudged = result(Status.PASS, reachable=False)
    store.put_results(scan, "lan", [rejudged])
    assert rows(database, "results") == 3
    assert rejudged in store.results(scan)["lan"]


def test_a_scan_ends_with_its_state(store):
    scan = store.begin_scan(DIGEST, started=T0)
    store.end_scan(scan, ScanState.INCOMPLETE, ended=T0 + timedelta(minutes=5))
    record = store.scan(scan)
    assert (record.state, record.ended, record.inventory_digest) == (ScanState.INCOMPLETE, T0 + timedelta(minutes=5),
                                                                      DIGEST)


# -- the URL: environment or a 0600 file -------------------------------------------------------

def url_file(tmp_path: Path, mode: int, content: str = "postgresql+psycopg://u:pw@127.0.0.1:5/db\n") -> Path:
    path = tmp_path / "database-url"
    path.write_text(content)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_url_file_only_its_owner_can_read_is_read(tmp_path, mode):
    path = url_file(tmp_path, mode)
    assert database_url({}, file=path) == "postgresql+psycopg://u:pw@127.0.0.1:5/db"
    assert database_url({f"{DATABASE_URL_VAR}_FILE": str(path)}) == "postgresql+psycopg://u:pw@127.0.0.1:5/db"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o660])
def test_a_url_file_others_can_read_or_write_is_refused_by_name(tmp_path, mode):
    path = url_file(tmp_path, mode)
    with pytest.raises(UrlFileRefused) as refused:
        database_url({f"{DATABASE_URL_VAR}_FILE": str(path)})
    assert str(path) in str(refused.value) and f"{mode:04o}" in str(refused.value)
    assert "pw" not in str(refused.value)
    assert str(path) in refused.value.text("vi") and "chmod 600" in refused.value.text("vi")


@pytest.mark.root
def test_a_url_file_of_another_user_is_refused(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to give the file to another user")
    path = url_file(tmp_path, 0o600)
    os.chown(path, pwd.getpwnam("nobody").pw_uid, -1)
    with pytest.raises(UrlFileRefused, match="belongs to another user"):
        database_url({}, file=path)


@pytest.mark.parametrize("content", ["", "\n\n", "postgresql://a@h/d\npostgresql://b@h/d\n"])
def test_a_url_file_holds_one_url(tmp_path, content):
    with pytest.raises(UrlFileRefused, match="exactly one connection URL"):
        database_url({}, file=url_file(tmp_path, 0o600, content))


def test_the_url_comes_from_one_source_named_when_missing(tmp_path):
    assert database_url({DATABASE_URL_VAR: "postgresql://u@h/d"}) == "postgresql://u@h/d"
    with pytest.raises(UrlMissing) as missing:
        database_url({})
    assert DATABASE_URL_VAR in str(missing.value) and f"{DATABASE_URL_VAR}_FILE" in str(missing.value)
    with pytest.raises(UrlTwice):
        database_url({DATABASE_URL_VAR: "postgresql://u@h/d", f"{DATABASE_URL_VAR}_FILE": str(url_file(tmp_path, 0o600))})
    with pytest.raises(UrlFileRefused, match="Cannot read"):
        database_url({}, file=tmp_path / "absent")


# -- a database that cannot be reached ---------------------------------------------------------

@pytest.fixture
def closed_port():
    """A loopback port bound but not listening (held until the test ends): connecting is refused."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        yield s.getsockname()[1]


def test_an_unreachable_database_is_one_line_without_the_password(closed_port):
    with Store(f"postgresql://readyscan:s3cret-pw@{LOOPBACK}:{closed_port}/scans") as s:
        with pytest.raises(DatabaseUnreachable) as unreachable:
            s.migrate()
    said = str(unreachable.value)
    assert "\n" not in said and "s3cret-pw" not in said
    assert f"postgresql+psycopg://readyscan:***@{LOOPBACK}:{closed_port}/scans" in said
    assert "refused" in said.lower()


def test_a_wrong_password_is_one_line_naming_the_refusal(postgres_server):
    url = postgres_server.url.replace(postgres_server.password, "wrong-pw")
    with Store(url) as s, pytest.raises(DatabaseUnreachable) as refused:
        s.begin_scan(DIGEST)
    said = str(refused.value)
    assert "password authentication failed" in said and "wrong-pw" not in said and "\n" not in said


@pytest.mark.parametrize("url", ["mysql://u:s3cret-pw@127.0.0.1/db", "sqlite:///x.db", "s3cret-pw", ""])
def test_a_url_that_is_not_postgresql_is_refused_without_echoing_it(url):
    with pytest.raises(UrlInvalid) as refused:
        Store(url)
    assert "s3cret-pw" not in str(refused.value) and "postgresql+psycopg://" in str(refused.value)


def _migrate_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scanner.app.store", "migrate", "--lang", "en", *args],
                          cwd=ROOT, env={"PATH": os.environ["PATH"], **env}, capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_migrate_command_says_why_in_one_line_and_no_traceback(closed_port, tmp_path):
    done = _migrate_command({DATABASE_URL_VAR: f"postgresql://readyscan:s3cret-pw@{LOOPBACK}:{closed_port}/scans"})
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert "Cannot connect to the database" in done.stderr and "s3cret-pw" not in done.stderr
    done = _migrate_command({}, "--url-file", str(url_file(tmp_path, 0o644)))
    assert done.returncode == 2 and "mode 0644" in done.stderr and "Traceback" not in done.stderr


def test_the_migrate_command_migrates_from_a_0600_file(database, tmp_path):
    done = _migrate_command({f"{DATABASE_URL_VAR}_FILE": str(url_file(tmp_path, 0o600, database))})
    assert done.returncode == 0, done.stderr
    assert _schema_differences(database) == []


# -- the one-zone path never loads the database libraries --------------------------------------

def _loaded_after(statement: str) -> list[str]:
    """The distributed-mode libraries loaded once `statement` has run in a fresh interpreter."""
    probe = (f"import sys\n{statement}\n"
             f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {{'celery', 'kombu', *{DATABASE_LIBRARIES!r}}}))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


def test_the_probe_sees_the_database_libraries_when_they_are_loaded():
    assert set(_loaded_after("import scanner.app.store.api")) >= {"sqlalchemy", "alembic"}  # psycopg: on connect


def test_a_one_zone_scan_imports_neither_celery_nor_sqlalchemy(tmp_path):
    """A real scan of this machine through the local transport (read-only probes: sshd's
    configuration; and the declared items), the way `readyscan scan` runs it."""
    out = tmp_path / "scan.json"
    argv = ["readyscan", "scan", str(ROOT / "inventories" / "localhost.yaml"), "--checks", "declared.*",
            "ssh.config.*", "--no-report", "--quiet", "-o", str(out)]
    scan = (f"import runpy\nsys.argv = {argv!r}\n"
            "try:\n    runpy.run_module('scanner', run_name='__main__')\n"
            "except SystemExit as exc:\n    assert exc.code in (0, 1), exc.code\n")
    assert _loaded_after(scan) == []
    assert json.loads(out.read_text(encoding="utf-8"))["hosts"]["localhost"]["results"]
    assert _loaded_after("import scanner.app.cli, scanner.app.engine, scanner.app.secreturl, scanner.app.store.config") == []


def test_only_the_store_imports_the_database_libraries():
    """Imports inside functions count: a lazy import elsewhere would load SQLAlchemy on some path."""
    importers = set()
    for path in (ROOT / "scanner").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if any(n.split(".")[0] in DATABASE_LIBRARIES for n in names):
                importers.add(path.relative_to(ROOT).as_posix())
    store = {"scanner/app/store/api.py", "scanner/app/store/tables.py", "scanner/app/store/migrations/env.py",
             "scanner/app/store/migrations/versions/0001_initial.py"}
    assert importers == store
