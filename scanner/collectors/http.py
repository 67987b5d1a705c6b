"""The HTTP collector: `GET /` and `TRACE /` on every declared http and https service, through
one requests.Session.

We connect to the address planned for the host (`ctx.address`) and send the host's fqdn as the
Host header and, over https, as SNI and the name the certificate must match, so the fqdn is never
looked up. Certificates are verified (inventory CA bundle + system/certifi roots); when
verification fails, or the handshake fails at today's TLS settings (a server offering only TLS
1.0/1.1 or weak suites), both already TLS findings, that endpoint is probed again without
verification (and, for the handshake, with a permissive client: TLS 1.0+, security level 0) to
read its headers, and the facts say which retry it took. Redirects are not followed; bodies are read up to a cap; each
endpoint has a time budget, so a server that drips bytes cannot hold the scan.
"""

from __future__ import annotations

import ipaddress
import queue
import secrets
import ssl
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InsecureRequestWarning

from scanner import __version__
from scanner.collectors.base import ScanContext, Sink
from scanner.collectors.endpoints import CaBundleError, EndpointBatch, ca_bundle, cap, permissive_tls_context
from scanner.facts.endpoint import EndpointError
from scanner.facts.http import Header, HttpEndpoint, HttpFacts, HttpResponse
from scanner.inventory import Host
from scanner.model import Outcome

BODY_READ_CAP = 64 * 1024  # what we read of a body at most
BODY_KEPT = 16 * 1024  # what we keep of it as evidence (listing markers sit at the top)
HEADERS_KEPT = 100
HEADER_VALUE_CAP = 4096
# Requests an endpoint may cost (GET, GET again unverified, TRACE), each bounded by the timeout.
REQUESTS_PER_ENDPOINT = 3
TRACE_MARKER = "X-Readyscan-Trace"
USER_AGENT = f"readyscan/{__version__} (security readiness scan)"
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class HttpPlan:
    host: str
    port: int
    kind: str
    service_name: str | None
    address: str
    host_header: str
    url: str

    def endpoint(self, **facts: Any) -> HttpEndpoint:
        return HttpEndpoint(port=self.port, kind=self.kind, service_name=self.service_name, address=self.address,
                            host_header=self.host_header, url=self.url, **facts)


def _bracketed(name: str) -> str:
    try:
        return f"[{name}]" if ipaddress.ip_address(name).version == 6 else name
    except ValueError:
        return name


def plan_endpoints(host: Host, address: str) -> list[HttpPlan]:
    """The declared http/https services of a host (pure)."""
    name = _bracketed(host.fqdn or host.address)
    plans = []
    for svc in host.services:
        if svc.proto != "tcp" or svc.kind not in ("http", "https"):
            continue
        default_port = 80 if svc.kind == "http" else 443
        host_header = name if svc.port == default_port else f"{name}:{svc.port}"
        url = f"{svc.kind}://{_bracketed(address)}:{svc.port}/"
        plans.append(HttpPlan(host.name, svc.port, svc.kind, svc.name, address, host_header, url))
    return plans


def server_name(host_header: str) -> str:
    """The name part of a Host header value (`name`, `name:port`, `[v6]:port`)."""
    if host_header.startswith("["):
        return host_header[1:host_header.find("]")]
    return host_header.rsplit(":", 1)[0]


class PinnedAddressAdapter(HTTPAdapter):
    """The URL carries the address to connect to; the Host header carries the name for SNI and
    certificate matching. Verified and unverified requests use separate SSL contexts (urllib3
    sets verify_mode on the context it is given); a `legacy` adapter's unverified context is
    the permissive one."""

    def __init__(self, ca_file: Path | None, legacy: bool = False):
        self.verified_context = ssl.create_default_context()
        if ca_file is not None:
            self.verified_context.load_verify_locations(cafile=str(ca_file))
        if legacy:
            self.unverified_context = permissive_tls_context()
        else:
            self.unverified_context = ssl.create_default_context()
            self.unverified_context.check_hostname = False
            self.unverified_context.verify_mode = ssl.CERT_NONE
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if host_params["scheme"] == "https":
            pool_kwargs["ssl_context"] = self.verified_context if verify else self.unverified_context
            pool_kwargs["server_hostname"] = server_name(request.headers.get("Host", ""))
        return host_params, pool_kwargs


def make_session(ca_file: Path | None, legacy: bool = False) -> requests.Session:
    # The unverified retry is deliberate and recorded in the facts; urllib3's warning about it
    # would only be noise on stderr.
    warnings.filterwarnings("ignore", category=InsecureRequestWarning)
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the environment: talk to the target only
    adapter = PinnedAddressAdapter(ca_file, legacy)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


# -- one endpoint ------------------------------------------------------------------------------

def _caused_by(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first exception of `kind` in exc's cause/context/reason chain."""
    stack, seen = [exc], set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        stack += [e for e in linked if isinstance(e, BaseException)]
    return None


def probe_error(exc: BaseException) -> EndpointError:
    detail = cap(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, requests.exceptions.Timeout) or _caused_by(exc, TimeoutError):
        return EndpointError(reason="timeout", detail=detail)
    if isinstance(exc, requests.exceptions.SSLError) or _caused_by(exc, ssl.SSLError):
        return EndpointError(reason="tls_handshake_failed", detail=detail)
    if _caused_by(exc, ConnectionRefusedError):
        return EndpointError(reason="refused", detail=detail)
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.ContentDecodingError):
        return EndpointError(reason="protocol_error", detail=detail)
    return EndpointError(reason="error", detail=detail)


def read_response(response: requests.Response, deadline: float) -> HttpResponse:
    """Status, headers as received and a capped body prefix; stops at the cap or the deadline."""
    try:
        raw_headers = list(response.raw.headers.items())
        body = bytearray()
        while len(body) < BODY_READ_CAP and time.monotonic() < deadline:
            chunk = response.raw.read(min(16384, BODY_READ_CAP - len(body)), decode_content=True)
            if not chunk:
                break
            body += chunk
        truncated = len(body) >= BODY_READ_CAP or time.monotonic() >= deadline
    finally:
        response.close()
    try:
        text = bytes(body).decode(response.encoding or "utf-8", errors="replace")
    except LookupError:  # a charset name Python does not know
        text = bytes(body).decode("utf-8", errors="replace")
    headers = tuple(Header(name=cap(n, 256), value=cap(v, HEADER_VALUE_CAP)) for n, v in raw_headers[:HEADERS_KEPT])
    long_value = any(len(v) > HEADER_VALUE_CAP or len(n) > 256 for n, v in raw_headers)
    return HttpResponse(status=response.status_code, reason=cap(response.reason or "", 256), headers=headers,
                        headers_truncated=len(raw_headers) > HEADERS_KEPT or long_value,
                        body_prefix=text[:BODY_KEPT], body_bytes_read=len(body),
                        body_truncated=truncated or len(text) > BODY_KEPT)


def tls_fallback_for(exc: BaseException) -> tuple[str, BaseException] | None:
    """Which retry a failed https GET deserves, with the error that calls for it: "unverified"
    for a certificate that did not verify, "legacy_tls" for a handshake today's client settings
    refuse; None for everything else (timeouts, refusals, resets keep their own error)."""
    if (verify_error := _caused_by(exc, ssl.SSLCertVerificationError)) is not None:
        return "unverified", verify_error
    if _caused_by(exc, TimeoutError) or isinstance(exc, requests.exceptions.Timeout):
        return None
    if (handshake_error := _caused_by(exc, ssl.SSLError)) is not None:
        return "legacy_tls", handshake_error
    return None


def probe_endpoint(session: requests.Session, plan: HttpPlan, timeout: tuple[float, float],
                   deadline: float, legacy_session: requests.Session | None = None) -> HttpEndpoint:
    marker = secrets.token_hex(8)
    through = session

    def send(method: str, verify: bool) -> HttpResponse:
        headers = {"Host": plan.host_header, "User-Agent": USER_AGENT, "Accept": "*/*", "Connection": "close"}
        if method == "TRACE":
            headers[TRACE_MARKER] = marker
        response = through.request(method, plan.url, headers=headers, timeout=timeout, verify=verify,
                                   allow_redirects=False, stream=True)
        return read_response(response, deadline)

    tls = {"tls_verified": True} if plan.kind == "https" else {}
    verify = True
    try:
        get = send("GET", verify=True)
    except Exception as exc:
        fallback = tls_fallback_for(exc) if plan.kind == "https" else None
        if fallback is None or (fallback[0] == "legacy_tls" and legacy_session is None):
            return plan.endpoint(error=probe_error(exc))
        # The certificate or the old TLS is a TLS finding already: read the headers anyway.
        kind, cause = fallback
        tls = {"tls_verified": False, "tls_verify_error": cap(cause), "retried_unverified": True,
               "tls_fallback": kind}
        verify = False
        if kind == "legacy_tls":
            through = legacy_session
        try:
            get = send("GET", verify=False)
        except Exception as retry_exc:
            return plan.endpoint(**tls, error=probe_error(retry_exc))
    try:
        trace = send("TRACE", verify=verify)
        trace_facts = {"trace": trace, "trace_echoed": marker in trace.body_prefix}
    except Exception as exc:
        trace_facts = {"trace_error": probe_error(exc)}
    return plan.endpoint(**tls, get=get, **trace_facts)


# -- all endpoints -----------------------------------------------------------------------------

def run_with_budgets(jobs: list[Callable[[], HttpEndpoint]], concurrency: int, budget: float,
                     stop: threading.Event, on_done: Callable[[int, HttpEndpoint | EndpointError], None]) -> None:
    """Run jobs on daemon threads, at most `concurrency` at once. A job still running after
    `budget` seconds is abandoned (its thread ends on its own socket timeouts; its result is
    never read) and its slot given to the next job."""
    results: queue.Queue = queue.Queue()
    running: dict[int, float] = {}
    next_job = 0

    def call(index: int) -> None:
        try:
            results.put((index, jobs[index]()))
        except Exception as exc:  # a bug in one probe must not lose the others
            results.put((index, EndpointError(reason="error", detail=cap(f"{type(exc).__name__}: {exc}"))))

    while next_job < len(jobs) or running:
        if stop.is_set():
            for index in [*running, *range(next_job, len(jobs))]:
                on_done(index, EndpointError(reason="interrupted", detail="the scan was interrupted"))
            return
        while next_job < len(jobs) and len(running) < concurrency:
            running[next_job] = time.monotonic()
            threading.Thread(target=call, args=(next_job,), name=f"http-{next_job}", daemon=True).start()
            next_job += 1
        try:
            index, result = results.get(timeout=POLL_SECONDS)
            if running.pop(index, None) is not None:
                on_done(index, result)
        except queue.Empty:
            pass
        now = time.monotonic()
        for index, started in list(running.items()):
            if now - started > budget:
                del running[index]
                on_done(index, EndpointError(reason="phase_timeout", detail=f"not finished within {budget:g}s"))


class HttpCollector:
    name = "http"

    def applies_to(self, ctx: ScanContext, host: Host) -> bool:
        # Every host: one without a declared web service gets an empty list, so its HTTP checks
        # say not_applicable (from the inventory) rather than unknown.
        return True

    def collect(self, ctx: ScanContext, hosts: list[Host], sink: Sink) -> None:
        batch = EndpointBatch(self.name, {h.name: plan_endpoints(h, ctx.address(h)) for h in hosts},
                              lambda endpoints: HttpFacts(endpoints=endpoints), sink)
        todo = batch.todo
        if not todo:
            return
        try:
            ca_file = ca_bundle(ctx)
        except CaBundleError as exc:
            batch.fail(Outcome.ERROR, str(exc))
            return
        timeouts = ctx.inventory.scan.timeouts
        timeout = (min(timeouts.connect, timeouts.http), timeouts.http)
        budget = timeouts.http * REQUESTS_PER_ENDPOINT + 1
        session, legacy_session = make_session(ca_file), make_session(ca_file, legacy=True)

        def job(plan: HttpPlan) -> Callable[[], HttpEndpoint]:
            return lambda: probe_endpoint(session, plan, timeout, time.monotonic() + budget, legacy_session)

        def on_done(index: int, result: HttpEndpoint | EndpointError) -> None:
            plan = todo[index]
            batch.done(plan, plan.endpoint(error=result) if isinstance(result, EndpointError) else result)

        try:
            run_with_budgets([job(p) for p in todo], ctx.inventory.scan.concurrency, budget, ctx.stop, on_done)
        finally:
            session.close()
            legacy_session.close()
