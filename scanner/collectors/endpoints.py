"""What the collectors of per-service facts (tls, http) share: the endpoints planned per host,
one observation per host sent as soon as all of its endpoints are in, and the CA bundle."""

from __future__ import annotations

import ssl
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from pydantic import BaseModel

from scanner.collectors.base import ScanContext, Sink, observation
from scanner.model import Outcome, utcnow


def cap(text: object, limit: int = 1024) -> str:
    """Target text (certificate fields, error messages) cut to `limit` characters."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "…"


class Plan(Protocol):
    host: str
    port: int


class EndpointBatch:
    """Endpoint facts as they arrive, in any order; a host's observation lists its endpoints in the
    order the inventory declares them. A host without endpoints is sent at once with none."""

    def __init__(self, collector: str, plans: dict[str, list[Plan]],
                 facts: Callable[[tuple[Any, ...]], BaseModel], sink: Sink):
        self.collector, self.plans, self.facts, self.sink = collector, plans, facts, sink
        self.started = utcnow()
        self._done: dict[str, dict[int, Any]] = {host: {} for host in plans}
        for host, host_plans in plans.items():
            if not host_plans:
                self._send(host)

    @property
    def todo(self) -> list[Plan]:
        return [plan for host_plans in self.plans.values() for plan in host_plans]

    def done(self, plan: Plan, endpoint: Any) -> None:
        self._done[plan.host][plan.port] = endpoint
        if len(self._done[plan.host]) == len(self.plans[plan.host]):
            self._send(plan.host)

    def fail(self, outcome: Outcome, detail: str) -> None:
        """No facts for any host that has endpoints (e.g. the CA bundle cannot be read)."""
        for host, host_plans in self.plans.items():
            if host_plans:
                self.sink(host, observation(self.collector, self.started, outcome, detail))

    def _send(self, host: str) -> None:
        endpoints = tuple(self._done[host][plan.port] for plan in self.plans[host])
        self.sink(host, observation(self.collector, self.started,
                                    data=self.facts(endpoints).model_dump(mode="json")))


class CaBundleError(Exception):
    pass


def ca_bundle(ctx: ScanContext) -> Path | None:
    """The inventory's scan.ca_bundle (an internal CA to trust), resolved and checked to hold PEM
    certificates; None when not set."""
    path = ctx.loaded.resolve(ctx.inventory.scan.ca_bundle)
    if path is None:
        return None
    try:
        x509.load_pem_x509_certificates(path.read_bytes())
    except OSError as exc:
        raise CaBundleError(f"scan.ca_bundle {path}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise CaBundleError(f"scan.ca_bundle {path}: no PEM certificate in it ({exc})") from None
    return path


def permissive_tls_context() -> ssl.SSLContext:
    """A client that still completes a handshake with a server stuck on TLS 1.0/1.1, weak suites
    or small DH keys (OpenSSL 3 refuses those above security level 0). It never verifies: it is
    for reading what a server whose TLS is already a finding answers, never for trusting it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # ssl.TLSVersion.TLSv1 is deprecated, and exactly what is needed
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("ALL:@SECLEVEL=0")
    context.options |= getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0)
    return context
