"""The Celery application of the distributed mode: its settings in one place.

A task is one host and one collector; it is signed (`auth`), never pickled, keeps no result (the
observation travels on as a signed task to the control queue, through the task's `link`), and is
acknowledged only after it ran, so a worker killed mid-task leaves it to be delivered again.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from pathlib import Path

from celery import Celery
from kombu import Exchange, Queue

from scanner.app.zones.broker import (
    CONTROL_QUEUE,
    CONTROL_TASK,
    check_broker_url,
    publish_retry_policy,
    task_time_limits,
    visibility_timeout,
    zone_queue,
)
from scanner.app.zones.security import SiteKeys, install_security
from scanner.inventory import Timeouts


def zone_settings(broker_url: str, zones: Iterable[str], timeouts: Timeouts, broker_ca: Path | None = None) -> dict:
    """The app's configuration (pure: tested without a broker). `broker_ca`: the CA file that
    issued the broker's TLS certificate, when it is not in the system's trust store."""
    soft, hard = task_time_limits(timeouts)
    exchange = Exchange("readyscan", type="direct")
    queues = [Queue(zone_queue(z), exchange, routing_key=zone_queue(z)) for z in sorted(set(zones))]
    queues.append(Queue(CONTROL_QUEUE, exchange, routing_key=CONTROL_QUEUE))
    settings = {
        "broker_url": check_broker_url(broker_url),
        # Signed JSON only: the auth serializer signs the JSON body; nothing else is accepted.
        "task_serializer": "auth",
        "accept_content": ["auth"],
        "result_accept_content": ["auth"],
        "event_serializer": "json",
        "worker_send_task_events": False,
        "task_send_sent_event": False,
        # No result backend: observations travel on as tasks to the control queue.
        "result_backend": None,
        "task_ignore_result": True,
        "task_store_errors_even_if_ignored": False,
        # Acknowledge after the task ran; a worker lost mid-task gives it back to the queue.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": soft,
        "task_time_limit": hard,
        "broker_transport_options": {"visibility_timeout": visibility_timeout(hard)},
        "task_queues": queues,
        "task_default_exchange": exchange.name,
        "task_default_queue": CONTROL_QUEUE,
        "task_default_routing_key": CONTROL_QUEUE,
        "task_create_missing_queues": False,
        "task_routes": {CONTROL_TASK: {"queue": CONTROL_QUEUE, "routing_key": CONTROL_QUEUE}},
        # The worker keeps running when the broker restarts: it reconnects (each attempt logged),
        # and the queues are still there when the broker keeps its append-only file
        # (docs/zones.md). At start a dead broker is an error the caller reports
        # (worker.check_broker), not an endless silent retry.
        "broker_connection_retry_on_startup": False,
        "broker_connection_retry": True,
        # Publishing (the scan's tasks, a worker's report through the task's link) outlasts a
        # broker restart; past the policy's window the publisher gets the error.
        "task_publish_retry": True,
        "task_publish_retry_policy": publish_retry_policy(),
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        "worker_disable_rate_limits": True,
        "enable_utc": True,
    }
    if broker_url.startswith("rediss://"):
        # Certificate and host name verified, whatever the URL's query says (check_broker_url
        # already refused a query that lowers it). kombu hands these to redis-py's SSLConnection.
        settings["broker_use_ssl"] = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_check_hostname": True}
        if broker_ca is not None:
            settings["broker_use_ssl"]["ssl_ca_certs"] = str(broker_ca)
    return settings


def zone_app(broker_url: str, security: SiteKeys, *, zones: Iterable[str] = (),
             timeouts: Timeouts | None = None, broker_ca: Path | None = None) -> Celery:
    """A Celery app for the zones (queues `zone.<name>` and the control queue), signing with the
    site's key. The tasks are registered by scanner.app.zones.tasks."""
    app = Celery("readyscan.zones", set_as_current=False)
    app.conf.update(zone_settings(broker_url, zones, timeouts or Timeouts(), broker_ca))
    install_security(app, security)
    return app
