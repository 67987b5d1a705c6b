"""The evidence sentences and tailored fixes of the network checks (ports, sshd, tls), read off the
recorded lab scan (tests/labscan.py: facts recorded from the lab, judged now): each names the
result's own address, port and service, never another finding's example."""

from __future__ import annotations

import pytest

from reports import Texts
from tests.labscan import recorded_lab_scan

DEBIAN = {"os": "Debian GNU/Linux 13 (trixie)", "os_debian": "Debian GNU/Linux 13 (trixie)"}


@pytest.fixture(scope="module")
def results():
    return {(r.check_id, r.host, r.target): r for r in recorded_lab_scan().all_results()}


@pytest.fixture(scope="module")
def en():
    return Texts.for_lang("en")


def test_a_telnet_finding_names_its_own_port(results, en):
    telnet = results[("ports.risky_exposed", "exposed-01", "23/tcp")]
    fix = en.fix(telnet, DEBIAN)
    assert fix.startswith("On Debian GNU/Linux 13 (trixie): find the process with `ss -tulnp 'sport = :23'`")
    assert "tcp dport 23 drop" in fix and "3306" not in fix
    assert "10.203.0.13" in en.evidence(telnet) and "row `telnet`" in en.evidence(telnet)
    assert "3306" not in en.remediation("ports.undeclared_open") and "10.0.3.5" not in en.remediation("ports.risky_exposed")


def test_ssh_evidence_names_the_endpoint_and_identification(results, en):
    password = results[("sshd.auth.password_offered", "legacy-01", "22/tcp")]
    assert en.evidence(password).startswith(
        "The scanner connected to 10.203.0.11, port 22/tcp (`SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10`)")
    assert "scan port 22/tcp again" in en.fix(password, DEBIAN)


def test_tls_titles_state_the_requirement_and_findings_the_gap(en):
    assert en.title("tls.protocol.legacy") == "Only TLS 1.2 and later are accepted"
    assert en.finding("tls.protocol.legacy") == "The server accepts TLS 1.0 / TLS 1.1 (deprecated)"


def test_a_starttls_refusal_is_told_as_such(results, en):
    refused = results[("tls.cert.expired", "legacy-01", "21/tcp")]
    assert en.evidence(refused).endswith("the server refused: FTP: 530 Please login with USER and PASS.")
    assert en.fix(refused).startswith("Port 21/tcp does not use TLS yet")
    legacy = results[("tls.protocol.legacy", "legacy-01", "443/tcp")]
    assert "`openssl s_client -connect 10.203.0.11:443 -servername legacy-01.lab.readyscan.test -tls1_1`" in en.fix(legacy)
