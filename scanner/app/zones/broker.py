"""Pure rules of the distributed mode: queue names, where the broker URL comes from and which
URLs are acceptable, and the time limits a task and the broker's redelivery live by.

No Celery here: these rules are tested without a broker, and the CLI can check a URL before
importing the engine.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from scanner.app.secreturl import secret_url
from scanner.app.zones.errors import ZoneSetupError
from scanner.inventory import NAME_RE, Timeouts

BROKER_ENV = "READYSCAN_BROKER_URL"
ZONE_QUEUE_PREFIX = "zone."
CONTROL_QUEUE = "readyscan.control"
COLLECT_TASK = "readyscan.zones.collect"
CONTROL_TASK = "readyscan.zones.control"

# After the soft limit the task itself reports the timeout (an observation saying so); the hard
# limit kills it only if a collector does not let go. This is the time the report may take.
HARD_LIMIT_GRACE_SECONDS = 30
# Between a collector's last own deadline and its observation: threads joining, parsing a large
# output, building the facts. The soft limit leaves it, so it never cuts a collector that keeps
# to its budgets.
SOFT_LIMIT_SLACK_SECONDS = 30
# The worst case of each collector, in units of scan.timeouts (task_time_limits explains each).
SSH_CONNECT_STEPS = 7  # TCP, banner, authentication on a jump host, its tunnel, the same three on the host
SSH_SESSION_OPEN_SECONDS = 30  # transport/ssh.py: a session opens within min(timeout, 30) s
HOST_RUNS = 4  # scripts after `id -u`: plain, sudo, plain again when sudo fails, the lost frames asked again
SSH_PROBES_PER_SERVICE = 2  # sshserver: the algorithms, then the authentication methods
# Open TCP ports whose service is asked after nmap (identify.py, PORT_BUDGET s each, concurrency at
# once): the default port set (top1000) all open at the default concurrency (16).
IDENTIFIED_PORTS, IDENTIFY_CONCURRENCY = 1000, 16
# Redis redelivers a message not acknowledged within visibility_timeout, even to a worker still
# running it (kombu's Redis transport emulates acknowledgement that way). With acks_late a message
# is acknowledged after its task returned and its link was sent, so the timeout must exceed the
# hard limit by the time a busy broker, a reconnection and the link's publication may add.
VISIBILITY_FACTOR = 1.25
VISIBILITY_MARGIN_SECONDS = 60
# A broker restart (docs/zones.md: Redis with its append-only file, so the queues survive it) takes
# seconds. Whoever publishes meanwhile (the scan sending its tasks, a zone worker sending its
# report through the task's link) retries for about half a minute before it gives up:
# 0.5 + 1.5 + 2.5 + 3.5 + 4.5 + 5 * 5 = 37.5 s of waits over 10 retries.
PUBLISH_RETRIES = 10
PUBLISH_RETRY_START, PUBLISH_RETRY_STEP, PUBLISH_RETRY_MAX = 0.5, 1.0, 5.0
# The control worker is started by the scan, which has just reached the broker: a broker away at
# that moment is restarting, so the control worker waits for it as long as a publisher would.
CONTROL_START_PATIENCE_SECONDS = 40
# How often a task may be delivered before the worker reports it instead of running it again:
# with acks_late a task whose run kills its worker (the pool process killed, out of memory) goes
# back to the queue, and a host that reliably kills it would loop forever.
MAX_DELIVERIES = 3
DELIVERIES_KEY_PREFIX = "readyscan.deliveries."

_ZONE_NAME = re.compile(NAME_RE)
_SAFE_CERT_REQS = {"required", "cert_required"}


def zone_queue(zone: str) -> str:
    """The queue a zone's worker consumes: one per zone, so a task only reaches that zone."""
    if not _ZONE_NAME.match(zone):
        raise ZoneSetupError("bad_zone_name", zone=zone)
    return ZONE_QUEUE_PREFIX + zone


def collector_worst_cases(timeouts: Timeouts) -> dict[str, float]:
    """The longest each collector runs on one host while it keeps to its own deadlines, from
    scan.timeouts (T). Read from the collectors themselves:

    - host: the SSH connection, each step within T.connect (TCP, banner, authentication: on the
      host, and before that on one jump host and through its tunnel: SSH_CONNECT_STEPS); `id -u`
      within T.command; then up to HOST_RUNS scripts, each within its budget, which is never more
      than T.host (collectors/host.py: plain; sudo; plain again when sudo fails; the probes whose
      frames were lost, asked again). Every run may first wait SSH_SESSION_OPEN_SECONDS for its
      session. With the defaults: 35 + 60 + 4 * 300 + 5 * 30 = 1445 s. A host's own
      `ssh.connect_timeout`/`command_timeout` above scan.timeouts are not counted: such a host
      may meet the soft limit and end `timeout`, never `pass`.
    - ports: nmap, stopped at T.nmap, then the open TCP ports asked what they run, PORT_BUDGET
      seconds each, scan.concurrency at once (IDENTIFIED_PORTS at IDENTIFY_CONCURRENCY: 189 s).
    - tls: one deadline, T.tls, for the STARTTLS precheck and sslyze together, plus one network
      timeout (T.connect) for the socket operation under way at the deadline.
    - http: REQUESTS_PER_ENDPOINT requests within T.http each, plus 1 s, per endpoint; a host's
      endpoints run side by side.
    - sshserver: two probes per declared SSH service, each within T.connect.
    """
    from scanner.collectors.http import REQUESTS_PER_ENDPOINT  # here: the CLI checks URLs without the collectors
    from scanner.collectors.identify import PORT_BUDGET

    runs = 1 + HOST_RUNS
    return {
        "host": SSH_CONNECT_STEPS * timeouts.connect + timeouts.command + HOST_RUNS * timeouts.host
        + runs * SSH_SESSION_OPEN_SECONDS,
        "ports": timeouts.nmap + math.ceil(IDENTIFIED_PORTS / IDENTIFY_CONCURRENCY) * PORT_BUDGET,
        "tls": timeouts.tls + timeouts.connect,
        "http": REQUESTS_PER_ENDPOINT * timeouts.http + 1,
        "sshserver": SSH_PROBES_PER_SERVICE * timeouts.connect,
    }


def task_time_limits(timeouts: Timeouts) -> tuple[float, float]:
    """(soft, hard) limits of one task (one host, one collector) from the inventory's timeouts.

    One pair for every task (Celery's limits are the app's): the slowest collector's worst case
    (collector_worst_cases) plus SOFT_LIMIT_SLACK_SECONDS, so the soft limit only stops a
    collector that overran its own deadlines; it then reports `timeout` itself. The hard limit
    adds HARD_LIMIT_GRACE_SECONDS for that report. The broker's visibility timeout
    (visibility_timeout) is derived from the hard limit and always exceeds it, and a scan gives a
    silent zone up only after one hard limit (scan.py)."""
    soft = math.ceil(max(collector_worst_cases(timeouts).values())) + SOFT_LIMIT_SLACK_SECONDS
    return soft, soft + HARD_LIMIT_GRACE_SECONDS


def visibility_timeout(hard_limit: float) -> int:
    """Seconds Redis waits before redelivering an unacknowledged task: always above the hard limit."""
    if hard_limit <= 0:
        raise ValueError("a task time limit is positive")
    return math.ceil(hard_limit * VISIBILITY_FACTOR) + VISIBILITY_MARGIN_SECONDS


def publish_retry_policy() -> dict:
    """kombu's retry policy for every message this app publishes (tasks and reports)."""
    return {"max_retries": PUBLISH_RETRIES, "interval_start": PUBLISH_RETRY_START,
            "interval_step": PUBLISH_RETRY_STEP, "interval_max": PUBLISH_RETRY_MAX}


def deliveries_key(task_id: str) -> str:
    """The broker key counting one task's deliveries (its id is kept across redeliveries)."""
    return DELIVERIES_KEY_PREFIX + task_id


def deliveries_expiry(hard_limit: float) -> int:
    """Seconds a delivery count is kept: past the last redelivery the cap can see (a worker lost
    whole is redelivered only after the visibility timeout)."""
    return visibility_timeout(hard_limit) * (MAX_DELIVERIES + 1)


def over_delivery_cap(deliveries: int) -> bool:
    """True when this delivery is one too many: the task is reported, not run again."""
    return deliveries > MAX_DELIVERIES


def redacted(url: str) -> str:
    """The URL with any password replaced, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return parts._replace(netloc=user + netloc).geturl()


def _is_loopback(host: str) -> bool:
    if host == "localhost":  # resolved by /etc/hosts, never asked of DNS
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_broker_url(url: str) -> str:
    """The URL if it is one a zone may use: Redis over TLS with certificate verification, or plain
    Redis on this machine's loopback (the lab, the tests). Raises ZoneSetupError otherwise."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - a malformed port raises here, not later in the broker client
    except ValueError:
        raise ZoneSetupError("broker_url_malformed", url=redacted(url)) from None
    if parts.scheme not in ("redis", "rediss") or not host:
        raise ZoneSetupError("broker_url_scheme", url=redacted(url))
    if parts.scheme == "redis" and not _is_loopback(host):
        raise ZoneSetupError("broker_url_plain", host=host)
    reqs = parse_qs(parts.query).get("ssl_cert_reqs", [])
    if parts.scheme == "rediss" and any(r.lower() not in _SAFE_CERT_REQS for r in reqs):
        raise ZoneSetupError("broker_url_unverified", host=host)
    return url


def read_broker_url(environ: Mapping[str, str], file: Path | None = None) -> str:
    """The broker URL, read as every secret URL is (scanner/app/secreturl.py: the file named, else
    READYSCAN_BROKER_URL or the 0600 file READYSCAN_BROKER_URL_FILE names), then checked."""
    return check_broker_url(secret_url(BROKER_ENV, environ, file))
