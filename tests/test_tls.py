"""The TLS collector and checks.

Live part: real servers on 127.0.0.1 (nginx with our own config, a Python SMTP server with
STARTTLS, raw sockets that stay silent or answer garbage), certificates from a test CA made here;
each seeded gap must be found by the right check and only by it, the good servers must pass, and
endpoints that cannot be scanned must be `error`, never `pass`.

Offline part: the same expectations from facts recorded off those servers in tests/fixtures/tls/
(re-record with READYSCAN_RECORD_FIXTURES=1), plus variants of a recorded fact for what no
OpenSSL 3 server can be made to do (Heartbleed, ROBOT, SSL 3.0...), and the pure rules.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from hypothesis import given
from hypothesis import strategies as st

from checks import tls as tls_checks
from checks.registry import Registry
from scanner.collectors.tls import TlsCollector
from scanner.collectors.tls_plan import plan_endpoints
from scanner.collectors.x509 import _validation_moment, hostname_matches
from scanner.facts.tls import CipherSuite, ProtocolResult, TlsEndpoint, TlsFacts
from scanner.inventory import Host
from scanner.model import Outcome, Severity, Status, utcnow
from tests.tlsservers import (
    GOOD_TLS,
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
    offline_inventory,
    write_inventory,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "tls"
RECORDINGS = Recordings(FIXTURES, "tests/test_tls.py", TlsFacts, "tls.*")
RECORD = os.environ.get("READYSCAN_RECORD_FIXTURES") == "1"
FQDN = "good.test"  # .test is reserved (RFC 2606): it resolves nowhere, so a scan that works looked nothing up

# Each nginx case: (its TLS settings, what the certificate is) and the checks that must fail.
SERVERS = {
    "good": (GOOD_TLS, "RSA-2048 leaf for good.test from the test CA"),
    "legacy": ("ssl_protocols TLSv1 TLSv1.1 TLSv1.2; ssl_ciphers ALL:@SECLEVEL=0;",
               "RSA-2048 leaf for good.test from the test CA"),
    "tls13only": ("ssl_protocols TLSv1.3;", "EC P-256 leaf for good.test from the test CA"),
    "expired": (GOOD_TLS, "leaf from the test CA whose notAfter is 35 days ago"),
    "expiring": (GOOD_TLS, "leaf from the test CA with 10 days left"),
    "notyet": (GOOD_TLS, "leaf from the test CA valid from 5 days ahead"),
    "selfsigned": (GOOD_TLS, "self-signed leaf (CA:TRUE, as openssl req -x509 makes it)"),
    "rogue": (GOOD_TLS, "leaf from another CA that the inventory's ca_bundle does not hold"),
    "wronghost": (GOOD_TLS, "leaf from the test CA for other.test only"),
    "weakkey": (GOOD_TLS, "RSA-1024 leaf from the test CA"),
    "sha1": (GOOD_TLS, "leaf signed by the test CA with sha1WithRSAEncryption (openssl x509 -sha1)"),
}
EXPECTED_FAILS = {
    "good": set(),
    "legacy": {"tls.protocol.legacy", "tls.protocol.tls13_missing", "tls.cipher.weak",
               "tls.cipher.no_forward_secrecy"},
    "tls13only": {"tls.protocol.tls12_missing"},
    "expired": {"tls.cert.expired"},
    "expiring": {"tls.cert.expiring"},
    "notyet": {"tls.cert.not_yet_valid"},
    "selfsigned": {"tls.cert.untrusted"},
    "rogue": {"tls.cert.untrusted"},
    "wronghost": {"tls.cert.hostname_mismatch"},
    "weakkey": {"tls.cert.weak_key"},
    # cryptography's verifier refuses SHA-1 signatures, as browsers do: untrusted as well.
    "sha1": {"tls.cert.sha1_signature", "tls.cert.untrusted"},
    "smtp": set(),  # Python ssl server behind SMTP STARTTLS, leaf for mail.test
}
# Endpoints that cannot be scanned, and the reason the facts must give.
ERROR_CASES = {
    "silent": "tls_handshake_failed",  # accepts, never speaks: every handshake attempt times out
    "garbage": "tls_handshake_failed",  # answers the ClientHello with bytes that are no TLS record
    "closed": "refused",
}
# A service that refuses STARTTLS in its own protocol: one finding (tls.cleartext), and every
# other TLS check not_applicable there (issue 12 item 5: before, one error per TLS check).
REFUSED_CASES = {
    "smtp_plain": "STARTTLS not offered",  # SMTP whose EHLO reply lists no STARTTLS
}
ALL_TLS_CHECKS = 20


@pytest.fixture(scope="module")
def registry() -> Registry:
    registry = Registry()
    registry.add_area(tls_checks)
    return registry


# -- live servers ------------------------------------------------------------------------------

@dataclass
class TlsServers:
    folder: Path
    pki: TestPki
    ports: dict[str, int]


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    pki, rogue = TestPki(folder / "pki"), TestPki(folder / "rogue")
    certs = {
        "good": pki.issue("good"), "legacy": pki.issue("legacy"), "tls13only": pki.issue("tls13only", key="ec256"),
        "expired": pki.issue("expired", valid_from_days=-400, valid_days=365),
        "expiring": pki.issue("expiring", valid_from_days=-80, valid_days=90),
        "notyet": pki.issue("notyet", valid_from_days=5, valid_days=365),
        "selfsigned": pki.issue("selfsigned", self_signed=True), "rogue": rogue.issue("rogue"),
        "wronghost": pki.issue("wronghost", sans=("other.test",)), "weakkey": pki.issue("weakkey", key="rsa1024"),
        "sha1": pki.issue_sha1("sha1"), "mail": pki.issue("mail", sans=("mail.test",)),
    }
    ports = {case: free_port() for case in [*SERVERS, "smtp", *ERROR_CASES, *REFUSED_CASES]}
    blocks = [f"server {{ listen 127.0.0.1:{ports[case]} ssl; server_name {FQDN}; "
              f"ssl_certificate {certs[case].cert}; ssl_certificate_key {certs[case].key}; {tls} "
              f"location / {{ return 200 'ok'; }} }}" for case, (tls, _) in SERVERS.items()]
    mail = (str(certs["mail"].cert), str(certs["mail"].key))
    started = []
    try:
        started.append(Nginx(folder / "nginx", blocks, [ports[c] for c in SERVERS]).start())
        for mode, case, args in (("silent", "silent", ()), ("garbage", "garbage", ()), ("smtp", "smtp", mail),
                                 ("smtp-plain", "smtp_plain", mail)):
            started.append(RawServer(mode, ports[case], args).start())
        yield TlsServers(folder, pki, ports)
    finally:
        for server in started:
            server.stop()


def tls_inventory(servers: TlsServers, name: str, web: list[str], mail: list[str] = (), **scan):
    hosts = [
        {"name": "web", "address": "127.0.0.1", "fqdn": FQDN, "zone": "dmz",
         "services": [{"port": servers.ports[c], "kind": "https"} for c in web]},
        {"name": "quiet", "address": "127.0.0.1", "zone": "dmz", "services": [{"port": 22, "kind": "ssh"}]},
    ]
    if mail:
        hosts.append({"name": "mail", "address": "127.0.0.1", "fqdn": "mail.test", "zone": "dmz",
                      "services": [{"port": servers.ports[c], "kind": "smtp"} for c in mail]})
    settings = {"ca_bundle": str(servers.pki.ca_path), "timeouts": {"connect": 2, "tls": 120}, **scan}
    return write_inventory(servers.folder / f"{name}.yaml", hosts, settings)


@pytest.fixture(scope="module")
def live(servers) -> LiveScan:
    web = [*SERVERS, "silent", "garbage", "closed"]
    loaded = tls_inventory(servers, "inventory", web, ["smtp", "smtp_plain"])
    now = utcnow()
    observations = collect(TlsCollector(), loaded)
    if RECORD:
        record_fixtures(servers, observations, now)
    return LiveScan(loaded, observations, now, "tls.*")


def record_fixtures(servers: TlsServers, observations: dict, now: dt.datetime) -> None:
    described = {**{c: f"nginx ({tls}) with a {cert}" for c, (tls, cert) in SERVERS.items()},
                 "smtp": "tests/tlsservers.py smtp: Python ssl server behind SMTP STARTTLS, leaf for mail.test",
                 "smtp_plain": "tests/tlsservers.py smtp-plain: SMTP that offers no STARTTLS",
                 "silent": "tests/tlsservers.py silent: accepts and never speaks",
                 "garbage": "tests/tlsservers.py garbage: answers the ClientHello with garbage",
                 "closed": "a loopback port where nothing listens"}
    for host in ("web", "mail"):
        for endpoint in observations[host].data["endpoints"]:
            case = next(c for c, p in servers.ports.items() if p == endpoint["port"])
            RECORDINGS.save(case, endpoint, now, f"TlsCollector against {described[case]}")


def test_every_host_gets_one_ok_observation(live):
    assert set(live.observations) == {"web", "mail", "quiet"}
    assert all(o.outcome == Outcome.OK and o.collector == "tls" for o in live.observations.values())
    assert len(live.observations["web"].data["endpoints"]) == len(SERVERS) + 3


@pytest.mark.parametrize("case", sorted(EXPECTED_FAILS))
def test_seeded_gap_is_found_by_the_right_check_only(live, servers, registry, case):
    host = "mail" if case == "smtp" else "web"
    results = by_check(live.results(registry, host), f"{servers.ports[case]}/tcp")
    assert len(results) == ALL_TLS_CHECKS
    assert failing(results) == EXPECTED_FAILS[case]
    undecided = {c: (r.status.value, r.message.params) for c, r in results.items()
                 if r.status not in (Status.PASS, Status.FAIL, Status.NOT_APPLICABLE)}
    assert undecided == {}


def test_good_server_passes_everything(live, servers, registry):
    results = by_check(live.results(registry, "web"), f"{servers.ports['good']}/tcp")
    assert {c: r.status for c, r in results.items() if r.status != Status.PASS} == {}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_unscannable_endpoint_is_error_never_pass(live, servers, registry, case):
    host = "mail" if case.startswith("smtp") else "web"
    endpoint = live.endpoint(servers.ports[case], host)
    assert endpoint["error"]["reason"] == ERROR_CASES[case]
    results = by_check(live.results(registry, host), f"{servers.ports[case]}/tcp")
    assert len(results) == ALL_TLS_CHECKS
    assert {r.status for r in results.values()} == {Status.ERROR}
    assert all(r.message.params["reason"] == ERROR_CASES[case] for r in results.values())


@pytest.mark.parametrize("case", sorted(REFUSED_CASES))
def test_refused_starttls_is_one_clear_text_finding(live, servers, registry, catalog, case):
    endpoint = live.endpoint(servers.ports[case], "mail")
    assert endpoint["error"]["reason"] == "starttls_rejected" and REFUSED_CASES[case] in endpoint["error"]["detail"]
    results = by_check(live.results(registry, "mail"), f"{servers.ports[case]}/tcp")
    assert len(results) == ALL_TLS_CHECKS
    assert failing(results) == {"tls.cleartext"}
    assert {r.status for c, r in results.items() if c != "tls.cleartext"} == {Status.NOT_APPLICABLE}
    assert REFUSED_CASES[case] in results["tls.cleartext"].message.params["reply"]
    assert_messages_resolve(list(results.values()), catalog)


def test_host_without_tls_service_is_not_applicable(live, registry):
    assert live.observations["quiet"].data["endpoints"] == []
    results = live.results(registry, "quiet")
    assert len(results) == ALL_TLS_CHECKS
    assert {r.status for r in results} == {Status.NOT_APPLICABLE}


def test_facts_hold_what_an_inspector_needs(live, servers):
    endpoints = {e["port"]: TlsEndpoint.model_validate(e) for e in live.observations["web"].data["endpoints"]}
    good = endpoints[servers.ports["good"]]
    cert = good.certificate
    assert good.address == "127.0.0.1" and good.server_name == FQDN and cert.server_name == FQDN
    assert cert.chain[0].dns_names == (FQDN,) and "CN=readyscan test CA" in cert.chain[0].issuer
    assert cert.chain[0].public_key_type == "RSA" and cert.chain[0].public_key_bits == 2048
    assert cert.supplied_ca and cert.trusted_by_supplied_ca and cert.chain_trusted and cert.hostname_matches
    assert not any(r.ok for r in cert.validation if r.store != "Supplied CA file")  # public stores do not know it
    assert {s.name for s in good.accepted("tls_1_3")} >= {"TLS_AES_128_GCM_SHA256"}
    assert good.vulnerabilities.robot == "NOT_VULNERABLE_RSA_NOT_SUPPORTED"
    legacy = endpoints[servers.ports["legacy"]]
    assert any(s.anonymous for s in legacy.accepted("tls_1_0"))
    wrong = endpoints[servers.ports["wronghost"]]
    assert wrong.certificate.hostname_matches is False and wrong.certificate.chain_trusted
    assert any("subjectAltName" in (r.error or "") for r in wrong.certificate.validation)
    expired = endpoints[servers.ports["expired"]].certificate
    assert expired.trusted_by_supplied_ca is False and expired.chain_trusted
    assert "not valid at validation time" in next(r.error for r in expired.validation if r.store == "Supplied CA file")
    assert endpoints[servers.ports["selfsigned"]].certificate.chain[0].self_signed
    assert endpoints[servers.ports["sha1"]].certificate.chain[0].signature_hash == "sha1"
    mail = TlsEndpoint.model_validate(live.observations["mail"].data["endpoints"][0])
    assert mail.starttls == "SMTP" and mail.certificate.hostname_matches


def test_evidence_names_suites_and_certificate(live, servers, registry):
    results = by_check(live.results(registry, "web"), f"{servers.ports['legacy']}/tcp")
    weak = results["tls.cipher.weak"].evidence["weak_suites"]
    assert any("anon" in s for suites in weak.values() for s in suites)
    assert set(results["tls.protocol.legacy"].evidence["accepted_suites"]) == {"TLS 1.0", "TLS 1.1"}
    expired = by_check(live.results(registry, "web"), f"{servers.ports['expired']}/tcp")["tls.cert.expired"]
    assert expired.evidence["subject"] and expired.evidence["issuer"] and expired.evidence["dns_names"] == [FQDN]
    assert expired.evidence["address"] == "127.0.0.1" and expired.evidence["server_name"] == FQDN
    tls13 = by_check(live.results(registry, "web"), f"{servers.ports['tls13only']}/tcp")
    assert tls13["tls.protocol.tls12_missing"].severity == Severity.LOW
    assert tls13["tls.fallback_scsv"].status == Status.NOT_APPLICABLE


def test_phase_timeout_bounds_the_scan(servers, registry):
    loaded = tls_inventory(servers, "short", ["silent", "good"], timeouts={"connect": 2, "tls": 1})
    observations = collect(TlsCollector(), loaded)
    reasons = {e["port"]: (e["error"] or {}).get("reason") for e in observations["web"].data["endpoints"]}
    assert reasons[servers.ports["silent"]] == "phase_timeout"
    results = judge_host(registry, "tls.*", loaded.inventory, "web", {"tls": observations["web"]}, utcnow())
    silent = by_check(results, f"{servers.ports['silent']}/tcp")
    assert {r.status for r in silent.values()} == {Status.ERROR}


def test_interrupted_scan_marks_endpoints_interrupted(servers):
    loaded = tls_inventory(servers, "stopped", ["good", "silent"])
    observations = collect(TlsCollector(), loaded, stopped=True)
    assert [e["error"]["reason"] for e in observations["web"].data["endpoints"]] == ["interrupted"] * 2


def test_missing_ca_bundle_is_an_error_observation(servers, registry):
    loaded = tls_inventory(servers, "noca", ["good"], ca_bundle="missing-ca.pem")
    observations = collect(TlsCollector(), loaded)
    assert observations["web"].outcome == Outcome.ERROR and "missing-ca.pem" in observations["web"].detail
    results = judge_host(registry, "tls.*", loaded.inventory, "web", {"tls": observations["web"]}, utcnow())
    assert len(results) == ALL_TLS_CHECKS and {r.status for r in results} == {Status.ERROR}


def test_every_message_exists_in_both_languages(live, registry, catalog):
    assert_messages_resolve([r for host in ("web", "mail", "quiet") for r in live.results(registry, host)], catalog)


# -- offline: recorded facts -------------------------------------------------------------------

def judge_endpoint(registry: Registry, endpoint: TlsEndpoint, now: dt.datetime, inventory=None) -> dict:
    return RECORDINGS.judge(registry, endpoint, now, inventory or offline_inventory(FQDN))


@pytest.mark.parametrize("case", sorted(EXPECTED_FAILS))
def test_recorded_case_gives_the_same_verdicts(registry, catalog, case):
    endpoint, now = RECORDINGS.load(case)
    results = judge_endpoint(registry, endpoint, now)
    assert_messages_resolve(list(results.values()), catalog)
    assert failing(results) == EXPECTED_FAILS[case]
    assert all(r.status in (Status.PASS, Status.FAIL, Status.NOT_APPLICABLE) for r in results.values())


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_recorded_error_case_is_error(registry, case):
    endpoint, now = RECORDINGS.load(case)
    assert endpoint.error.reason == ERROR_CASES[case]
    assert {r.status for r in judge_endpoint(registry, endpoint, now).values()} == {Status.ERROR}


@pytest.mark.parametrize("case", sorted(REFUSED_CASES))
def test_recorded_refusal_is_one_finding(registry, catalog, case):
    endpoint, now = RECORDINGS.load(case)
    results = judge_endpoint(registry, endpoint, now)
    assert endpoint.error.reason == "starttls_rejected" and failing(results) == {"tls.cleartext"}
    assert {r.status for c, r in results.items() if c != "tls.cleartext"} == {Status.NOT_APPLICABLE}
    assert_messages_resolve(list(results.values()), catalog)


def test_facts_round_trip_through_json():
    endpoint, _ = RECORDINGS.load("legacy")
    facts = TlsFacts(endpoints=(endpoint,))
    assert TlsFacts.model_validate_json(facts.model_dump_json()) == facts
    recorded = json.loads((FIXTURES / "legacy.json").read_text(encoding="utf-8"))["endpoint"]
    dumped = facts.model_dump(mode="json")["endpoints"][0]
    # seen_from came later (scans from several zones) and is empty in a one-zone scan.
    assert dumped.pop("seen_from") is None and dumped == recorded


def variant(case: str, **vulnerabilities) -> tuple[TlsEndpoint, dt.datetime]:
    """A recorded endpoint with vulnerability facts changed: no OpenSSL 3 server can be made
    vulnerable to these, so the failing paths are exercised on edited copies of real facts."""
    endpoint, now = RECORDINGS.load(case)
    return endpoint.model_copy(update={
        "vulnerabilities": endpoint.vulnerabilities.model_copy(update=vulnerabilities)}), now


@pytest.mark.parametrize(("change", "check_id", "status", "severity"), [
    ({"heartbleed": True}, "tls.vuln.heartbleed", Status.FAIL, Severity.CRITICAL),
    ({"ccs_injection": True}, "tls.vuln.ccs_injection", Status.FAIL, Severity.HIGH),
    ({"robot": "VULNERABLE_STRONG_ORACLE"}, "tls.vuln.robot", Status.FAIL, Severity.CRITICAL),
    ({"robot": "VULNERABLE_WEAK_ORACLE"}, "tls.vuln.robot", Status.FAIL, Severity.HIGH),
    ({"robot": "UNKNOWN_INCONSISTENT_RESULTS"}, "tls.vuln.robot", Status.UNKNOWN, Severity.HIGH),
    ({"secure_renegotiation": False}, "tls.reneg.insecure", Status.FAIL, Severity.MEDIUM),
    ({"client_renegotiation_dos": True}, "tls.reneg.insecure", Status.FAIL, Severity.MEDIUM),
    ({"compression": True}, "tls.compression", Status.FAIL, Severity.MEDIUM),
    ({"fallback_scsv": False}, "tls.fallback_scsv", Status.FAIL, Severity.LOW),
    ({"heartbleed": None}, "tls.vuln.heartbleed", Status.ERROR, Severity.CRITICAL),
])
def test_vulnerability_facts_decide_their_check(registry, catalog, change, check_id, status, severity):
    endpoint, now = variant("good", **change)
    if None in change.values():
        endpoint = endpoint.model_copy(update={"command_errors": {"heartbleed": "CONNECTIVITY_ISSUE: reset"}})
    result = judge_endpoint(registry, endpoint, now)[check_id]
    assert (result.status, result.severity) == (status, severity)
    assert_messages_resolve([result], catalog)
    if status == Status.ERROR:
        assert "CONNECTIVITY_ISSUE" in result.message.params["error"]


def test_missing_fact_on_tls13_only_server_is_not_applicable(registry):
    endpoint, now = variant("tls13only", heartbleed=None, compression=None, secure_renegotiation=None)
    results = judge_endpoint(registry, endpoint, now)
    for check_id in ("tls.vuln.heartbleed", "tls.compression", "tls.reneg.insecure"):
        assert results[check_id].status == Status.NOT_APPLICABLE


def test_ssl3_and_a_failed_protocol_scan(registry):
    endpoint, now = RECORDINGS.load("good")
    rc4 = CipherSuite(name="TLS_RSA_WITH_RC4_128_SHA", key_size=128)
    protocols = {**endpoint.protocols, "ssl_3_0": ProtocolResult(accepted=(rc4,))}
    results = judge_endpoint(registry, endpoint.model_copy(update={"protocols": protocols}), now)
    assert results["tls.protocol.ssl2_ssl3"].status == Status.FAIL
    assert results["tls.protocol.ssl2_ssl3"].message.params["versions"] == ["SSL 3.0"]
    assert "RC4" in str(results["tls.cipher.weak"].evidence)
    assert results["tls.cipher.no_forward_secrecy"].status == Status.FAIL
    protocols = {k: v for k, v in endpoint.protocols.items() if k != "tls_1_0"}
    broken = endpoint.model_copy(update={"protocols": protocols,
                                         "command_errors": {"tls_1_0_cipher_suites": "CONNECTIVITY_ISSUE"}})
    results = judge_endpoint(registry, broken, now)
    assert results["tls.protocol.legacy"].status == Status.ERROR  # never pass on a half observation
    assert results["tls.cipher.weak"].status == Status.ERROR


def test_expiry_window_comes_from_the_inventory_when_set(registry):
    endpoint, now = RECORDINGS.load("expiring")  # 10 days left
    assert judge_endpoint(registry, endpoint, now)["tls.cert.expiring"].status == Status.FAIL  # thresholds: 30
    shorter = offline_inventory(FQDN, cert_expiry_warn_days=5)
    result = judge_endpoint(registry, endpoint, now, shorter)["tls.cert.expiring"]
    assert result.status == Status.PASS and result.evidence["warn_days"] == 5


# -- pure rules --------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "dns", "ips", "expected"), [
    ("good.test", ("good.test",), (), True),
    ("GOOD.test.", ("good.TEST",), (), True),
    ("a.good.test", ("*.good.test",), (), True),
    ("a.b.good.test", ("*.good.test",), (), False),  # a wildcard covers one label only
    ("good.test", ("*.good.test",), (), False),
    ("good.test", ("other.test",), (), False),
    ("10.0.0.5", ("10.0.0.5",), (), False),  # an IP matches IP entries only
    ("10.0.0.5", (), ("10.0.0.5",), True),
    ("::1", (), ("0:0:0:0:0:0:0:1",), True),
    ("", ("good.test",), (), None),
])
def test_hostname_matching(name, dns, ips, expected):
    assert hostname_matches(name, dns, ips) is expected


@given(st.text(max_size=80), st.lists(st.text(max_size=40), max_size=5), st.lists(st.text(max_size=40), max_size=3))
def test_hostname_matching_never_raises_on_target_strings(name, dns, ips):
    assert hostname_matches(name, tuple(dns), tuple(ips)) in (True, False, None)


@pytest.mark.parametrize(("name", "anonymous", "bits", "weak"), [
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", False, 128, []),
    ("TLS_AES_256_GCM_SHA384", False, 256, []),
    ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", False, 168, ["3DES"]),
    ("TLS_RSA_EXPORT_WITH_RC4_40_MD5", False, 40, ["EXPORT", "RC4"]),
    ("TLS_ECDH_anon_WITH_AES_128_CBC_SHA", True, 128, ["anon"]),
    ("TLS_RSA_WITH_NULL_SHA256", False, 0, ["NULL"]),
    ("TLS_RSA_WITH_DES_CBC_SHA", False, 56, ["DES"]),
    ("SSL_CK_RC2_128_CBC_WITH_MD5", False, 128, ["RC2"]),
    # A made-up suite no token names: the key-size rule of checks/data/tls.yaml alone.
    ("TLS_RSA_WITH_MADEUP_CBC_SHA", False, 64, ["64-bit"]),
])
def test_weak_suite_rules(name, anonymous, bits, weak):
    assert tls_checks.weaknesses(CipherSuite(name=name, key_size=bits, anonymous=anonymous),
                                 tls_checks.tls_data()) == weak


@pytest.mark.parametrize(("name", "forward_secret"), [
    ("TLS_AES_128_GCM_SHA256", True), ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", True),
    ("TLS_DHE_RSA_WITH_AES_128_CBC_SHA", True), ("TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256", True),
    ("TLS_RSA_WITH_AES_128_GCM_SHA256", False), ("TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA", False),
    ("TLS_PSK_WITH_AES_128_CBC_SHA", False), ("SSL_CK_RC4_128_WITH_MD5", False),
])
def test_forward_secrecy_rule(name, forward_secret):
    assert tls_checks.forward_secret(CipherSuite(name=name, key_size=128)) is forward_secret


def test_tls_endpoints_are_planned_from_declared_services():
    host = Host.model_validate({"name": "h", "address": "10.0.0.5", "fqdn": "h.example.vn", "zone": "dmz", "services": [
        {"port": 443, "kind": "https"}, {"port": 25, "kind": "smtp"}, {"port": 465, "kind": "smtp"},
        {"port": 993, "kind": "imaps"}, {"port": 143, "kind": "imap"}, {"port": 389, "kind": "ldap"},
        {"port": 21, "kind": "ftp"}, {"port": 5432, "kind": "db"}, {"port": 3306, "kind": "db"},
        {"port": 80, "kind": "http"}, {"port": 22, "kind": "ssh"}, {"port": 995, "kind": "pop3s", "proto": "udp"}]})
    plans = {p.port: p.starttls for p in plan_endpoints(host, "10.0.0.5")}
    assert plans == {443: None, 25: "SMTP", 465: None, 993: None, 143: "IMAP", 389: "LDAP", 21: "FTP",
                     5432: "POSTGRES"}
    assert {(p.address, p.server_name) for p in plan_endpoints(host, "10.0.0.5")} == {("10.0.0.5", "h.example.vn")}


def test_chain_is_validated_at_a_moment_inside_its_dates(tmp_path):
    pki = TestPki(tmp_path)
    expired = x509.load_pem_x509_certificate(
        pki.issue("old", valid_from_days=-400, valid_days=365).cert.read_bytes())
    ca = pki.ca_cert
    moment = _validation_moment([expired, ca], utcnow())
    assert expired.not_valid_before_utc < moment < expired.not_valid_after_utc
    fresh = x509.load_pem_x509_certificate(pki.issue("new").cert.read_bytes())
    now = utcnow()
    assert _validation_moment([fresh, ca], now) == now


def test_texts_are_complete_and_remediation_is_concrete(registry, catalog):
    assert len(registry) == ALL_TLS_CHECKS
    for check in registry:
        for part in ("title", "rationale", "remediation"):
            for lang in ("vi", "en"):
                assert catalog.text(f"{check.id}.{part}", lang) != f"{check.id}.{part}", (check.id, part)
    for lang in ("vi", "en"):
        text = catalog.text("tls.protocol.legacy.remediation", lang)
        assert "ssl_protocols TLSv1.2 TLSv1.3;" in text and "SSLProtocol -all +TLSv1.2 +TLSv1.3" in text
    assert all(set(c.survey_items) & {"XI.2.1.2"} for c in registry)
