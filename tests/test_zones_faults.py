"""Faults of a scan from several zones, with real processes: the broker restarted mid-scan (with
and without its append-only file), a broker gone while the tasks go out, the control worker dying,
and a task whose run kills its worker again and again (the delivery cap).

Real redis-server and PostgreSQL on loopback (tests/daemons.py); every zone worker and the control
worker is the real `readyscan worker` in its own process. The tests that stop or restart the
broker start their own redis-server, never the session's one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytest.importorskip("celery", reason="the zones extra (celery[redis]) is not installed")
pytest.importorskip("sqlalchemy", reason="the zones extra (sqlalchemy) is not installed")

import redis as redis_client  # noqa: E402  (celery[redis] installs it)

from checks import default_registry  # noqa: E402
from scanner.app.cli import exit_code  # noqa: E402
from scanner.app.engine import Engine  # noqa: E402
from scanner.app.exits import EXIT_INCOMPLETE  # noqa: E402
from scanner.app.store.api import Store  # noqa: E402
from scanner.app.zones import scan as zones_scan  # noqa: E402
from scanner.app.zones.app import zone_app  # noqa: E402
from scanner.app.zones.broker import (  # noqa: E402
    CONTROL_QUEUE,
    MAX_DELIVERIES,
    SOFT_LIMIT_SLACK_SECONDS,
    collector_worst_cases,
    deliveries_key,
    task_time_limits,
    visibility_timeout,
)
from scanner.app.zones.errors import ZoneSetupError  # noqa: E402
from scanner.app.zones.scan import ZoneLinks, zoned_scan  # noqa: E402
from scanner.app.zones.scope import ZoneTask, text  # noqa: E402
from scanner.app.zones.security import issue_sites  # noqa: E402
from scanner.app.zones.tasks import send_all, send_collect  # noqa: E402
from scanner.app.zones.worker import check_broker  # noqa: E402
from scanner.collectors.base import ScanContext, ScanOptions  # noqa: E402
from scanner.collectors.catalog import default_collectors  # noqa: E402
from scanner.inventory import Timeouts, load_inventory  # noqa: E402
from scanner.model import Outcome, Severity  # noqa: E402
from scanner.scanfile import load, save  # noqa: E402
from scanner.thresholds import load_thresholds  # noqa: E402
from tests.daemons import LOOPBACK, DaemonUnavailable, Redis, stop_pid  # noqa: E402
from tests.paths import ROOT  # noqa: E402

pytest_plugins = ["tests.daemonfixtures"]

ZONED = ROOT / "tests" / "fixtures" / "zones" / "localhost.yaml"  # 127.0.0.1 (local), scanners in mgmt and edge
CHECKS = ["ports.*", "system.identity"]
HANG_GUARD = 180  # seconds: a hang guard, not a benchmark


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """The control site and one site per zone, each trusting the others (one CA issued them all)."""
    return issue_sites(tmp_path_factory.mktemp("zones-faults-pki"), ("control", "mgmt", "edge"))


def own_redis(persist: bool = True) -> Iterator[Redis]:
    try:
        server = Redis(persist=persist)
    except DaemonUnavailable as exc:
        pytest.skip(str(exc))
    with server:
        yield server


@pytest.fixture
def broker() -> Iterator[Redis]:
    """A redis-server of this test alone (it gets stopped or restarted), keeping its append-only file."""
    yield from own_redis()


@pytest.fixture
def volatile_broker() -> Iterator[Redis]:
    """A redis-server without persistence: what a restart of it loses."""
    yield from own_redis(persist=False)


def clean_env(**extra: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("READYSCAN_")} | extra


def worker(inventory: Path, role: list[str], keys, broker_url: str, database: str = "") -> subprocess.Popen:
    """`readyscan worker INVENTORY <role>`, the URLs from the environment as in production; its
    output goes to a file (read at the end), so a long test never fills a pipe."""
    env = clean_env(READYSCAN_BROKER_URL=broker_url, **({"READYSCAN_DATABASE_URL": database} if database else {}))
    log = open(keys.folder.parent / f"worker-{role[-1]}-{uuid.uuid4().hex[:6]}.log", "w+")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "scanner", "worker", str(inventory), *role,
                             "--keys", str(keys.folder), "--lang", "en"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    proc.log = log  # type: ignore[attr-defined]
    return proc


def stop(proc: subprocess.Popen) -> str:
    """Warm shutdown by the PID we started (SIGCONT first: a frozen worker cannot shut down)."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGCONT)
    stop_pid(proc, signal.SIGTERM, timeout=30)
    proc.log.seek(0)  # type: ignore[attr-defined]
    return proc.log.read()  # type: ignore[attr-defined]


def wait_until(condition: Callable[[], bool], seconds: float = HANG_GUARD, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def queued(server: Redis, queue: str) -> int:
    """How many messages wait in a queue (kombu's Redis transport keeps one list per queue)."""
    with redis_client.Redis(host=LOOPBACK, port=server.port, socket_timeout=2) as client:
        try:
            return int(client.llen(queue))
        except redis_client.exceptions.ConnectionError:
            return 0


def engine() -> Engine:
    return Engine(default_registry(), default_collectors(), load_thresholds())


def scan_in_thread(links: ZoneLinks, silence: float | None = None) -> tuple[threading.Thread, dict]:
    """zoned_scan of the two-zone localhost inventory in a thread; `out` gets its scan file or error."""
    loaded = load_inventory(ZONED)
    out: dict = {}

    def run() -> None:
        try:
            out["scan"] = zoned_scan(engine(), ScanContext(loaded=loaded, options=ScanOptions()),
                                     default_registry().select(CHECKS), links, silence_seconds=silence)
        except BaseException as exc:  # the test asserts there is none
            out["error"] = exc

    thread = threading.Thread(target=run, name="zoned-scan")
    thread.start()
    return thread, out


def finished(thread: threading.Thread, out: dict):
    thread.join(HANG_GUARD)
    assert not thread.is_alive(), "the scan did not end"
    assert "error" not in out, repr(out.get("error"))
    return out["scan"]


# --- 1. The broker restarted during a scan ----------------------------------------------------


def test_readyscan_scan_survives_a_broker_restart_mid_scan(broker, postgres_server, sites, tmp_path):
    """`readyscan scan` from two zones; the edge worker is frozen as the tasks go out, so its task
    waits in its queue while redis-server is stopped (by its PID) and started again on the same
    port and folder. The broker keeps its append-only file: the task is still queued, the edge
    worker and the control worker reconnect, and the scan ends complete, with no traceback."""
    database = postgres_server.create_database(f"restart_{uuid.uuid4().hex[:8]}")
    workers = {zone: worker(ZONED, ["--zone", zone], sites[zone], broker.url) for zone in ("mgmt", "edge")}
    out = tmp_path / "restarted.json"
    env = clean_env(READYSCAN_BROKER_URL=broker.url, READYSCAN_DATABASE_URL=database, CI="true")
    try:
        wait_until(lambda: all(ready(p) for p in workers.values()), 60, "the zone workers")
        os.kill(workers["edge"].pid, signal.SIGSTOP)
        scan = subprocess.Popen([sys.executable, "-m", "scanner", "scan", str(ZONED), "--keys",
                                 str(sites["control"].folder), "--checks", *CHECKS, "-o", str(out), "--lang", "en"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_until(lambda: queued(broker, "zone.edge") == 1, 60, "the edge task in its queue")
        time.sleep(1)  # the control worker, started before the tasks went out, is connected
        broker.restart(down_seconds=1)
        assert queued(broker, "zone.edge") == 1  # the append-only file gave the queue back
        os.kill(workers["edge"].pid, signal.SIGCONT)
        stdout, stderr = scan.communicate(timeout=HANG_GUARD)
    finally:
        logs = {name: stop(proc) for name, proc in workers.items()}
    assert scan.returncode in (0, 1), (stderr[-3000:], {z: log[-1500:] for z, log in logs.items()})
    assert "Traceback" not in stderr
    assert "Connection to broker lost" in logs["edge"] or "Cannot connect" in logs["edge"], logs["edge"][-2000:]
    record = load(out)
    assert record.complete
    assert {zone: record.hosts["localhost"].seen_from[zone]["ports"].outcome for zone in ("mgmt", "edge")} == {
        "mgmt": Outcome.OK, "edge": Outcome.OK}


def test_a_broker_without_persistence_loses_the_queued_task_and_its_zone_ends_error(volatile_broker,
                                                                                    postgres_server, sites):
    """Why docs/zones.md requires the append-only file: restarted without it, the broker comes back
    empty; the frozen edge worker's task is gone, its zone ends `error` after the silence limit,
    the scan is incomplete (exit 3) and its file reads back."""
    database = postgres_server.create_database(f"volatile_{uuid.uuid4().hex[:8]}")
    workers = {zone: worker(ZONED, ["--zone", zone], sites[zone], volatile_broker.url) for zone in ("mgmt", "edge")}
    try:
        wait_until(lambda: all(ready(p) for p in workers.values()), 60, "the zone workers")
        os.kill(workers["edge"].pid, signal.SIGSTOP)
        thread, out = scan_in_thread(ZoneLinks(volatile_broker.url, database, sites["control"]), silence=6)
        wait_until(lambda: queued(volatile_broker, "zone.edge") == 1, 60, "the edge task in its queue")
        volatile_broker.restart(down_seconds=1)
        assert queued(volatile_broker, "zone.edge") == 0
        os.kill(workers["edge"].pid, signal.SIGCONT)
        scan = finished(thread, out)
    finally:
        for proc in workers.values():
            stop(proc)
    # mgmt's reports may have waited in the control queue too, and gone with it.
    assert not scan.complete and scan.incomplete_reason.startswith("no scanner answered in zone ")
    assert "edge" in scan.incomplete_reason
    assert exit_code(scan, Severity.HIGH) == EXIT_INCOMPLETE
    assert scan.hosts["localhost"].seen_from["edge"]["ports"].outcome == Outcome.ERROR


def test_the_control_worker_waits_for_a_restarting_broker_at_its_start(broker, sites):
    """check_broker with patience (what the control worker uses) outlasts a broker that is away
    for a moment; without patience the same outage is reported at once, as one sentence."""
    app = zone_app(broker.url, sites["control"], zones=["mgmt"])
    stop_pid(broker.proc)
    with pytest.raises(ZoneSetupError) as info:
        check_broker(app)
    assert info.value.key == "zones.broker_unreachable"
    back = threading.Thread(target=broker.restart, kwargs={"down_seconds": 2})
    started = time.monotonic()
    back.start()
    check_broker(app, patience=30)
    back.join()
    assert 1 < time.monotonic() - started < 30


def test_tasks_the_broker_does_not_take_end_as_errors_that_say_so(broker, postgres_server, sites, monkeypatch):
    """The broker dies after the scan reached it, before the tasks go out, and stays away past the
    publish retries: each task ends `error` saying the broker did not take it, the scan ends at
    once (not after the silence limit), incomplete, with a scan file that reads back."""
    from scanner.app.zones import app as zones_app

    monkeypatch.setattr(zones_app, "publish_retry_policy",
                        lambda: {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1})
    start_control = zones_scan._start_control_worker

    def start_then_lose_the_broker(*args, **kwargs):
        proc = start_control(*args, **kwargs)
        stop_pid(broker.proc)
        return proc

    monkeypatch.setattr(zones_scan, "_start_control_worker", start_then_lose_the_broker)
    database = postgres_server.create_database(f"unsent_{uuid.uuid4().hex[:8]}")
    started = time.monotonic()
    thread, out = scan_in_thread(ZoneLinks(broker.url, database, sites["control"]), silence=HANG_GUARD)
    scan = finished(thread, out)
    assert time.monotonic() - started < 60
    assert not scan.complete and scan.incomplete_reason == text("unsent_reason", count=3)
    assert exit_code(scan, Severity.HIGH) == EXIT_INCOMPLETE
    host = scan.hosts["localhost"]
    for obs in (host.observations["host"], host.seen_from["mgmt"]["ports"], host.seen_from["edge"]["ports"]):
        assert obs.outcome == Outcome.ERROR and obs.detail.startswith("The broker did not take this task"), obs.detail


def test_a_control_worker_that_dies_mid_scan_ends_the_scan_at_once_naming_it(redis, postgres_server, sites,
                                                                             tmp_path):
    """No zone worker answers; the control worker the scan started is killed: the scan stops
    waiting at once (not after the zone's silence limit), says why, and its file reads back."""
    database = postgres_server.create_database(f"ctldead_{uuid.uuid4().hex[:8]}")
    thread, out = scan_in_thread(ZoneLinks(redis, database, sites["control"]), silence=HANG_GUARD)
    wait_until(lambda: _control_worker() is not None, 30, "the control worker")
    time.sleep(3)  # past the scan's own start check: the tasks are out
    started = time.monotonic()
    os.kill(_control_worker(), signal.SIGKILL)
    scan = finished(thread, out)
    assert time.monotonic() - started < 30
    assert not scan.complete and scan.incomplete_reason == text("control_stopped", code=-signal.SIGKILL)
    assert exit_code(scan, Severity.HIGH) == EXIT_INCOMPLETE
    path = tmp_path / "control-dead.json"
    save(scan, path)
    assert load(path).hosts["localhost"].seen_from["edge"]["ports"].outcome == Outcome.ERROR


def test_a_scan_killed_outright_takes_its_control_worker_with_it(redis, postgres_server, sites):
    """SIGKILL leaves `readyscan scan` no chance to stop its control worker by PID: the kernel
    signals it instead (PR_SET_PDEATHSIG), and it ends rather than outlive the scan."""
    database = postgres_server.create_database(f"orphan_{uuid.uuid4().hex[:8]}")
    scan = subprocess.Popen([sys.executable, "-m", "scanner", "scan", str(ZONED), "--keys", str(sites["control"].folder),
                             "--checks", *CHECKS, "-o", os.devnull, "--lang", "en"],
                            cwd=ROOT, env=clean_env(READYSCAN_BROKER_URL=redis, READYSCAN_DATABASE_URL=database),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: _control_worker(scan.pid) is not None, 60, "the scan's control worker")
        control = _control_worker(scan.pid)
        os.kill(scan.pid, signal.SIGKILL)
        scan.wait(timeout=10)
        wait_until(lambda: not _alive(control), 60, "the control worker to end")
    finally:
        if scan.poll() is None:
            scan.kill()
            scan.wait()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text().split("State:", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has ended; whoever adopted it reaps it


def _control_worker(parent: int | None = None) -> int | None:
    """The PID of a `readyscan worker --control` child of `parent` (default: this test process)."""
    for pid in _children(parent or os.getpid()):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--control" in argv:
            return pid
    return None


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def ready(proc: subprocess.Popen) -> bool:
    """The worker is connected and consuming (Celery's own line, after our start sentence)."""
    return " ready." in _log(proc)


def _log(proc: subprocess.Popen) -> str:
    proc.log.flush()  # type: ignore[attr-defined]
    return Path(proc.log.name).read_text(errors="replace")  # type: ignore[attr-defined]


# --- 2. The delivery cap ----------------------------------------------------------------------


class SilentServer:
    """A TCP server on loopback that accepts and never answers: an HTTP probe of it runs until its
    timeout, so the test can kill the pool process while the task runs. Counts connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


SLOW_INVENTORY = """schema: 1
organization:
  name: Máy chậm (thử giới hạn số lần giao tác vụ)
zones:
  edge: Vùng biên
scanners:
  - {{name: quet-edge, zone: edge}}
defaults:
  transport: none
hosts:
  - name: slow
    address: 127.0.0.1
    zone: edge
    role: web
    services:
      - {{port: {port}, kind: http, name: Máy chủ không trả lời, exposure: [edge]}}
scan:
  concurrency: 1
  timeouts: {{connect: 5, command: 60, nmap: 60, tls: 60, http: {http}}}
"""


def slow_host(tmp_path: Path, postgres_server, http: float):
    """A silent server, an inventory whose one host serves HTTP on it (`http`: scan.timeouts.http),
    a new database and a scan begun in it."""
    server = SilentServer()
    inventory = tmp_path / "slow.yaml"
    inventory.write_text(SLOW_INVENTORY.format(port=server.port, http=http), encoding="utf-8")
    loaded = load_inventory(inventory)
    database = postgres_server.create_database(f"slow_{uuid.uuid4().hex[:8]}")
    store = Store(database)
    store.migrate()
    return server, inventory, loaded, database, store, store.begin_scan(loaded.digest)


def test_a_task_that_kills_its_worker_every_time_is_reported_after_the_delivery_cap(redis, postgres_server, sites,
                                                                                     tmp_path):
    """The http task of a host that never answers runs for a minute; each time it runs, the test
    kills the zone worker's pool process (SIGKILL by its PID), as a host that crashes the task
    would. Celery gives the task back to the queue each time; at the delivery past the cap the
    worker reports an error for that host and collector instead of running it again."""
    server, inventory, loaded, database, store, scan_id = slow_host(tmp_path, postgres_server, http=60)
    edge = worker(inventory, ["--zone", "edge"], sites["edge"], redis)
    control = worker(inventory, ["--control"], sites["control"], redis, database)
    killed: list[int] = []
    try:
        wait_until(lambda: ready(edge), 60, "the edge worker")
        app = zone_app(redis, sites["control"], zones=["edge"], timeouts=loaded.inventory.scan.timeouts)
        task = ZoneTask(scan_id=str(scan_id), inventory_digest=loaded.digest, host_name="slow", address="127.0.0.1",
                        collector="http", vantage="edge")
        task_id = send_collect(app, task).id
        deadline = time.monotonic() + HANG_GUARD
        while not store.answered(scan_id) and time.monotonic() < deadline:
            if len(server.accepted) > len(killed):  # a delivery is running: its pool process connected
                child = _pool_child(edge.pid)
                os.kill(child, signal.SIGKILL)
                killed.append(child)
                wait_until(lambda gone=child: _pool_child(edge.pid) not in (None, gone), 60, "a new pool process")
            time.sleep(0.05)
        connections = len(server.accepted)
        with redis_client.Redis(host=LOOPBACK, port=urlsplit(redis).port) as client:
            deliveries = int(client.get(deliveries_key(task_id)))
    finally:
        logs = {"edge": stop(edge), "control": stop(control)}
        server.close()
    assert store.answered(scan_id) == {("slow", "http", "edge")}, logs
    assert len(killed) == MAX_DELIVERIES and connections == MAX_DELIVERIES, (killed, connections, logs["edge"][-3000:])
    assert deliveries == MAX_DELIVERIES + 1
    obs = store.observations(scan_id)["slow"][("http", "edge")]
    assert obs.outcome == Outcome.ERROR
    assert obs.detail == text("delivery_cap", deliveries=MAX_DELIVERIES, cap=MAX_DELIVERIES)
    assert "Not running again the task of host slow, collector http" in logs["edge"]
    store.close()


def test_a_task_running_while_the_broker_restarts_reports_once_and_is_acknowledged(broker, postgres_server, sites,
                                                                                   tmp_path):
    """The http task of a host that never answers runs (three requests of 5 s); redis-server is
    restarted meanwhile. The task finishes, its report (published after the restart) is kept,
    and its message is acknowledged: nothing waits to run it a second time."""
    server, inventory, loaded, database, store, scan_id = slow_host(tmp_path, postgres_server, http=5)
    edge = worker(inventory, ["--zone", "edge"], sites["edge"], broker.url)
    control = worker(inventory, ["--control"], sites["control"], broker.url, database)
    try:
        wait_until(lambda: ready(edge) and ready(control), 60, "the workers")
        app = zone_app(broker.url, sites["control"], zones=["edge"], timeouts=loaded.inventory.scan.timeouts)
        send_collect(app, ZoneTask(scan_id=str(scan_id), inventory_digest=loaded.digest, host_name="slow",
                                   address="127.0.0.1", collector="http", vantage="edge"))
        wait_until(lambda: len(server.accepted) > 0, 60, "the task to run")
        broker.restart(down_seconds=1)
        wait_until(lambda: bool(store.answered(scan_id)), 60, "the report")
        time.sleep(3)  # a message given back to the queue would be running again by now
        with redis_client.Redis(host=LOOPBACK, port=broker.port) as client:
            waiting = {key: client.llen(key) for key in ("zone.edge", CONTROL_QUEUE)} | {"unacked": client.hlen("unacked")}
    finally:
        logs = {"edge": stop(edge), "control": stop(control)}
        server.close()
    assert "Connection to broker lost" in logs["edge"], logs["edge"][-2000:]
    assert waiting == {"zone.edge": 0, CONTROL_QUEUE: 0, "unacked": 0}
    assert len(server.accepted) == 1  # ran once
    obs = store.observations(scan_id)["slow"][("http", "edge")]
    assert obs.outcome != Outcome.ERROR or "delivered" not in obs.detail, obs.detail
    store.close()


def _pool_child(pid: int) -> int | None:
    """The one pool process of a `readyscan worker` (concurrency 1)."""
    children = _children(pid)
    return children[0] if len(children) == 1 else None


def test_send_all_reports_every_task_when_the_broker_is_gone(sites, monkeypatch):
    """After the publish retries the first failure stands for the rest: each task with the reason."""
    from scanner.app.zones import app as zones_app
    from tests.daemons import free_port

    monkeypatch.setattr(zones_app, "publish_retry_policy",
                        lambda: {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1})
    loaded = load_inventory(ZONED)
    app = zone_app(f"redis://{LOOPBACK}:{free_port()}/0", sites["control"], zones=["mgmt", "edge"])
    tasks = [ZoneTask(scan_id="s-1", inventory_digest=loaded.digest, host_name="localhost", address="127.0.0.1",
                      collector=collector, vantage=zone) for collector, zone in (("ports", "mgmt"), ("ports", "edge"))]
    unsent = send_all(app, tasks)
    assert [t for t, _ in unsent] == tasks
    assert len({why for _, why in unsent}) == 1 and "refused" in unsent[0][1].lower(), unsent


# --- 3. The time limits -----------------------------------------------------------------------


@pytest.mark.parametrize("timeouts", [
    Timeouts(),
    Timeouts(host=300, nmap=120),  # the host collector's four scripts outlast twice the longest timeout
    Timeouts(connect=60, command=600, host=30, nmap=30, tls=30, http=30),
    Timeouts(tls=5000),
    Timeouts(http=600),
], ids=["defaults", "host-longest", "connect-command", "tls", "http"])
def test_the_soft_limit_never_cuts_a_collector_that_keeps_to_its_deadlines(timeouts):
    soft, hard = task_time_limits(timeouts)
    worst = collector_worst_cases(timeouts)
    assert set(worst) == set(default_collectors())  # every collector has its worst case
    assert soft >= max(worst.values()) + SOFT_LIMIT_SLACK_SECONDS
    assert hard > soft and visibility_timeout(hard) > hard


def test_the_host_collectors_worst_case_counts_every_script_it_may_send():
    """Connect steps, `id -u`, four scripts within scan.timeouts.host, a session opening before each."""
    t = Timeouts(connect=5, command=60, host=300, nmap=120, tls=60, http=10)
    assert collector_worst_cases(t)["host"] == 7 * 5 + 60 + 4 * 300 + 5 * 30
    assert task_time_limits(t)[0] > 4 * 300  # twice the longest (600 s) would cut the third script
