"""Facts about declared HTTP and HTTPS services (from the http collector, which uses requests).

Per endpoint: the answer to `GET /` (status, headers as received, a capped body prefix, the
Location of a redirect) and to `TRACE /`. Every string is the target's: untrusted data, capped,
kept as received (markup, quotes and control characters included) for the reports to escape.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from scanner.facts.endpoint import EndpointError
from scanner.model import Frozen

SCHEMA_VERSION = 1

class Header(Frozen):
    name: str
    value: str


class HttpResponse(Frozen):
    status: int
    reason: str = ""
    headers: tuple[Header, ...] = ()  # in order, duplicates kept
    headers_truncated: bool = False  # more headers, or longer values, than we keep
    body_prefix: str = ""  # the first bytes of the body, decoded leniently
    body_bytes_read: int = 0
    body_truncated: bool = False  # the body went on past what we read

    def header(self, name: str) -> str | None:
        """The first value of a header (RFC 6797 §8.1: a UA processes only the first HSTS)."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        name = name.lower()
        return [h.value for h in self.headers if h.name.lower() == name]


class HttpEndpoint(Frozen):
    port: int
    proto: Literal["tcp"] = "tcp"
    kind: Literal["http", "https"]
    service_name: str | None = None
    address: str  # the IP we connected to
    host_header: str  # the name sent as Host (and as SNI / certificate name over https)
    url: str  # what was requested, with the address
    # https only: whether the certificate verified (inventory CA bundle + system/certifi roots);
    # when it did not, the probes were retried without verification, only to read headers.
    tls_verified: bool | None = None
    tls_verify_error: str | None = None  # why the verified request failed (certificate or handshake)
    retried_unverified: bool = False
    # How the retry connected: "unverified" (the certificate failed; same TLS settings otherwise),
    # or "legacy_tls" (no handshake at today's settings: TLS 1.0+, OpenSSL security level 0).
    # Either way the weak TLS or certificate is the TLS checks' finding; these facts only let
    # the HTTP checks judge the headers of a site that really answers.
    tls_fallback: Literal["unverified", "legacy_tls"] | None = None
    error: EndpointError | None = None  # GET / failed: there are no facts for this endpoint
    seen_from: str | None = None  # scans from several zones: the zone these facts were read from
    get: HttpResponse | None = None
    trace: HttpResponse | None = None
    trace_error: EndpointError | None = None
    trace_echoed: bool | None = None  # the TRACE body carried back our marker header

    @property
    def target(self) -> str:
        return f"{self.port}/{self.proto}"


class HttpFacts(Frozen):
    COLLECTOR: ClassVar[str] = "http"
    schema_version: int = SCHEMA_VERSION
    endpoints: tuple[HttpEndpoint, ...] = Field(default_factory=tuple)
