"""Hostile and broken targets (issue 8): one real scan, through the CLI, of the hostile lab hosts
(lab/hostile.py) beside the default lab's hard-01, with one of them taken off the network while
the scanner is in the middle of it.

What must hold, host by host: the scan ends on its own timeouts and its file is valid JSON; the
sound host's results are complete; what could not be observed says `error` or `unknown` with the
reason, and nothing passes without an observation that proves it; what the targets sent is kept
capped; and nothing they sent reaches a report as markup.

Needs root and `ip netns` (skips otherwise). Every probe goes to 10.203.0.0/24 only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from checks import default_registry
from lab import hostile
from lab import hostile_listener as misbehaving
from lab.__main__ import parse_args as lab_arguments
from lab.hosts import LAB_NETWORK, plan_hosts
from reports.formats import render_junit
from reports.html import render_html
from scanner.app.exits import EXIT_GAPS, EXIT_INCOMPLETE
from scanner.collectors.host import KEPT_OUTPUT
from scanner.collectors.http import HEADER_VALUE_CAP
from scanner.collectors.sshserver import MAX_LINE
from scanner.collectors.tls_precheck import answers_like_tls, client_hello
from scanner.inventory import parse_inventory
from scanner.model import Outcome, Status
from scanner.scanfile import ScanFile, load
from tests.paths import ROOT

pytest_plugins = ["tests.labfixture", "tests.hostilefixture"]   # the fixtures `lab`, `hostile_lab`

HOSTILE_HOSTS = [name for name in hostile.BY_NAME if name != "hostile-sudo"]   # sudo: test_secrets.py
VANISHING = "hostile-vanish"
MARK_WAIT_SECONDS = 120     # for the vanishing host's login shell to receive the probe script
HANG_GUARD_SECONDS = 900    # the CLI must have ended by then (a hang guard, not a benchmark)

# Collectors that cannot observe a host, the outcomes that may say so, and words the reason holds.
NOT_OBSERVED = {
    ("hostile-silent", "sshserver"): ({Outcome.TIMEOUT}, "identification line"),
    ("hostile-silent", "host"): ({Outcome.TIMEOUT}, "no SSH handshake"),
    ("hostile-banner", "sshserver"): ({Outcome.ERROR}, f"longer than {MAX_LINE} bytes"),
    ("hostile-banner", "host"): ({Outcome.TIMEOUT, Outcome.ERROR}, "10.203.0.242"),
    ("hostile-spew", "host"): ({Outcome.ERROR}, "output cap"),
    ("hostile-vanish", "host"): ({Outcome.TIMEOUT, Outcome.UNREACHABLE, Outcome.ERROR}, ""),
    ("hostile-rekeyed", "host"): ({Outcome.HOST_KEY_REJECTED}, "CHANGED"),
    ("hostile-void", "host"): ({Outcome.TIMEOUT, Outcome.UNREACHABLE}, "10.203.0.250"),
    ("hostile-void", "sshserver"): ({Outcome.TIMEOUT, Outcome.UNREACHABLE}, "10.203.0.250"),
    ("hostile-void", "ports"): ({Outcome.ERROR, Outcome.UNREACHABLE, Outcome.TIMEOUT}, "10.203.0.250"),
}
# Endpoints that cannot be scanned: the reasons their facts may give, and words of the detail.
BROKEN_ENDPOINTS = {
    ("hostile-silent", "tls", 443): ({"tls_handshake_failed"}, "silent"),
    ("hostile-silent", "http", 443): ({"timeout"}, "timed out"),
    ("hostile-web", "tls", 8443): ({"tls_handshake_failed"}, "not TLS"),
    ("hostile-web", "http", 8443): ({"tls_handshake_failed", "protocol_error"}, "8443"),
    ("hostile-void", "tls", 443): ({"timeout", "refused", "error"}, ""),
    ("hostile-void", "http", 443): ({"timeout", "refused", "protocol_error"}, "10.203.0.250"),
}
# What a hostile host did not break: these collectors observed it in full.
OBSERVED = {
    "hostile-silent": ["ports"],
    "hostile-web": ["ports", "sshserver", "host", "tls", "http"],
    "hostile-banner": ["ports"],
    "hostile-spew": ["ports", "sshserver"],
    "hostile-rekeyed": ["ports", "sshserver"],
}


@dataclass(frozen=True)
class HostileScan:
    path: Path
    raw: str
    scan: ScanFile
    html: str
    stdout: str
    stderr: str
    returncode: int
    vanished: bool


@pytest.fixture(scope="module")
def hostile_scan(hostile_lab, tmp_path_factory) -> HostileScan:
    folder = tmp_path_factory.mktemp("hostile")
    out, stdout, stderr = folder / "hostile.json", folder / "stdout.txt", folder / "stderr.txt"
    mark = hostile_lab.probe_script_mark(VANISHING)
    # --detail full: every result and its raw evidence reach the page, so every hostile string does.
    argv = [sys.executable, "-m", "scanner", "scan", str(hostile_lab.inventory), "-o", str(out),
            "--results-dir", str(folder), "--detail", "full"]
    with open(stdout, "w") as out_file, open(stderr, "w") as err_file:
        proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out_file, stderr=err_file,
                                env=dict(os.environ, CI="true"))
        vanished = False
        try:
            deadline = time.monotonic() + MARK_WAIT_SECONDS
            while proc.poll() is None and time.monotonic() < deadline:
                if mark.exists():   # the scanner is inside hostile-vanish now: take it away
                    hostile_lab.vanish(VANISHING)
                    vanished = True
                    break
                time.sleep(0.05)
            proc.wait(timeout=HANG_GUARD_SECONDS)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    raw = out.read_text(encoding="utf-8")
    return HostileScan(out, raw, load(out), out.with_suffix(".html").read_text(encoding="utf-8"),
                       stdout.read_text(), stderr.read_text(), proc.returncode, vanished)


@pytest.fixture(scope="module")
def registry():
    return default_registry()


def endpoints(scan: ScanFile, host: str, collector: str) -> dict[int, dict]:
    return {e["port"]: e for e in scan.hosts[host].observations[collector].data.get("endpoints", [])}


def requiring(registry, scan: ScanFile, host: str, collector: str) -> list:
    return [r for r in scan.hosts[host].results if collector in registry.get(r.check_id).requires]


# --- the hostile hosts themselves (no lab needed) ----------------------------------------------
def test_hostile_hosts_stay_clear_of_a_hundred_host_lab():
    hundred = plan_hosts(100)
    specs = list(hostile.HOSTS)
    assert {s.host.address for s in specs}.isdisjoint({h.address for h in hundred})
    assert {s.host.veth for s in specs}.isdisjoint({h.veth for h in hundred})
    assert all(s.host.address in [str(a) for a in LAB_NETWORK.hosts()] for s in specs)
    assert all(s.name.startswith("hostile-") and s.host.netns == f"rslab-{s.name}" for s in specs)
    assert max(len(s.host.veth) for s in specs) <= 15
    assert hostile.CONTROL_HOST.name not in hostile.BY_NAME


def test_the_hostile_inventory_is_valid_and_declares_every_hostile_host():
    inventory = parse_inventory(hostile.inventory_text(list(hostile.HOSTS)), "hostile.yaml")
    assert [h.name for h in inventory.hosts] == [hostile.CONTROL_HOST.name, *hostile.BY_NAME]
    assert inventory.defaults.ssh.known_hosts == hostile.HOSTILE_KNOWN_HOSTS.name
    assert inventory.scan.timeouts.connect == hostile.TIMEOUTS["connect"]


@pytest.mark.parametrize(("first_bytes", "tls"), [
    (b"\x16\x03\x03\x00\x7a", True),      # a handshake record (ServerHello)
    (b"\x15\x03\x01\x00\x02", True),      # an alert: TLS, if not what we hoped for
    (b"\x16", True),                        # too little to tell: sslyze decides
    (b"\x80\x2e\x04\x00\x01", True),      # an SSL 2.0 server hello
    (b"SSH-2.0-OpenSSH_9.2", False),
    (b"HTTP/1.1 400 Bad Request", False),
    (misbehaving.GARBAGE, False),
    (b"\x16\x01\x00", False),               # a handshake type, but no TLS version after it
])
def test_the_first_bytes_of_an_answer_tell_tls_from_garbage(first_bytes, tls):
    assert answers_like_tls(first_bytes) is tls


def test_the_precheck_sends_an_ordinary_client_hello_with_sni():
    hello = client_hello("portal.example.vn")
    assert hello[:2] == b"\x16\x03" and hello[5] == 1   # a handshake record holding a ClientHello
    assert b"portal.example.vn" in hello
    assert b"10.0.0.5" not in client_hello("10.0.0.5")   # an address is never sent as SNI


def test_lab_up_can_bring_the_hostile_hosts_too():
    assert lab_arguments(["up", "--with-hostile"]).with_hostile
    assert not lab_arguments(["up"]).with_hostile


# --- the scan ends, and its file holds everything ---------------------------------------------
@pytest.mark.lab
def test_the_scan_ends_on_its_own_timeouts_with_a_valid_scan_file(hostile_scan, hostile_lab):
    assert hostile_scan.returncode in (EXIT_GAPS, EXIT_INCOMPLETE), hostile_scan.stderr[-3000:]
    json.loads(hostile_scan.raw)   # valid JSON as written, not only as our loader reads it
    scan = hostile_scan.scan
    # Nothing was interrupted or abandoned: every collector ended by itself, within its timeouts.
    assert scan.complete and scan.incomplete_reason is None
    assert all(phase.ended and phase.ended >= phase.started for phase in scan.phases.values())
    expected_hosts = {hostile_lab.control.name, *HOSTILE_HOSTS}
    assert set(scan.hosts) == expected_hosts
    for name, record in scan.hosts.items():
        assert set(record.observations) == set(scan.phases), name
    assert str(hostile_scan.path) in hostile_scan.stdout.split()


@pytest.mark.lab
def test_the_host_taken_away_mid_scan_was_being_scanned(hostile_scan):
    assert hostile_scan.vanished, f"{VANISHING}'s login shell never received the probe script"
    assert not hostile.HostileRecord().hosts.get(VANISHING)   # it is gone, processes and all


@pytest.mark.lab
def test_the_sound_host_is_observed_in_full_and_judged_as_in_the_lab(hostile_scan, hostile_lab, lab):
    control = hostile_lab.control.name
    record = hostile_scan.scan.hosts[control]
    assert {c: o.outcome for c, o in record.observations.items()} == {c: Outcome.OK for c in record.observations}
    expected = yaml.safe_load(lab.expected.read_text(encoding="utf-8"))[control]
    by_check: dict[str, set[Status]] = {}
    for result in record.results:
        by_check.setdefault(result.check_id, set()).add(result.status)
    registry = default_registry()
    wrong = {check: by_check.get(check) for check in expected["pass"]
             if check in registry and not by_check.get(check, set()) <= {Status.PASS, Status.NOT_APPLICABLE}}
    assert wrong == {}


# --- what could not be observed says so, and never passes -------------------------------------
@pytest.mark.lab
@pytest.mark.parametrize(("host", "collector"), sorted(NOT_OBSERVED))
def test_an_unobservable_host_is_error_or_unknown_with_its_reason(hostile_scan, registry, host, collector):
    outcomes, words = NOT_OBSERVED[(host, collector)]
    obs = hostile_scan.scan.hosts[host].observations[collector]
    assert obs.outcome in outcomes, (obs.outcome, obs.detail)
    assert words in obs.detail and obs.detail
    results = requiring(registry, hostile_scan.scan, host, collector)
    assert results
    for result in results:
        assert result.status in (Status.ERROR, Status.UNKNOWN), (result.check_id, result.status)
        assert result.message and result.message.params.get("detail"), result.check_id


@pytest.mark.lab
@pytest.mark.parametrize(("host", "collector", "port"), sorted(BROKEN_ENDPOINTS))
def test_an_unscannable_endpoint_is_error_with_its_reason(hostile_scan, registry, host, collector, port):
    reasons, words = BROKEN_ENDPOINTS[(host, collector, port)]
    error = endpoints(hostile_scan.scan, host, collector)[port]["error"]
    assert error and error["reason"] in reasons and words in error["detail"], error
    results = [r for r in requiring(registry, hostile_scan.scan, host, collector) if r.target == f"{port}/tcp"]
    assert results
    assert {r.status for r in results} == {Status.ERROR}
    assert all(r.message.params.get("reason") == error["reason"] for r in results)


@pytest.mark.lab
@pytest.mark.parametrize("host", sorted(OBSERVED))
def test_what_a_hostile_host_did_not_break_is_observed(hostile_scan, host):
    record = hostile_scan.scan.hosts[host]
    assert {c: record.observations[c].outcome for c in OBSERVED[host]} == {c: Outcome.OK for c in OBSERVED[host]}


@pytest.mark.lab
def test_nothing_passes_without_an_observation_that_proves_it(hostile_scan, registry):
    unproven = []
    for name, record in hostile_scan.scan.hosts.items():
        for result in record.results:
            if result.status != Status.PASS:
                continue
            for collector in registry.get(result.check_id).requires:
                obs = record.observations[collector]
                endpoint = endpoints(hostile_scan.scan, name, collector).get(int(result.target.split("/")[0])) \
                    if result.target.endswith("/tcp") and obs.outcome == Outcome.OK else None
                broken = endpoint is not None and (endpoint.get("error") or endpoint.get("outcome", "ok") != "ok")
                if obs.outcome != Outcome.OK or broken:
                    unproven.append((name, result.check_id, result.target, collector))
    assert unproven == []


@pytest.mark.lab
def test_hostile_hosts_pass_nothing_their_broken_collectors_decide(hostile_scan, registry):
    for host, collector in NOT_OBSERVED:
        assert not [r.check_id for r in requiring(registry, hostile_scan.scan, host, collector)
                    if r.status == Status.PASS], (host, collector)


# --- what the targets sent is kept as capped data ---------------------------------------------
@pytest.mark.lab
def test_the_50_mb_answer_is_cut_at_the_cap_and_kept_as_evidence(hostile_scan):
    obs = hostile_scan.scan.hosts["hostile-spew"].observations["host"]
    assert obs.data["parsed"] == {}
    assert any("output cap" in note for note in obs.data["notes"])
    [script] = [c for c in obs.data["commands"] if c["name"] == "script"]
    assert script["truncated"] and script["exit_status"] is None
    assert 0 < len(script["output"]) <= KEPT_OUTPUT
    assert script["output"].startswith("<script>alert(5)</script>")   # as sent, kept as data
    # One cut script, and no second one (with or without sudo) sent to a shell that ignores them.
    assert obs.data["round_trips"] == 2


@pytest.mark.lab
def test_the_1_mib_banner_and_the_hostile_headers_are_capped(hostile_scan):
    banner = hostile_scan.scan.hosts["hostile-banner"].observations["sshserver"]
    assert len(banner.detail) < 2 * MAX_LINE and "SSH-2.0-OpenSSH_9.2p1 <script>" in banner.detail
    for port in (80, 443):
        response = endpoints(hostile_scan.scan, "hostile-web", "http")[port]["get"]
        headers = {h["name"]: h["value"] for h in response["headers"]}
        assert headers["Server"] == dict(misbehaving.HTTP_HEADERS)["Server"]
        assert all(len(value) <= HEADER_VALUE_CAP + 1 for value in headers.values())
    hostile_records = {name: record for name, record in hostile_scan.scan.hosts.items() if name in HOSTILE_HOSTS}
    stored = sum(len(record.model_dump_json()) for record in hostile_records.values())
    assert stored < misbehaving.BANNER_BYTES   # 50 MB and 1 MiB sent; a fraction of one kept


@pytest.mark.lab
def test_the_certificate_subject_is_kept_as_sent(hostile_scan):
    leaf = endpoints(hostile_scan.scan, "hostile-web", "tls")[443]["certificate"]["chain"][0]
    assert hostile.CERT_ORGANIZATION.replace("<", "\\<").replace(">", "\\>") in leaf["subject"]


# --- nothing reaches a report as markup -------------------------------------------------------
class Page(HTMLParser):
    """Every element and attribute of a page, and its text as a reader sees it."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


HOSTILE_TEXTS = ["<script>alert('readyscan-xss')</script>", "SSH-2.0-OpenSSH_9.2p1 <script>",
                 hostile.CERT_ORGANIZATION.replace("<", "\\<").replace(">", "\\>")]


@pytest.mark.lab
@pytest.mark.parametrize("render", ["cli", "render_html"])
def test_no_target_text_becomes_markup_in_the_html_report(hostile_scan, render):
    html = hostile_scan.html if render == "cli" else render_html(hostile_scan.scan, lang="en", detail="full")
    page = Page(html)
    injected = [(tag, attrs) for tag, attrs in page.tags
                if tag in ("script", "iframe", "img", "object", "embed")
                or any(name.startswith("on") or (value or "").strip().lower().startswith("javascript:")
                       for name, value in attrs)]
    assert injected == []
    text = "".join(page.text)
    assert [t for t in HOSTILE_TEXTS if t not in text] == []   # shown, as text


@pytest.mark.lab
def test_control_characters_from_targets_are_shown_not_sent_in_the_html_report(hostile_scan):
    raw_controls = {c for c in hostile_scan.html if ord(c) < 32 and c not in "\t\n\r" or c == "\x7f"}
    assert raw_controls == set()


@pytest.mark.lab
def test_the_junit_report_stays_well_formed_xml(hostile_scan):
    root = ET.fromstring(render_junit(hostile_scan.scan, lang="en"))
    assert "readyscan-xss" in ET.tostring(root, encoding="unicode")


@pytest.mark.lab
def test_the_terminal_gets_no_escape_sequence_from_a_target(hostile_scan):
    for stream in (hostile_scan.stdout, hostile_scan.stderr):
        assert misbehaving.CONTROL not in stream and "\x1b[2J" not in stream
