"""Web server hardening of every declared http/https service (XI.2.1.2 servers and applications,
XI.2.1.3 encrypted transport, XI.3.4 application attack prevention): redirect to https, HSTS,
security headers, version banners, directory listings and TRACE.

Judged from the answer to `GET /` (and `TRACE /`), per endpoint (`target="80/tcp"`). A plain
http service that redirects to https serves no content of its own: the content checks say
not_applicable there and judge the https service instead.
"""

from __future__ import annotations

import re
from typing import Any

from checks.endpoints import endpoint_checks
from checks.registry import HostContext, Verdict, failed, passed, verdict
from checks.settings import load_data
from scanner.facts.http import HttpEndpoint, HttpFacts, HttpResponse
from scanner.model import Frozen, Severity, Status

TRANSPORT = ("XI.2.1.2", "XI.2.1.3")
APPLICATION = ("XI.2.1.2", "XI.3.4")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# A version number: "1.22", "2.4.57", or a digit right after a product's slash ("PHP/7").
VERSION_RE = re.compile(r"\d+\.\d+|/\s*v?\d")
MAX_AGE_RE = re.compile(r'(?:^|;)\s*max-age\s*=\s*"?(\d+)"?\s*(?:;|$)', re.I)
EVIDENCE_VALUE_CAP = 512


class VersionHeader(Frozen):
    header: str
    source: str


class ListingMarker(Frozen):
    marker: str
    source: str


class HttpData(Frozen):
    version_headers: tuple[VersionHeader, ...]
    listing_markers: tuple[ListingMarker, ...]


def http_data() -> HttpData:
    return load_data("http", HttpData)


# -- pure rules ----------------------------------------------------------------------------------

def redirects_to_https(response: HttpResponse) -> bool:
    location = (response.header("Location") or "").strip().lower()
    return response.status in REDIRECT_STATUSES and location.startswith("https://")


def hsts_max_age(value: str) -> int | None:
    match = MAX_AGE_RE.search(value)
    return int(match.group(1)) if match else None


def csp_directive(policy: str, name: str) -> str | None:
    for directive in policy.split(";"):
        parts = directive.strip().split(None, 1)
        if parts and parts[0].lower() == name:
            return directive.strip()
    return None


def version_disclosures(response: HttpResponse, data: HttpData) -> list[str]:
    """`Header: value` lines whose value carries a version number."""
    found = []
    for row in data.version_headers:
        for value in response.header_values(row.header):
            if VERSION_RE.search(value):
                found.append(f"{row.header}: {value[:EVIDENCE_VALUE_CAP]}")
    return found


def listing_marker(response: HttpResponse, data: HttpData) -> str | None:
    body = response.body_prefix.lower()
    return next((row.marker for row in data.listing_markers if row.marker.lower() in body), None)


# -- verdict helpers -------------------------------------------------------------------------------

def endpoint_evidence(endpoint: HttpEndpoint) -> dict[str, Any]:
    evidence: dict[str, Any] = {"url": endpoint.url, "host_header": endpoint.host_header, "kind": endpoint.kind,
                                "port": endpoint.port}
    if endpoint.get is not None:
        evidence["status"] = endpoint.get.status
    if endpoint.kind == "https":
        evidence["tls_verified"] = endpoint.tls_verified
        if endpoint.retried_unverified:
            evidence["retried_unverified"] = True
            evidence["tls_verify_error"] = endpoint.tls_verify_error
            # "legacy_tls": the answer was read over TLS 1.0+/security level 0 because the server
            # completes no handshake at today's settings (the TLS checks' finding).
            evidence["tls_fallback"] = endpoint.tls_fallback or "unverified"
            # flat, for the evidence sentence: present only when the answer was read without
            # verifying the certificate, so the sentence that says so is chosen
            evidence["unverified_url"] = endpoint.url
    return evidence


def header_evidence(response: HttpResponse, *names: str) -> dict[str, Any]:
    """The headers as received, plus `header_<name>` (lowercase, `_` for `-`): the same values as one
    flat string an evidence sentence can name (a header name is no placeholder)."""
    out: dict[str, Any] = {name: [v[:EVIDENCE_VALUE_CAP] for v in response.header_values(name)] or None for name in names}
    out |= {f"header_{name.lower().replace('-', '_')}": "; ".join(out[name]) for name in names if out[name]}
    return out


def serves_content(endpoint: HttpEndpoint) -> Verdict | None:
    """not_applicable for a plain http service that only redirects to https; None otherwise."""
    if endpoint.kind == "http" and redirects_to_https(endpoint.get):
        return verdict(Status.NOT_APPLICABLE, "redirects_to_https",
                       evidence={"location": endpoint.get.header("Location")})
    return None


# -- the checks ------------------------------------------------------------------------------------

endpoint_check = endpoint_checks(HttpFacts, APPLICATION, endpoint_evidence)


@endpoint_check("http.redirect_https", Severity.MEDIUM, TRANSPORT)
def redirect_https(endpoint: HttpEndpoint, ctx: HostContext) -> Verdict:
    if endpoint.kind == "https":
        return verdict(Status.NOT_APPLICABLE, "already_https")
    response = endpoint.get
    location = response.header("Location")
    evidence = {"location": location}
    if redirects_to_https(response):
        return passed("redirects", evidence=evidence, location=location)
    if response.status in REDIRECT_STATUSES:
        return failed("redirect_not_https", evidence=evidence, location=location or "-")
    return failed("no_redirect", evidence=evidence, status=response.status)

@endpoint_check("http.hsts", Severity.MEDIUM, TRANSPORT)
def hsts(endpoint: HttpEndpoint, ctx: HostContext) -> Verdict:
    if endpoint.kind == "http":
        return verdict(Status.NOT_APPLICABLE, "plain_http")
    minimum = ctx.settings.tls.hsts_min_max_age
    value = endpoint.get.header("Strict-Transport-Security")
    evidence = {**header_evidence(endpoint.get, "Strict-Transport-Security"), "minimum_max_age": minimum}
    if value is None:
        return failed("missing", evidence=evidence)
    max_age = hsts_max_age(value)
    if max_age is None:
        return failed("invalid", evidence=evidence, value=value[:EVIDENCE_VALUE_CAP])
    if max_age < minimum:
        return failed("short", evidence=evidence, max_age=max_age, minimum=minimum)
    return passed("present", evidence=evidence, max_age=max_age)

@endpoint_check("http.csp", Severity.LOW)
def csp(endpoint: HttpEndpoint, ctx: HostContext) -> Verdict:
    if (na := serves_content(endpoint)) is not None:
        return na
    response = endpoint.get
    evidence = header_evidence(response, "Content-Security-Policy", "Content-Security-Policy-Report-Only")
    if (response.header("Content-Security-Policy") or "").strip():
        return passed("present", evidence=evidence)
    if response.header("Content-Security-Policy-Report-Only"):
        return failed("report_only", evidence=evidence)
    return failed("missing", evidence=evidence)

@endpoint_check("http.frame_options", Severity.MEDIUM)
def frame_options(endpoint: HttpEndpoint, ctx: HostContext) -> Verdict:
    if (na := serves_content(endpoint)) is not None:
        return na
    response = endpoint.get
    evidence = header_evidence(response, "X-Frame-Options", "Content-Security-Policy")
    ancestors = csp_directive(response.header("Content-Security-Policy") or "", "frame-ancestors")
    if ancestors:
        return passed("frame_ancestors", evidence=evidence, value=ancestors[:EVIDENCE_VALUE_CAP])
    xfo = (response.header("X-Frame-Options") or "").strip()
    if xfo.upper() in ("DENY", "SAMEORIGIN"):
        return passed("x_frame_options", evidence=evidence, value=xfo)
    if xfo:
        # ALLOW-FROM and anything else: ignored by current browsers.
        return failed("invalid", evidence=evidence, value=xfo[:EVIDENCE_VALUE_CAP])
    return failed("missing", evidence=evidence)

@endpoint_check("http.content_type_options", Severity.LOW)
def content_type_options(endpoint: HttpEndpoint, ctx: HostContext) -> Verdict:
    if (na := serves_content(endpoint)) is not None:
        return na
    value = (endpoint.get.header("X-Content-Type-Options") or "").strip()
    evidence = header_evidence(endpoint.get, "X-Content-Type-Options")
    if value.lower() == "nosniff":
        return passed("present", evidence=evidence)
    if value:
        return failed("invalid", evidence=evidence, value=value[:EVIDENCE_VALUE_CAP])
    return failed("missing", evidence=evidence)

@endpoint_check("http.version_disclosure", Severity.LOW, ("XI.2.1.2",))
def version_disclosure(endpoint: HttpEndpoint, ctx: HostContext) -> Verdict:
    data = http_data()
    evidence = header_evidence(endpoint.get, *(row.header for row in data.version_headers))
    disclosed = version_disclosures(endpoint.get, data)
    if disclosed:
        return failed("disclosed", evidence=evidence, headers=disclosed)
    return passed("none", evidence={k: v for k, v in evidence.items() if v})

@endpoint_check("http.directory_listing", Severity.MEDIUM)
def directory_listing(endpoint: HttpEndpoint, ctx: HostContext) -> Verdict:
    if (na := serves_content(endpoint)) is not None:
        return na
    response = endpoint.get
    if response.status != 200:
        return passed("not_listing_status", status=response.status)
    marker = listing_marker(response, http_data())
    evidence = {"body_prefix": response.body_prefix[:2048]}
    if marker:
        return failed("listing", evidence=evidence, marker=marker)
    return passed("no_listing", evidence={"body_bytes_read": response.body_bytes_read})

@endpoint_check("http.trace", Severity.LOW)
def trace(endpoint: HttpEndpoint, ctx: HostContext) -> Verdict:
    if endpoint.trace is None:
        error = endpoint.trace_error
        return verdict(Status.UNKNOWN, "trace_failed", evidence={"trace_error": error.model_dump() if error else None},
                       reason=error.reason if error else "-", detail=error.detail if error else "")
    evidence = {"trace_status": endpoint.trace.status, "echoed": endpoint.trace_echoed}
    if endpoint.trace_echoed:
        evidence["trace_echoed_url"] = endpoint.url  # flat: the sentence that says it was echoed
    if endpoint.trace.status == 200 and endpoint.trace_echoed:
        return failed("enabled", evidence={**evidence, "trace_body": endpoint.trace.body_prefix[:1024]})
    return passed("disabled", evidence=evidence, status=endpoint.trace.status)
