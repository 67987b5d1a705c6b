"""Which declared services of a host are TLS endpoints, and how each is reached (pure).

Endpoints are the declared services that speak TLS from the first byte (https, smtps, imaps,
pop3s, ldaps, ftps) or after STARTTLS (smtp, imap, pop3, ftp, ldap, PostgreSQL on 5432). Each is
reached at the address planned for its host, with the host's fqdn as SNI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scanner.facts.tls import TlsEndpoint
from scanner.inventory import Host

# Services that start TLS at once, and those that upgrade a plain session (sslyze's enum names).
IMPLICIT_TLS_KINDS = frozenset({"https", "smtps", "imaps", "pop3s", "ldaps", "ftps"})
STARTTLS_KINDS = {"smtp": "SMTP", "imap": "IMAP", "pop3": "POP3", "ftp": "FTP", "ldap": "LDAP"}
STARTTLS_DB_PORTS = {5432: "POSTGRES"}
# A mail/directory kind declared on its implicit-TLS port (smtp on 465...) speaks TLS at once.
IMPLICIT_TLS_PORTS = frozenset({465, 636, 990, 993, 995})


@dataclass(frozen=True)
class EndpointPlan:
    host: str
    port: int
    kind: str
    service_name: str | None
    address: str
    server_name: str
    starttls: str | None  # a ProtocolWithOpportunisticTlsEnum name

    def endpoint(self, **facts: Any) -> TlsEndpoint:
        return TlsEndpoint(port=self.port, kind=self.kind, service_name=self.service_name, address=self.address,
                           server_name=self.server_name, starttls=self.starttls, **facts)


def plan_endpoints(host: Host, address: str) -> list[EndpointPlan]:
    """The TLS endpoints among the host's declared services (pure)."""
    server_name = host.fqdn or host.address
    plans = []
    for svc in host.services:
        if svc.proto != "tcp":
            continue
        if svc.kind in IMPLICIT_TLS_KINDS or (svc.kind in STARTTLS_KINDS and svc.port in IMPLICIT_TLS_PORTS):
            starttls = None
        elif svc.kind in STARTTLS_KINDS:
            starttls = STARTTLS_KINDS[svc.kind]
        elif svc.kind == "db" and svc.port in STARTTLS_DB_PORTS:
            starttls = STARTTLS_DB_PORTS[svc.port]
        else:
            continue
        plans.append(EndpointPlan(host.name, svc.port, svc.kind, svc.name, address, server_name, starttls))
    return plans
