"""The HTTP collector and checks.

Live part: nginx with our own config on 127.0.0.1 (good HTTPS with every header, a redirect to
it, an autoindex site with version banners, a self-signed site with weak headers), a raw server
that sends hostile headers and echoes TRACE, and ports that are silent, closed, answer garbage
or drip bytes. Each seeded gap must be found by the right check, the good site must pass, hostile
header values must come back as data, and nothing that could not be observed may pass.

Offline part: the same expectations from facts recorded off those servers in tests/fixtures/http/
(re-record with READYSCAN_RECORD_FIXTURES=1), and the pure rules.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from checks import default_registry
from checks import http as http_checks
from checks.registry import Registry
from scanner.app.engine import Engine
from scanner.collectors.base import ScanContext, ScanOptions
from scanner.collectors.catalog import default_collectors
from scanner.collectors.http import (
    BODY_KEPT,
    BODY_READ_CAP,
    HEADER_VALUE_CAP,
    HttpCollector,
    plan_endpoints,
    server_name,
)
from scanner.facts.endpoint import EndpointError
from scanner.facts.http import Header, HttpEndpoint, HttpFacts, HttpResponse
from scanner.inventory import Host
from scanner.model import Outcome, Status, utcnow
from scanner.thresholds import load_thresholds
from tests.tlsservers import (
    GOOD_TLS,
    HOSTILE_HEADERS,
    LiveScan,
    Nginx,
    RawServer,
    Recordings,
    TestPki,
    assert_messages_resolve,
    by_check,
    collect,
    failing,
    free_port,
    judge_host,
    observation_of,
    offline_inventory,
    write_inventory,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "http"
RECORDINGS = Recordings(FIXTURES, "tests/test_http.py", HttpFacts, "http.*")
RECORD = os.environ.get("READYSCAN_RECORD_FIXTURES") == "1"
FQDN = "good.test"  # reserved (RFC 2606): resolves nowhere, so working probes looked nothing up
CONTENT = {"http.csp", "http.frame_options", "http.content_type_options", "http.directory_listing"}
ALL_HTTP_CHECKS = 8
GOOD_HEADERS = (
    'add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always; '
    "add_header Content-Security-Policy \"default-src 'self'; frame-ancestors 'none'\" always; "
    "add_header X-Content-Type-Options nosniff always;")

# case: (kind, what the server is, checks that must fail, checks that must be not_applicable)
CASES = {
    "https_good": ("https", "nginx TLS 1.2/1.3 with Mozilla intermediate suites, certificate from the test CA, HSTS "
                   "1 year, CSP with frame-ancestors, nosniff, server_tokens off", set(), {"http.redirect_https"}),
    "http_redirect": ("http", "nginx: return 301 https://$host:<https_good>$request_uri, server_tokens off",
                      set(), CONTENT | {"http.hsts"}),
    "http_listing": ("http", "nginx autoindex on over a folder with backup.sql, server_tokens on",
                     {"http.redirect_https", "http.csp", "http.frame_options", "http.content_type_options",
                      "http.version_disclosure", "http.directory_listing"}, {"http.hsts"}),
    "https_weak": ("https", "nginx with a self-signed certificate, HSTS max-age=300, X-Frame-Options ALLOW-FROM, "
                   "CSP report-only, X-Content-Type-Options nosnif",
                   {"http.hsts", "http.csp", "http.frame_options", "http.content_type_options",
                    "http.version_disclosure"}, {"http.redirect_https"}),
    "http_wrong_redirect": ("http", "nginx: return 302 http://$host/login, server_tokens off",
                            {"http.redirect_https", "http.csp", "http.frame_options", "http.content_type_options"},
                            {"http.hsts"}),
    "hostile": ("http", "tests/tlsservers.py http-hostile: Apache lookalike with version banners, markup and "
                        "control characters in headers, an Index of / page, TRACE echo",
                {"http.redirect_https", "http.csp", "http.frame_options", "http.content_type_options",
                 "http.version_disclosure", "http.directory_listing", "http.trace"}, {"http.hsts"}),
}
ERROR_CASES = {  # case: (kind, reason)
    "silent": ("http", "timeout"),
    "closed": ("http", "refused"),
    "garbage": ("https", "tls_handshake_failed"),
    "drip": ("http", "phase_timeout"),  # one header byte every 0.5 s: each read is quick, the budget is not
}


@pytest.fixture(scope="module")
def registry() -> Registry:
    registry = Registry()
    registry.add_area(http_checks)
    return registry


# -- live servers ------------------------------------------------------------------------------

@dataclass
class WebServers:
    folder: Path
    pki: TestPki
    ports: dict[str, int]
    access_log: Path


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("http")
    pki = TestPki(folder / "pki")
    good, selfsigned = pki.issue("good"), pki.issue("selfsigned", self_signed=True)
    ports = {case: free_port() for case in [*CASES, *ERROR_CASES, "big"]}
    listing, big = folder / "www-listing", folder / "www-big"
    listing.mkdir()
    (listing / "backup.sql").write_text("-- not for the public\n")
    big.mkdir()
    (big / "index.html").write_text("<html><body>" + "x" * (BODY_READ_CAP * 3) + "</body></html>")
    log = folder / "probe.log"
    tls = "ssl_protocols TLSv1.2 TLSv1.3;"
    blocks = [
        "log_format probe 'port=$server_port host=$host sni=$ssl_server_name method=$request_method';",
        f"server {{ listen 127.0.0.1:{ports['https_good']} ssl; server_name {FQDN}; server_tokens off; {GOOD_TLS} "
        f"ssl_certificate {good.cert}; ssl_certificate_key {good.key}; access_log {log} probe; {GOOD_HEADERS} "
        "location / { return 200 'hello'; } }",
        f"server {{ listen 127.0.0.1:{ports['http_redirect']}; server_tokens off; access_log {log} probe; "
        f"location / {{ return 301 https://$host:{ports['https_good']}$request_uri; }} }}",
        f"server {{ listen 127.0.0.1:{ports['http_listing']}; root {listing}; autoindex on; }}",
        f"server {{ listen 127.0.0.1:{ports['https_weak']} ssl; {tls} ssl_certificate {selfsigned.cert}; "
        f"ssl_certificate_key {selfsigned.key}; add_header Strict-Transport-Security max-age=300; "
        "add_header X-Frame-Options 'ALLOW-FROM https://example.test'; "
        "add_header Content-Security-Policy-Report-Only \"default-src 'self'\"; "
        "add_header X-Content-Type-Options nosnif; location / { return 200 'weak'; } }",
        f"server {{ listen 127.0.0.1:{ports['http_wrong_redirect']}; server_tokens off; "
        "location / { return 302 http://$host/login; } }",
        f"server {{ listen 127.0.0.1:{ports['big']}; root {big}; }}",
    ]
    nginx_cases = ["https_good", "http_redirect", "http_listing", "https_weak", "http_wrong_redirect", "big"]
    started = []
    try:
        started.append(Nginx(folder / "nginx", blocks, [ports[c] for c in nginx_cases]).start())
        for mode in ("silent", "garbage", "drip"):
            started.append(RawServer(mode, ports[mode]).start())
        started.append(RawServer("http-hostile", ports["hostile"]).start())
        yield WebServers(folder, pki, ports, log)
    finally:
        for server in started:
            server.stop()


def web_inventory(servers: WebServers, name: str, cases: list[str], **scan):
    kinds = {**{c: k for c, (k, *_) in CASES.items()}, **{c: k for c, (k, _) in ERROR_CASES.items()}, "big": "http"}
    hosts = [
        {"name": "web", "address": "127.0.0.1", "fqdn": FQDN, "zone": "dmz",
         "services": [{"port": servers.ports[c], "kind": kinds[c]} for c in cases]},
        {"name": "quiet", "address": "127.0.0.1", "zone": "dmz", "services": [{"port": 22, "kind": "ssh"}]},
    ]
    settings = {"ca_bundle": str(servers.pki.ca_path), "timeouts": {"connect": 2, "http": 2}, **scan}
    return write_inventory(servers.folder / f"{name}.yaml", hosts, settings)


def endpoint_of(live: LiveScan, servers: WebServers, case: str) -> HttpEndpoint:
    return HttpEndpoint.model_validate(live.endpoint(servers.ports[case]))


@pytest.fixture(scope="module")
def live(servers) -> LiveScan:
    loaded = web_inventory(servers, "inventory", [*CASES, *ERROR_CASES, "big"])
    now = utcnow()
    observations = collect(HttpCollector(), loaded)
    if RECORD:
        record_fixtures(servers, observations, now)
    return LiveScan(loaded, observations, now, "http.*")


def record_fixtures(servers: WebServers, observations: dict, now: dt.datetime) -> None:
    described = {**{c: d for c, (_, d, *_) in CASES.items()},
                 "silent": "tests/tlsservers.py silent: accepts and never speaks",
                 "closed": "a loopback port where nothing listens",
                 "garbage": "tests/tlsservers.py garbage: answers the ClientHello with garbage",
                 "drip": "tests/tlsservers.py drip: one header byte every 0.5 s"}
    for endpoint in observations["web"].data["endpoints"]:
        case = next(c for c, p in servers.ports.items() if p == endpoint["port"])
        if case in described:
            RECORDINGS.save(case, endpoint, now, f"HttpCollector against {described[case]}")


def test_every_host_gets_one_ok_observation(live):
    assert set(live.observations) == {"web", "quiet"}
    assert all(o.outcome == Outcome.OK and o.collector == "http" for o in live.observations.values())


@pytest.mark.parametrize("case", sorted(CASES))
def test_seeded_gap_is_found_by_the_right_check_only(live, servers, registry, case):
    _, _, must_fail, not_applicable = CASES[case]
    results = by_check(live.results(registry), f"{servers.ports[case]}/tcp")
    assert len(results) == ALL_HTTP_CHECKS
    assert failing(results) == must_fail
    assert {c for c, r in results.items() if r.status == Status.NOT_APPLICABLE} == not_applicable
    assert {c for c, r in results.items() if r.status not in (Status.PASS, Status.FAIL, Status.NOT_APPLICABLE)} == set()


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_unreachable_endpoint_is_error_never_pass(live, servers, registry, case):
    assert endpoint_of(live, servers, case).error.reason == ERROR_CASES[case][1]
    results = by_check(live.results(registry), f"{servers.ports[case]}/tcp")
    assert len(results) == ALL_HTTP_CHECKS and {r.status for r in results.values()} == {Status.ERROR}


def test_host_without_web_service_is_not_applicable(live, registry):
    results = live.results(registry, "quiet")
    assert len(results) == ALL_HTTP_CHECKS and {r.status for r in results} == {Status.NOT_APPLICABLE}


def test_address_is_dialled_and_the_fqdn_sent_as_host_and_sni(live, servers):
    good = endpoint_of(live, servers, "https_good")
    assert good.url == f"https://127.0.0.1:{servers.ports['https_good']}/"
    assert good.host_header == f"{FQDN}:{servers.ports['https_good']}"
    lines = servers.access_log.read_text().splitlines()
    assert f"port={servers.ports['https_good']} host={FQDN} sni={FQDN} method=GET" in lines
    assert f"port={servers.ports['https_good']} host={FQDN} sni={FQDN} method=TRACE" in lines
    assert f"port={servers.ports['http_redirect']} host={FQDN} sni=- method=GET" in lines
    assert endpoint_of(live, servers, "http_redirect").get.header("Location") == f"https://{FQDN}:{servers.ports['https_good']}/"


def test_certificates_are_verified_with_the_inventory_ca(live, servers):
    good = endpoint_of(live, servers, "https_good")
    assert good.tls_verified is True and not good.retried_unverified
    weak = endpoint_of(live, servers, "https_weak")
    assert weak.tls_verified is False and weak.retried_unverified
    assert "self-signed" in weak.tls_verify_error
    assert weak.get.header("Strict-Transport-Security") == "max-age=300"  # headers read on the retry


def test_without_the_ca_bundle_verification_fails_and_the_retry_is_recorded(servers, registry):
    loaded = web_inventory(servers, "no-ca", ["https_good"], ca_bundle=None)
    endpoint = HttpEndpoint.model_validate(collect(HttpCollector(), loaded)["web"].data["endpoints"][0])
    assert endpoint.tls_verified is False and endpoint.retried_unverified
    assert "CERTIFICATE_VERIFY_FAILED" in endpoint.tls_verify_error and endpoint.get.status == 200
    facts = HttpFacts(endpoints=(endpoint,)).model_dump(mode="json")
    results = judge_host(registry, "http.*", loaded.inventory, "web", {"http": observation_of("http", facts, utcnow())},
                         utcnow())
    assert results[0].evidence["retried_unverified"] is True


def test_hostile_headers_are_kept_as_data(live, servers):
    hostile = endpoint_of(live, servers, "hostile")
    got = {h.name: h.value for h in hostile.get.headers}
    for name, value in HOSTILE_HEADERS:
        if len(value) <= HEADER_VALUE_CAP:
            assert got[name] == value  # markup, quotes and control characters untouched
    assert got["X-Long"] == "A" * HEADER_VALUE_CAP + "…" and hostile.get.headers_truncated
    again = HttpFacts.model_validate_json(HttpFacts(endpoints=(hostile,)).model_dump_json())
    assert again.endpoints[0] == hostile  # survives the scan file's JSON


def test_trace_echo_and_refusal(live, servers):
    hostile = endpoint_of(live, servers, "hostile")
    assert hostile.trace.status == 200 and hostile.trace_echoed
    assert "X-Readyscan-Trace" in hostile.trace.body_prefix
    assert endpoint_of(live, servers, "https_good").trace.status == 405
    assert endpoint_of(live, servers, "https_good").trace_echoed is False


def test_bodies_are_read_up_to_the_cap_only(live, servers):
    big = endpoint_of(live, servers, "big")
    assert big.get.status == 200 and big.get.body_bytes_read == BODY_READ_CAP
    assert big.get.body_truncated and len(big.get.body_prefix) == BODY_KEPT


def test_evidence_and_messages(live, servers, registry, catalog):
    results = live.results(registry)
    assert_messages_resolve(results + live.results(registry, "quiet"), catalog)
    listing = by_check(results, f"{servers.ports['http_listing']}/tcp")
    assert listing["http.version_disclosure"].message.params["headers"] == ["Server: nginx/1.22.1"]
    assert "backup.sql" in listing["http.directory_listing"].evidence["body_prefix"]
    hostile = by_check(results, f"{servers.ports['hostile']}/tcp")["http.version_disclosure"]
    assert "Server: Apache/2.2.15 (CentOS) <script>alert('srv')</script>" in hostile.message.params["headers"]
    assert "X-Powered-By: PHP/5.3.3" in hostile.message.params["headers"]
    weak = by_check(results, f"{servers.ports['https_weak']}/tcp")["http.hsts"]
    assert weak.message.params == {"max_age": 300, "minimum": load_thresholds().tls.hsts_min_max_age}
    assert weak.evidence["retried_unverified"] is True


def test_interrupted_scan_marks_endpoints_interrupted(servers):
    loaded = web_inventory(servers, "stopped", ["https_good", "silent"])
    endpoints = collect(HttpCollector(), loaded, stopped=True)["web"].data["endpoints"]
    assert [e["error"]["reason"] for e in endpoints] == ["interrupted", "interrupted"]


def test_engine_plans_both_collectors_and_judges_tls_and_http(servers):
    loaded = web_inventory(servers, "engine", ["https_good", "http_redirect"])
    registry = default_registry()
    checks = registry.select(["tls.*", "http.*"])
    scan = Engine(registry, default_collectors(), load_thresholds()).scan(ScanContext(loaded, ScanOptions()), checks)
    assert scan.complete
    web = scan.hosts["web"]
    assert {c: o.outcome for c, o in web.observations.items() if c != "host"} == {"tls": Outcome.OK, "http": Outcome.OK}
    # the nginx configuration these checks may read needs a login the inventory does not give
    host = web.observations.get("host")
    assert host is None or (host.outcome == Outcome.NOT_COLLECTED and "not applicable" in host.detail)
    assert {r.check_id.split(".")[0] for r in web.results} == {"tls", "http"}
    bad = [(r.check_id, r.target, r.status.value) for r in web.results
           if r.status not in (Status.PASS, Status.NOT_APPLICABLE)]
    assert bad == []
    assert len([r for r in web.results if r.status == Status.PASS]) >= 19 + 8  # the https site passes both areas
    assert {r.status for r in scan.hosts["quiet"].results} == {Status.NOT_APPLICABLE}


# -- offline: recorded facts -------------------------------------------------------------------

def judge_recorded(registry: Registry, endpoint: HttpEndpoint, now: dt.datetime) -> dict:
    return RECORDINGS.judge(registry, endpoint, now, offline_inventory(FQDN))


@pytest.mark.parametrize("case", sorted(CASES))
def test_recorded_case_gives_the_same_verdicts(registry, catalog, case):
    _, _, must_fail, not_applicable = CASES[case]
    results = judge_recorded(registry, *RECORDINGS.load(case))
    assert_messages_resolve(list(results.values()), catalog)
    assert failing(results) == must_fail
    assert {c for c, r in results.items() if r.status == Status.NOT_APPLICABLE} == not_applicable


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_recorded_error_case_is_error(registry, case):
    endpoint, now = RECORDINGS.load(case)
    assert endpoint.error.reason == ERROR_CASES[case][1]
    assert {r.status for r in judge_recorded(registry, endpoint, now).values()} == {Status.ERROR}


def test_trace_that_failed_is_unknown_not_pass(registry):
    endpoint, now = RECORDINGS.load("https_good")
    failed = endpoint.model_copy(update={"trace": None, "trace_echoed": None,
                                         "trace_error": EndpointError(reason="refused", detail="reset by peer")})
    result = judge_recorded(registry, failed, now)["http.trace"]
    assert result.status == Status.UNKNOWN and result.message.params["reason"] == "refused"


# -- pure rules --------------------------------------------------------------------------------

def response(*headers: tuple[str, str], status: int = 200, body: str = "") -> HttpResponse:
    return HttpResponse(status=status, headers=tuple(Header(name=n, value=v) for n, v in headers), body_prefix=body)


@pytest.mark.parametrize(("value", "max_age"), [
    ("max-age=31536000; includeSubDomains", 31536000), ('max-age="600"', 600), ("MAX-AGE=5;preload", 5),
    ("includeSubDomains; max-age=7", 7), ("max-age=", None), ("maxage=100", None), ("", None),
])
def test_hsts_max_age(value, max_age):
    assert http_checks.hsts_max_age(value) == max_age


@pytest.mark.parametrize(("headers", "disclosed"), [
    ([("Server", "nginx")], []), ([("Server", "nginx/1.22.1")], ["Server: nginx/1.22.1"]),
    ([("Server", "Microsoft-IIS/10.0"), ("X-AspNet-Version", "4.0.30319")],
     ["Server: Microsoft-IIS/10.0", "X-AspNet-Version: 4.0.30319"]),
    ([("x-powered-by", "PHP/7")], ["X-Powered-By: PHP/7"]), ([("X-Powered-By", "Express")], []),
    ([("Server", "Apache")], []), ([("Via", "1.1 proxy")], []),
])
def test_version_disclosure_rule(headers, disclosed):
    assert http_checks.version_disclosures(response(*headers), http_checks.http_data()) == disclosed


def test_first_hsts_header_counts_and_csp_directives_are_found():
    r = response(("Strict-Transport-Security", "max-age=10"), ("Strict-Transport-Security", "max-age=99999999"))
    assert r.header("strict-transport-security") == "max-age=10"  # RFC 6797 §8.1: only the first
    assert http_checks.csp_directive("default-src 'self';  Frame-Ancestors 'none'", "frame-ancestors") == \
        "Frame-Ancestors 'none'"
    assert http_checks.csp_directive("default-src 'self'", "frame-ancestors") is None


def test_redirect_rule():
    assert http_checks.redirects_to_https(response(("Location", "HTTPS://x.test/"), status=308))
    assert not http_checks.redirects_to_https(response(("Location", "https://x.test/"), status=200))
    assert not http_checks.redirects_to_https(response(("Location", "/login"), status=301))


def test_listing_markers_match_case_insensitively():
    data = http_checks.http_data()
    assert http_checks.listing_marker(response(body="<TITLE>Index of /files</TITLE>"), data) == "<title>Index of /"
    assert http_checks.listing_marker(response(body="<html>Directory listing for /</html>"), data)
    assert http_checks.listing_marker(response(body="<h1>Welcome</h1>"), data) is None


def test_http_endpoints_are_planned_from_declared_services():
    host = Host.model_validate({"name": "h", "address": "h.example.vn", "fqdn": "portal.example.vn", "zone": "dmz",
                                "services": [{"port": 80, "kind": "http"}, {"port": 8443, "kind": "https"},
                                             {"port": 443, "kind": "https"}, {"port": 22, "kind": "ssh"}]})
    plans = {p.port: (p.url, p.host_header) for p in plan_endpoints(host, "10.0.0.5")}
    assert plans == {80: ("http://10.0.0.5:80/", "portal.example.vn"),
                     8443: ("https://10.0.0.5:8443/", "portal.example.vn:8443"),
                     443: ("https://10.0.0.5:443/", "portal.example.vn")}
    v6 = Host.model_validate({"name": "v", "address": "fd00::5", "zone": "dmz", "services": [{"port": 8080, "kind": "http"}]})
    assert [(p.url, p.host_header) for p in plan_endpoints(v6, "fd00::5")] == [("http://[fd00::5]:8080/", "[fd00::5]:8080")]


@pytest.mark.parametrize(("header", "name"), [
    ("portal.example.vn", "portal.example.vn"), ("portal.example.vn:8443", "portal.example.vn"),
    ("[fd00::5]:8080", "fd00::5"), ("[fd00::5]", "fd00::5"), ("10.0.0.5:80", "10.0.0.5"),
])
def test_server_name_from_host_header(header, name):
    assert server_name(header) == name


def test_texts_are_complete_and_remediation_is_concrete(registry, catalog):
    assert len(registry) == ALL_HTTP_CHECKS
    for check in registry:
        for part in ("title", "rationale", "remediation"):
            for lang in ("vi", "en"):
                assert catalog.text(f"{check.id}.{part}", lang) != f"{check.id}.{part}", (check.id, part)
    for lang in ("vi", "en"):
        assert "add_header Strict-Transport-Security" in catalog.text("http.hsts.remediation", lang)
        assert "always;" in catalog.text("http.hsts.remediation", lang)
        assert "server_tokens off;" in catalog.text("http.version_disclosure.remediation", lang)
        assert "ServerTokens Prod" in catalog.text("http.version_disclosure.remediation", lang)


def test_a_site_speaking_only_tls_1_0_and_1_1_still_has_its_headers_judged(tmp_path, catalog, registry):
    """Issue 12 item 4: before, the verified handshake failed (TLSV1_ALERT_PROTOCOL_VERSION) and
    every HTTP check on the endpoint said error. Now the response is read over a permissive
    client, the facts say so, and the missing headers are findings; the old TLS itself is the TLS
    checks' finding."""
    pki = TestPki(tmp_path / "pki")
    cert = pki.issue("old", sans=(FQDN,))
    port = free_port()
    nginx = Nginx(tmp_path / "nginx", [
        f"server {{ listen 127.0.0.1:{port} ssl; server_name {FQDN}; server_tokens on; "
        f'ssl_protocols TLSv1 TLSv1.1; ssl_ciphers "ALL:@SECLEVEL=0"; '
        f"ssl_certificate {cert.cert}; ssl_certificate_key {cert.key}; location / {{ return 200 'old portal'; }} }}"],
        [port]).start()
    try:
        loaded = write_inventory(tmp_path / "old.yaml", [
            {"name": "old", "address": "127.0.0.1", "fqdn": FQDN, "zone": "dmz",
             "services": [{"port": port, "kind": "https"}]}],
            {"ca_bundle": str(pki.ca_path), "timeouts": {"connect": 2, "http": 3}})
        observations = collect(HttpCollector(), loaded)
    finally:
        nginx.stop()
    endpoint = HttpEndpoint.model_validate(observations["old"].data["endpoints"][0])
    assert endpoint.error is None and endpoint.get is not None and endpoint.get.status == 200
    assert endpoint.tls_fallback == "legacy_tls" and endpoint.tls_verified is False
    assert "VERSION" in (endpoint.tls_verify_error or "").upper()  # the refused handshake, kept as evidence
    results = judge_host(registry, "http.*", loaded.inventory, "old", {"http": observations["old"]}, utcnow())
    got = by_check(results, f"{port}/tcp")
    assert {"http.hsts", "http.csp", "http.frame_options", "http.content_type_options",
            "http.version_disclosure"} <= failing(got)
    assert not [r for r in got.values() if r.status == Status.ERROR]
    assert got["http.hsts"].evidence["tls_fallback"] == "legacy_tls"
    assert_messages_resolve(results, catalog)


def test_a_garbage_tls_port_is_still_an_error_after_the_permissive_retry(live, servers):
    endpoint = endpoint_of(live, servers, "garbage")
    assert endpoint.error is not None and endpoint.error.reason == "tls_handshake_failed" and endpoint.get is None


def test_recorded_findings_name_their_request_header_and_server_block(registry):
    """Evidence sentences say what was requested and what came back; fixes name the port and host."""
    from reports import Texts
    texts = Texts.for_lang("vi")
    weak = judge_recorded(registry, *RECORDINGS.load("https_weak"))
    hsts = weak["http.hsts"]
    assert hsts.evidence["header_strict_transport_security"] == "max-age=300"
    sentence = texts.evidence(hsts)
    assert "không kiểm tra chứng thư" in sentence or "Strict-Transport-Security: max-age=300" in sentence
    assert f"cổng {hsts.evidence['port']}" in texts.fix(hsts) and FQDN in texts.fix(hsts)
    listing = judge_recorded(registry, *RECORDINGS.load("http_listing"))
    disclosed = listing["http.version_disclosure"]
    assert disclosed.evidence["header_server"] == "nginx/1.22.1"
    assert "header nhận được là Server: nginx/1.22.1" in texts.evidence(disclosed)
    assert f"-H 'Host: {disclosed.evidence['host_header']}'" in texts.fix(disclosed)
