"""A zone worker against a real redis-server on loopback, in this process
(celery.contrib.testing.worker.start_worker; pytest-celery 1.x needs Docker).

The worker consumes its zone's queue and the control queue. Messages are handled in order (one
worker, solo pool, prefetch 1), so after a message that must be refused, a signed "marker" task
whose report arrives proves the refused one was handled already: without a sleep.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

celery = pytest.importorskip("celery", reason="the zones extra (celery[redis]) is not installed")

from celery.contrib.testing.worker import start_worker  # noqa: E402
from celery.security.serialization import SecureSerializer  # noqa: E402
from kombu import Connection  # noqa: E402

from scanner.app.exits import EXIT_INCOMPLETE, EXIT_INPUT  # noqa: E402
from scanner.app.zones.app import zone_app  # noqa: E402
from scanner.app.zones.broker import COLLECT_TASK, CONTROL_QUEUE, CONTROL_TASK  # noqa: E402
from scanner.app.zones.errors import ZoneSetupError  # noqa: E402
from scanner.app.zones.scope import Refusal, ZoneReport, ZoneScope, ZoneTask  # noqa: E402
from scanner.app.zones.security import create_ca, issue_site, trust  # noqa: E402
from scanner.app.zones.tasks import register_control_task, register_zone_task, send_collect  # noqa: E402
from scanner.app.zones.worker import check_broker, run_worker  # noqa: E402
from scanner.collectors.base import ScanContext, Sink  # noqa: E402
from scanner.collectors.catalog import default_collectors  # noqa: E402
from scanner.inventory import Host, load_inventory  # noqa: E402
from scanner.model import Outcome  # noqa: E402
from tests.daemons import DaemonUnavailable, Redis, free_port, make_tls  # noqa: E402
from tests.paths import ROOT  # noqa: E402

LOCALHOST = ROOT / "tests" / "fixtures" / "zones" / "localhost.yaml"  # 127.0.0.1 (local), scanners in mgmt and edge
ZONE = "mgmt"
EDGE = "edge"  # the zone of the worker run by run_worker in its own process
REPORT_SECONDS = 60


@dataclass
class Counting:
    """The real collector, counted: a refused task must leave the count unchanged."""

    inner: object
    calls: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.inner.name

    def applies_to(self, ctx: ScanContext, host: Host) -> bool:
        return self.inner.applies_to(ctx, host)

    def collect(self, ctx: ScanContext, hosts: list[Host], sink: Sink) -> None:
        self.calls += [h.name for h in hosts]
        self.inner.collect(ctx, hosts, sink)


@dataclass
class Zone:
    app: object
    scope: ZoneScope
    reports: queue.Queue
    collectors: dict[str, Counting]

    def calls(self) -> int:
        return sum(len(c.calls) for c in self.collectors.values())

    def task(self, **changes) -> ZoneTask:
        fields = dict(scan_id=f"s-{uuid.uuid4().hex[:8]}", inventory_digest=self.scope.loaded.digest,
                      host_name="localhost", address="127.0.0.1", collector="host", vantage=ZONE,
                      parts=("os_release",))
        return ZoneTask(**(fields | changes))

    def report(self, scan_id: str) -> ZoneReport:
        """The report of `scan_id`; any other report arriving first is a failure."""
        got = self.reports.get(timeout=REPORT_SECONDS)
        assert got.scan_id == scan_id, f"unexpected report {got.scan_id} while waiting for {scan_id}"
        return got

    def marker(self) -> ZoneReport:
        """A signed task that runs: once its report is back, everything queued before it was handled."""
        task = self.task()
        send_collect(self.app, task)
        return self.report(task.scan_id)

    def publish_raw(self, task: ZoneTask | dict, encode) -> None:
        """A task message built as Celery builds it, its body encoded by `encode` (not this app's
        signer): what an intruder with access to the broker could put in a zone's queue."""
        reply = self.app.signature(CONTROL_TASK, queue=CONTROL_QUEUE, routing_key=CONTROL_QUEUE)
        message = self.app.amqp.as_task_v2(str(uuid.uuid4()), COLLECT_TASK,
                                           kwargs=task if isinstance(task, dict) else task.model_dump(mode="json"),
                                           callbacks=[reply])
        content_type, body = encode(message.body)
        with Connection(self.app.conf.broker_url) as conn:
            conn.Producer().publish(body, exchange="readyscan", routing_key=f"zone.{ZONE}", headers=message.headers,
                                    content_type=content_type, content_encoding="utf-8", serializer=None,
                                    **message.properties)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp("zones-pki")
    create_ca(root / "ca")
    create_ca(root / "foreign-ca")
    control = issue_site(root / "ca", "control", root / "control")
    edge = issue_site(root / "ca", "edge", root / "edge")  # the zone worker run as its own process
    trust(control, edge.cert)
    trust(edge, control.cert)
    return control, issue_site(root / "foreign-ca", "intruder", root / "intruder"), edge


def running_redis(tls=None):
    try:
        return Redis(tls)
    except DaemonUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def redis():
    with running_redis() as server:
        yield server


@pytest.fixture(scope="module")
def zone(redis, pki):
    site = pki[0]
    loaded = load_inventory(LOCALHOST)
    collectors = {name: Counting(c) for name, c in default_collectors().items()}
    scope = ZoneScope(loaded, ZONE, collectors)
    app = zone_app(redis.url, site, zones=[ZONE, EDGE], timeouts=loaded.inventory.scan.timeouts)
    register_zone_task(app, scope)
    reports: queue.Queue = queue.Queue()
    register_control_task(app, reports.put)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30,
                      queues=[f"zone.{ZONE}", CONTROL_QUEUE]):
        yield Zone(app, scope, reports, collectors)
    assert reports.empty(), "a report nobody waited for"


def test_a_signed_task_runs_its_collector_and_its_observation_reaches_the_control_side(zone):
    before = len(zone.collectors["host"].calls)
    task = zone.task()
    send_collect(zone.app, task)
    report = zone.report(task.scan_id)
    assert report.refused is None
    assert (report.host_name, report.collector, report.vantage) == ("localhost", "host", ZONE)
    assert report.inventory_digest == zone.scope.loaded.digest
    assert report.observation.outcome == Outcome.OK, report.observation.detail
    # Only the part asked for ran, on this machine, through the local transport.
    assert set(report.observation.data["parsed"]) == {"os_release"}
    assert report.observation.data["transport"] == "local"
    assert len(zone.collectors["host"].calls) == before + 1


def test_the_ports_collector_runs_on_loopback_too(zone):
    task = zone.task(collector="ports", parts=None)
    send_collect(zone.app, task)
    report = zone.report(task.scan_id)
    assert report.refused is None and report.collector == "ports"
    assert report.observation.outcome in (Outcome.OK, Outcome.TOOL_MISSING), report.observation.detail


def test_an_unsigned_task_is_refused_and_never_runs(zone, caplog):
    calls = zone.calls()
    task = zone.task()
    zone.publish_raw(task, lambda body: ("application/json", json.dumps(body)))
    zone.marker()
    assert zone.calls() == calls + 1  # the marker's run only
    assert "ContentDisallowed" in caplog.text or "untrusted" in caplog.text.lower()


def test_a_task_signed_by_a_foreign_key_is_refused_and_never_runs(zone, pki, caplog):
    intruder = pki[1]
    foreign = SecureSerializer(key=_key(intruder.key), cert=_cert(intruder.cert), digest="sha256")
    calls = zone.calls()
    task = zone.task()
    zone.publish_raw(task, lambda body: ("application/data", _text(foreign.serialize(body))))
    zone.marker()
    assert zone.calls() == calls + 1
    assert "Unknown certificate" in caplog.text or "SecurityError" in caplog.text


def test_a_task_signed_by_a_foreign_key_under_a_trusted_name_is_refused(zone, pki, caplog):
    """An intruder naming the control site as signer (its issuer and serial are not secret)."""
    site, intruder = pki[:2]
    from celery.security.certificate import Certificate

    class Impostor(Certificate):
        def get_id(self) -> str:
            return Certificate(site.cert.read_text()).get_id()

    forged = SecureSerializer(key=_key(intruder.key), cert=Impostor(intruder.cert.read_text()), digest="sha256")
    calls = zone.calls()
    zone.publish_raw(zone.task(), lambda body: ("application/data", _text(forged.serialize(body))))
    zone.marker()
    assert zone.calls() == calls + 1
    assert "Bad signature" in caplog.text or "SecurityError" in caplog.text


@pytest.mark.parametrize(("changes", "reason"), [
    ({"inventory_digest": "f" * 64}, Refusal.INVENTORY),
    ({"address": "127.0.0.2"}, Refusal.ADDRESS),
    ({"host_name": "db1"}, Refusal.HOST),
])
def test_a_signed_task_outside_the_workers_inventory_is_refused_and_logged(zone, caplog, changes, reason):
    calls = zone.calls()
    task = zone.task(**changes)
    with caplog.at_level(logging.WARNING, logger="scanner.app.zones.tasks"):
        send_collect(zone.app, task)
        report = zone.report(task.scan_id)
    assert report.refused == reason
    assert report.observation.outcome == Outcome.ERROR and report.observation.data == {}
    assert zone.calls() == calls  # nothing was scanned
    refusals = [r for r in caplog.records if r.name == "scanner.app.zones.tasks" and r.levelno == logging.WARNING]
    assert refusals and task.host_name in refusals[-1].getMessage() and task.address in refusals[-1].getMessage()


def test_a_signed_task_for_another_zone_is_refused(zone):
    """A message moved by hand from zone app's queue to this one still names zone app."""
    calls = zone.calls()
    task = zone.task(vantage="app")
    zone.publish_raw(task, lambda body: ("application/data", _signed(zone, body)))
    report = zone.report(task.scan_id)
    assert report.refused == Refusal.VANTAGE and zone.calls() == calls


def test_a_signed_but_malformed_task_is_refused_and_logged(zone, caplog):
    calls = zone.calls()
    kwargs = zone.task().model_dump(mode="json") | {"address": "127.0.0.1 -iL /etc/passwd"}
    with caplog.at_level(logging.WARNING, logger="scanner.app.zones.tasks"):
        zone.publish_raw(kwargs, lambda body: ("application/data", _signed(zone, body)))
        zone.marker()
    assert zone.calls() == calls + 1
    assert any("malformed" in r.getMessage() for r in caplog.records if r.name == "scanner.app.zones.tasks")


def test_readyscan_worker_serves_its_zone_in_its_own_process_with_its_own_key(zone, pki, redis, tmp_path):
    """`readyscan worker --zone edge` (prefork pool, the broker URL from a 0600 file), signing with
    the edge site's key; its answer reaches the control side, which trusts the edge certificate."""
    edge = pki[2]
    url_file = tmp_path / "broker-url"
    url_file.write_text(redis.url + "\n", encoding="utf-8")
    url_file.chmod(0o600)
    proc = subprocess.Popen([sys.executable, "-m", "scanner", "worker", str(LOCALHOST), "--zone", EDGE,
                             "--keys", str(edge.folder), "--broker-url-file", str(url_file), "--lang", "en"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={k: v for k, v in os.environ.items() if k != "READYSCAN_BROKER_URL"})
    try:
        task = zone.task(vantage=EDGE)
        send_collect(zone.app, task)
        report = zone.report(task.scan_id)
        assert report.refused is None and report.vantage == EDGE
        assert report.observation.outcome == Outcome.OK, report.observation.detail
        refused = zone.task(vantage=EDGE, address="127.0.0.3")
        send_collect(zone.app, refused)
        assert zone.report(refused.scan_id).refused == Refusal.ADDRESS
    finally:
        proc.terminate()  # warm shutdown
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    assert "takes tasks from queue zone.edge" in err


def test_a_worker_whose_broker_does_not_answer_says_so_and_exits(pki, capsys):
    site = pki[0]
    code = run_worker(ZONE, LOCALHOST, f"redis://127.0.0.1:{free_port()}/0", site, lang="en")
    assert code == EXIT_INCOMPLETE
    err = capsys.readouterr().err
    assert "Cannot reach the broker" in err and "Traceback" not in err


def test_a_worker_refuses_a_plain_broker_beyond_loopback_before_connecting(pki, capsys):
    site = pki[0]
    assert run_worker(ZONE, LOCALHOST, "redis://10.0.0.5:6379/0", site, lang="en") == EXIT_INPUT
    assert "rediss://" in capsys.readouterr().err


def test_a_worker_refuses_an_invalid_inventory(pki, tmp_path, capsys):
    site = pki[0]
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: 1\nhosts: []\n")
    assert run_worker(ZONE, bad, "redis://127.0.0.1:1/0", site, lang="en") == EXIT_INPUT
    assert "invalid" in capsys.readouterr().err


def test_a_worker_runs_only_in_a_zone_the_inventory_gives_a_scanner(pki, capsys):
    site = pki[0]
    # Refused before any broker is asked (port 1 would not answer): db has no scanner.
    assert run_worker("db", LOCALHOST, "redis://127.0.0.1:1/0", site, lang="en") == EXIT_INPUT
    err = " ".join(capsys.readouterr().err.split())
    assert "no scanner in zone 'db'" in err and "mgmt, edge" in err
    one_zone = ROOT / "inventories" / "localhost.yaml"  # no scanners listed: nothing for a worker to serve
    assert run_worker(ZONE, one_zone, "redis://127.0.0.1:1/0", site, lang="en") == EXIT_INPUT


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory):
    with running_redis(make_tls(tmp_path_factory.mktemp("redis-tls"))) as server:
        yield server


def test_a_tls_broker_is_reached_when_its_certificate_verifies(zone, pki, tls_redis):
    app = zone_app(tls_redis.url, pki[0], zones=[ZONE], broker_ca=tls_redis.tls.ca)
    check_broker(app)
    with app.connection_for_write() as conn:
        conn.default_channel.client.set("readyscan-tls", "1")
        assert conn.default_channel.client.get("readyscan-tls") == b"1"


@pytest.mark.parametrize("case", ["system trust store", "name not in the certificate"])
def test_a_tls_broker_whose_certificate_does_not_verify_is_refused(zone, pki, tls_redis, case):
    url, ca = tls_redis.url, tls_redis.tls.ca
    if case == "system trust store":
        ca = None  # the test CA is not in it
    else:
        url = url.replace("127.0.0.1", "localhost")  # the certificate names 127.0.0.1 only
    app = zone_app(url, pki[0], zones=[ZONE], broker_ca=ca)
    with pytest.raises(ZoneSetupError) as info:
        check_broker(app)
    assert info.value.key == "zones.broker_unreachable"
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value), str(info.value)
    assert ("Hostname mismatch" in str(info.value)) == (case == "name not in the certificate")


def _signed(zone: Zone, body) -> str:
    from kombu.serialization import registry

    _, _, payload = registry.dumps(body, serializer="auth")
    return _text(payload)


def _text(payload: str | bytes) -> str:
    return payload.decode() if isinstance(payload, bytes) else payload


def _key(path: Path):
    from celery.security.key import PrivateKey

    return PrivateKey(path.read_text())


def _cert(path: Path):
    from celery.security.certificate import Certificate

    return Certificate(path.read_text())

