"""What `readyscan worker --zone Z --inventory INV` runs: a Celery worker on the zone's queue that
scans only the hosts of the inventory it was started with.

Everything is checked before it consumes: the inventory, the broker URL, the signing keys (and
the trusted certificates), and that the broker answers; a failure is one clear sentence and an
exit code, never a traceback or a silent retry loop.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

from celery import Celery
from celery.utils.nodenames import host_format
from kombu.exceptions import OperationalError

from scanner.app.exits import EXIT_INCOMPLETE, EXIT_INPUT, EXIT_OK
from scanner.app.zones.app import zone_app
from scanner.app.zones.broker import CONTROL_QUEUE, CONTROL_START_PATIENCE_SECONDS, redacted, zone_queue
from scanner.app.zones.errors import ZoneSetupError
from scanner.app.zones.scope import ZoneScope
from scanner.app.zones.security import SiteKeys
from scanner.app.zones.tasks import register_zone_task
from scanner.collectors.base import ScanOptions
from scanner.collectors.catalog import default_collectors
from scanner.connect import take_secrets
from scanner.i18n import DEFAULT_LANG, default_catalog
from scanner.inventory import InventoryError, load_inventory

BROKER_CHECK_SECONDS = 5
BROKER_RECHECK_SECONDS = 1.0


def check_broker(app: Celery, patience: float = 0.0) -> None:
    """Connection attempts, each with a deadline, for `patience` seconds (0: one attempt): a broker
    that does not answer by then is reported, not waited for in silence."""
    url = app.conf.broker_url
    give_up = time.monotonic() + patience
    while True:
        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_CHECK_SECONDS)
            return
        except (OperationalError, OSError) as exc:
            if time.monotonic() >= give_up:
                raise ZoneSetupError("broker_unreachable", url=redacted(url),
                                     reason=str(exc) or type(exc).__name__) from None
        time.sleep(BROKER_RECHECK_SECONDS)


def prepare_worker(zone: str, inventory_path: str | Path, broker_url: str, keys: SiteKeys, *,
                   options: ScanOptions | None = None, broker_ca: Path | None = None) -> tuple[Celery, ZoneScope]:
    """The app with the zone's collect task registered, ready to consume (raises on bad setup)."""
    zone_queue(zone)  # the zone name must make a queue name before anything else is read
    loaded = load_inventory(inventory_path)
    zones = loaded.inventory.scanner_zones
    if zone not in zones:  # a worker stands where the inventory says a scanner stands
        raise ZoneSetupError("zone_without_scanner", zone=zone, zones=", ".join(zones) or "-")
    app = zone_app(broker_url, keys, zones=[zone], timeouts=loaded.inventory.scan.timeouts, broker_ca=broker_ca)
    scope = ZoneScope(loaded, zone, default_collectors(), options=options or ScanOptions(),
                      secrets=take_secrets(loaded))
    register_zone_task(app, scope)
    return app, scope


def run_worker(zone: str, inventory_path: str | Path, broker_url: str, keys: SiteKeys, *,
               concurrency: int = 1, options: ScanOptions | None = None, broker_ca: Path | None = None,
               lang: str = DEFAULT_LANG, err: TextIO | None = None) -> int:
    """Run a zone's worker until it is stopped (SIGTERM/Ctrl-C: Celery's warm shutdown, the task
    at hand finishes). Returns the exit code."""
    err = err or sys.stderr
    try:
        app, scope = prepare_worker(zone, inventory_path, broker_url, keys, options=options, broker_ca=broker_ca)
    except InventoryError as exc:
        print(default_catalog().text("cli.inventory_invalid", lang, count=len(exc.issues)), file=err)
        print(str(exc), file=err)
        return EXIT_INPUT
    except ZoneSetupError as exc:
        print(exc.text(lang), file=err)
        return EXIT_INPUT
    try:
        check_broker(app)
    except ZoneSetupError as exc:
        print(exc.text(lang), file=err)
        return EXIT_INCOMPLETE
    queue = zone_queue(zone)
    print(default_catalog().text("zones.worker_started", lang, zone=zone, queue=queue,
                                 digest=scope.loaded.digest[:12]), file=err)
    worker = app.Worker(queues=[queue], concurrency=concurrency, pool="prefork", hostname=host_format(f"{zone}@%h"),
                        loglevel="INFO", quiet=True, without_mingle=True, without_gossip=True)
    worker.start()
    return worker.exitcode or EXIT_OK


def run_control_worker(inventory_path: str | Path, broker_url: str, keys: SiteKeys, database_url: str, *,
                       broker_ca: Path | None = None, lang: str = DEFAULT_LANG, err: TextIO | None = None) -> int:
    """Run the control worker of a scan from several zones: it takes the zones' reports from the
    control queue and keeps each in the store (PostgreSQL), until it is stopped. One process, one
    database connection (solo pool): SQLAlchemy's pool cannot cross a fork."""
    # Here, not at the top: a zone worker never loads SQLAlchemy.
    from scanner.app.errors import CatalogError
    from scanner.app.store.api import Store
    from scanner.app.zones.control import store_report
    from scanner.app.zones.tasks import register_control_task

    err = err or sys.stderr
    try:
        loaded = load_inventory(inventory_path)
        app = zone_app(broker_url, keys, zones=loaded.inventory.scanner_zones, timeouts=loaded.inventory.scan.timeouts,
                       broker_ca=broker_ca)
        store = Store(database_url)
        store.ping()
    except InventoryError as exc:
        print(default_catalog().text("cli.inventory_invalid", lang, count=len(exc.issues)), file=err)
        print(str(exc), file=err)
        return EXIT_INPUT
    except CatalogError as exc:  # keys, broker URL, an unreachable database
        print(exc.text(lang), file=err)
        return EXIT_INPUT if isinstance(exc, ZoneSetupError) else EXIT_INCOMPLETE
    try:
        # The scan that started this worker reached the broker a moment ago: one that is away now
        # is restarting, so wait for it as long as a publisher would (CONTROL_START_PATIENCE_SECONDS).
        check_broker(app, patience=CONTROL_START_PATIENCE_SECONDS)
    except ZoneSetupError as exc:
        print(exc.text(lang), file=err)
        return EXIT_INCOMPLETE
    register_control_task(app, store_report(store.put_observation))
    print(default_catalog().text("zones.control_started", lang, queue=CONTROL_QUEUE, url=store.safe_url), file=err)
    worker = app.Worker(queues=[CONTROL_QUEUE], concurrency=1, pool="solo", hostname=host_format("control@%h"),
                        loglevel="INFO", quiet=True, without_mingle=True, without_gossip=True)
    try:
        worker.start()
    finally:
        store.close()
    return worker.exitcode or EXIT_OK
