"""`readyscan fix-plan` (issue 17): the plan made from the recorded lab scan (tests/labscan.py)
fixes each gap with the values of its own result and host, lists every other failing result with
its fix by hand, passes `ansible-playbook --syntax-check` and `ansible-lint --offline` in both
languages, and keeps whatever a scan file holds as data. A real Ansible run on this machine
(local connection) then applies an sshd fix to a configuration in the test's folder, validated
by the real `sshd -t`, reloads the sshd the test started, and changes nothing the second time;
without `-e apply=true` it changes nothing at all."""

from __future__ import annotations

import copy
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from reports.fixplan import INVENTORY, PLAYBOOK, build_plan, playbook_text, write_plan
from scanner.app.cli import main
from scanner.model import Message, Status
from scanner.scanfile import ScanFile, save
from scanner.thresholds import load_thresholds
from tests.labscan import recorded_lab_scan
from tests.sshd import keygen, start_sshd

BIN = Path(sys.executable).parent
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
PORT = 21170


class PlanLoader(yaml.SafeLoader):
    """The plan as YAML; a `!unsafe` string is kept apart so a test can tell it from a plain one."""


class Unsafe(str):
    pass


PlanLoader.add_constructor("!unsafe", lambda loader, node: Unsafe(loader.construct_scalar(node)))


def plays(text: str) -> list[dict]:
    return yaml.load(text, Loader=PlanLoader)  # noqa: S506  (a SafeLoader that knows one more tag)


def blocks(text: str, host: str) -> dict[str, dict]:
    play = next(p for p in plays(text) if p["hosts"] == host)
    return {b["tags"][0]: b for b in play["tasks"]}


def tool(name: str, folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_HOME=str(folder / ".ansible"), ANSIBLE_LOCAL_TEMP=str(folder / ".ansible/tmp"),
               ANSIBLE_CONFIG=str(folder / "no-ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0")
    return subprocess.run([str(BIN / name), *args], cwd=folder, capture_output=True, text=True, env=env, timeout=600)


# -- what the plan holds -------------------------------------------------------------------------
def test_each_fix_takes_its_values_from_its_result_and_host():
    scan = recorded_lab_scan()
    text = playbook_text(build_plan(scan, lang="en"))
    legacy = blocks(text, "legacy-01")
    results = {r.check_id: r for r in scan.hosts["legacy-01"].results}
    sshd_facts = scan.hosts["legacy-01"].observations["host"].data["parsed"]["sshd_config"]

    tries = legacy["ssh.config.max_auth_tries"]
    limit = results["ssh.config.max_auth_tries"].message.params["limit"]
    lines = [t["ansible.builtin.lineinfile"] for t in tries["block"] if "ansible.builtin.lineinfile" in t]
    assert {"MaxAuthTries " + str(limit)} == {x["line"] for x in lines if x.get("create")}
    assert all(x["validate"].startswith(sshd_facts["binary"] + " -t -f %s") for x in lines)
    # the line sshd read the value from is the one removed, in the file it named
    where = sshd_facts["settings"]["maxauthtries"]["location"].rsplit(":", 1)[0]
    assert any(x.get("state") == "absent" and x["path"] == where for x in lines)
    assert tries["tags"][0] == "ssh.config.max_auth_tries"
    assert set(results["ssh.config.max_auth_tries"].survey_items) <= set(tries["tags"])
    assert "reload" in tries["tags"] and "legacy-01" in tries["tags"]
    assert tries["name"].startswith("[ssh.config.max_auth_tries] ") and tries["name"].endswith("(legacy-01)")

    # algorithms: what sshd uses now less every weak name, the defaults' too (hmac-sha1 is on by
    # default in OpenSSH 9.2: an explicit list that kept it would configure it)
    evidence = results["ssh.config.algorithms"].evidence
    weak = {w["name"] for w in evidence["weak"]}
    lists = {t["name"].split()[1]: t["vars"]["readyscan_names"] for t in legacy["ssh.config.algorithms"]["block"]
             if "vars" in t}
    assert lists["MACs"] == evidence["macs"]["without_weak"].split(",")
    assert "hmac-sha1" in evidence["macs"]["effective"]["value"].split(",") and "hmac-sha1" not in lists["MACs"]
    assert set(lists) == {"Ciphers", "MACs", "KexAlgorithms"} and not weak & {n for v in lists.values() for n in v}

    retention = results["logging.retention"]
    step = legacy["logging.retention"]["block"][0]["ansible.builtin.replace"]
    assert step["replace"].endswith(f"rotate {math.ceil(retention.evidence['required_days'] / 7)}")
    assert step["path"] == "/etc/logrotate.d/rsyslog"  # where the recorded facts put the weekly stanza

    play = next(p for p in plays(text) if p["hosts"] == "legacy-01")
    assert play["check_mode"] == "{{ not (apply | default(false) | bool) }}" and play["diff"] is True
    assert {h["listen"] for h in play["handlers"]} == {"reload sshd", "restart rsyslog", "reload nginx"}

    # forwarding: to the log server the inventory declares (lab/inventory.yaml: the lab's collector)
    forward = legacy["logging.remote_forwarding"]
    step = forward["block"][0]["ansible.builtin.blockinfile"]
    assert 'target="10.203.0.1" port="514" protocol="tcp"' in step["block"] and "restart" in forward["tags"]
    assert step["path"] == "/etc/rsyslog.conf" and step["validate"].endswith(" -N1 -f %s")
    assert forward["block"][0]["notify"] == "restart rsyslog"


def nginx_blocks(text: str, host: str) -> dict[tuple[str, str], dict]:
    play = next(p for p in plays(text) if p["hosts"] == host)
    return {(b["tags"][0], b["name"].rsplit(", ", 1)[-1].rstrip(")")): b for b in play["tasks"]
            if b["tags"][0].startswith(("http.", "tls."))}


def step(block: dict, module: str) -> dict:
    return next(t for t in block["block"] if module in t)


def test_nginx_fixes_edit_the_lines_the_scan_read_and_put_them_back_if_nginx_rejects_them():
    scan = recorded_lab_scan()
    text = playbook_text(build_plan(scan, lang="en"))
    fixes = nginx_blocks(text, "legacy-01")
    nginx = scan.hosts["legacy-01"].observations["host"].data["parsed"]["nginx"]
    servers = {lst["port"]: s for s in nginx["servers"] for lst in s["listens"]}
    results = {(r.check_id, r.target): r for r in scan.hosts["legacy-01"].results}

    # TLS 1.0/1.1 on 8443: the server's own ssl_protocols line, as recorded, becomes TLS 1.2 and 1.3
    own = next(d for d in servers[8443]["directives"] if d["name"] == "ssl_protocols")
    edit = step(fixes[("tls.protocol.legacy", "8443/tcp")], "ansible.builtin.replace")["ansible.builtin.replace"]
    assert own["text"] == "ssl_protocols TLSv1 TLSv1.1;" and re.escape(own["text"]) in edit["regexp"]
    assert edit["path"] == own["location"].rsplit(":", 1)[0] and edit["replace"] == r"\g<1>ssl_protocols TLSv1.2 TLSv1.3;"
    # suites: the recommended list, keeping the @SECLEVEL=0 the RSA-1024 certificate on 443 needs to load
    ciphers = step(fixes[("tls.cipher.weak", "443/tcp")], "ansible.builtin.replace")
    assert ciphers["vars"]["readyscan_names"] == [*load_thresholds().tls.recommended_ciphers, "@SECLEVEL=0"]
    assert "readyscan_names | join(':')" in ciphers["ansible.builtin.replace"]["replace"]
    assert results[("tls.cert.weak_key", "443/tcp")].status == Status.FAIL
    # a header the server lacks goes in after its listen line; HSTS for the result's own minimum
    hsts = step(fixes[("http.hsts", "443/tcp")], "ansible.builtin.blockinfile")["ansible.builtin.blockinfile"]
    listen = next(d for d in servers[443]["directives"] if d["name"] == "listen")
    assert re.match(hsts["insertafter"], listen["indent"] + listen["text"])
    minimum = results[("http.hsts", "443/tcp")].evidence["minimum_max_age"]
    assert hsts["block"] == f'{listen["indent"]}add_header Strict-Transport-Security "max-age={minimum}" always;\n'
    # server_tokens is set once, in http: that line is changed, for every port it shows on
    http_tokens = next(d for d in nginx["http_directives"] if d["name"] == "server_tokens")
    for port in (80, 443, 8443):
        edit = step(fixes[("http.version_disclosure", f"{port}/tcp")], "ansible.builtin.replace")
        assert re.escape(http_tokens["text"]) in edit["ansible.builtin.replace"]["regexp"]
    # every nginx edit: the whole configuration tested after it, the file put back if that fails
    for block in fixes.values():
        test = step(block, "ansible.builtin.command")["ansible.builtin.command"]["argv"]
        assert test == [nginx["binary"], "-t", "-c", nginx["main_file"]]
        assert "ansible.builtin.copy" in block["rescue"][0] and "ansible.builtin.fail" in block["rescue"][1]
        assert "reload" in block["tags"]
    # no fix for what nginx does not serve (8080 is the lab's Python listener) or a site must decide
    assert not {k for k in fixes if k[1] == "8080/tcp" or k[0] in ("http.csp", "http.redirect_https")}


def test_waived_results_are_left_out_and_the_rest_are_listed_with_their_fix_by_hand():
    scan = recorded_lab_scan()
    plan = build_plan(scan, lang="vi")
    failing = [r for r in scan.all_results() if r.status == Status.FAIL]
    waived = [r for r in failing if r.waiver is not None]
    fixed = sum(len(h.fixes) for h in plan.hosts)
    assert plan.waived == len(waived) > 0
    assert fixed + len(plan.manual) + len(plan.covered) + plan.waived == len(failing)
    # what sshd offers from the network ends with its configuration's fix: listed, not left by hand;
    # so do weakssh-01's authentication messages, kept only in its journal in memory, once it is on disk
    assert {(c.host, c.check_id, c.target, c.by) for c in plan.covered} == {
        (h, "sshd.auth.password_offered", "22/tcp", "ssh.config.password_auth") for h in ("legacy-01", "weakssh-01")} \
        | {("weakssh-01", "logging.auth_log", "", "logging.daemon")}
    assert not any(m.check_id == "sshd.auth.password_offered" for m in plan.manual)
    assert not any(f.check_id.startswith("patch.") for h in plan.hosts for f in h.fixes)  # waived in the lab
    text = playbook_text(plan)
    header = text.split("\n- name:", 1)[0]
    csp = next(m for m in plan.manual if m.check_id == "http.csp" and m.host == "legacy-01")
    assert csp.fix and csp.fix[:60] in " ".join(line.lstrip("# ") for line in header.splitlines())
    assert "Content-Security-Policy phải viết theo" in csp.why  # why not automatic, in the check's own terms
    assert "ansible-playbook -i inventory.yml fix-plan.yml" in header and "-e apply=true" in header
    assert "Kế hoạch khắc phục do readyscan" in header


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_plan_passes_syntax_check_and_ansible_lint(tmp_path, lang):
    scan_path = tmp_path / "scan.json"
    save(recorded_lab_scan(), scan_path)
    assert main(["fix-plan", str(scan_path), "-o", str(tmp_path / "plan"), "--lang", lang]) == 0
    folder = tmp_path / "plan"
    assert yaml.safe_load((folder / INVENTORY).read_text())["all"]["hosts"]["legacy-01"] == {
        "ansible_host": "10.203.0.11", "ansible_port": 22}
    syntax = tool("ansible-playbook", folder, "-i", INVENTORY, PLAYBOOK, "--syntax-check")
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr
    lint = tool("ansible-lint", folder, "--offline", "--nocolor", PLAYBOOK)
    assert lint.returncode == 0, lint.stdout[-3000:] + lint.stderr[-3000:]
    assert "profile that met the validation criteria was 'production'" in lint.stdout + lint.stderr
    assert "Error" not in lint.stdout + lint.stderr  # e.g. a tagged task name it cannot match to a skip comment


# -- hostile scan files --------------------------------------------------------------------------
PAYLOAD = "{{ lookup('pipe', 'touch PWNED') }}\n- hosts: all\n  tasks: [{ansible.builtin.command: id}]"


def pid_in(pidfile: Path, timeout: float = 10) -> int:
    """The PID a daemon wrote, once it has (sshd rewrites the file when SIGHUP re-executes it)."""
    deadline = time.monotonic() + timeout
    while not (text := pidfile.read_text().strip() if pidfile.exists() else ""):
        assert time.monotonic() < deadline, f"no PID in {pidfile}"
        time.sleep(0.05)
    return int(text)


def hostile_scan(folder: Path, pidfile: Path, hostkey: Path) -> ScanFile:
    """The recorded lab scan, one host trimmed to one sshd gap whose facts point into `folder`,
    and a target and an account name that try to become Ansible code."""
    scan = recorded_lab_scan().model_copy(deep=True)
    record = scan.hosts["legacy-01"]
    data = copy.deepcopy(record.observations["host"].data)
    sshd = data["parsed"]["sshd_config"]
    sshd["binary"], sshd["main_file"] = SSHD, str(folder / "sshd_config")
    sshd["settings"]["hostkey"]["values"] = [str(hostkey)]
    sshd["settings"]["pidfile"]["values"] = [str(pidfile)]
    sshd["settings"]["maxauthtries"]["location"] = f"{folder / 'sshd_config'}:9"
    record.observations["host"] = record.observations["host"].model_copy(update={"data": data})
    tries = next(r for r in record.results if r.check_id == "ssh.config.max_auth_tries")
    ageing = next(r for r in record.results if r.check_id == "accounts.password_ageing")
    ageing = ageing.model_copy(update={"evidence": {**ageing.evidence, "over_limit": ["root", "x$(id)"]}})
    record.results = [tries.model_copy(update={"target": PAYLOAD}), ageing]
    scan.hosts = {"legacy-01": record,
                  "bad name {{ x }}": record.model_copy(update={"results": [
                      tries.model_copy(update={"host": "bad name {{ x }}", "message": Message(key="too_many",
                                                params={"value": 6, "limit": 4})})]})}
    scan.org_results = []
    return scan


def test_scan_values_stay_data_and_check_mode_changes_nothing_then_apply_fixes_once(tmp_path):
    host_key = keygen(tmp_path / "host_key")
    client = keygen(tmp_path / "client")
    server = start_sshd(tmp_path / "sshd", PORT, [client])  # a real sshd whose PID the plan's handler signals
    try:
        pidfile = tmp_path / "sshd" / "sshd.pid"
        config = tmp_path / "sshd_config"
        config.write_text(f"Port {PORT}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {pidfile}\n"
                          "UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                          "StrictModes no\nMaxAuthTries 6\nLogLevel ERROR\n")
        plan = build_plan(hostile_scan(tmp_path, pidfile, host_key), lang="en")
        # the host whose name Ansible would read as a pattern gets no play: it is listed by hand
        assert [h.name for h in plan.hosts] == ["legacy-01"]
        assert any(m.host == "bad name {{ x }}" for m in plan.manual)
        # an account name that is not one is no value to put in a task
        assert any(m.check_id == "accounts.password_ageing" for m in plan.manual)
        folder = tmp_path / "plan"
        write_plan(plan, folder)
        text = (folder / PLAYBOOK).read_text()
        loaded = plays(text)
        assert len(loaded) == 1 and [b["tags"][0] for b in loaded[0]["tasks"]] == ["ssh.config.max_auth_tries"]
        block = loaded[0]["tasks"][0]
        # a name is shown, and so rendered, by Ansible: the delimiters are broken, the words kept
        assert "{ { lookup('pipe', 'touch PWNED') }}" in block["name"] and "{{" not in block["name"]
        assert "\n" not in block["name"]
        # values stay whole, tagged so that Ansible never renders them
        assert all(isinstance(t["ansible.builtin.lineinfile"]["path"], Unsafe)
                   for t in block["block"] if "ansible.builtin.lineinfile" in t)
        assert not any(line.startswith("- hosts: all") for line in text.splitlines())
        (folder / "local.ini").write_text(f"legacy-01 ansible_connection=local ansible_python_interpreter={sys.executable}\n")

        before = config.read_text()
        dry = tool("ansible-playbook", folder, "-i", "local.ini", PLAYBOOK)
        assert dry.returncode == 0, dry.stdout[-3000:] + dry.stderr
        assert config.read_text() == before and not (folder / "sshd_config.d").exists()
        assert not (tmp_path / "sshd_config.d").exists() and re.search(r"changed=[1-9]", dry.stdout)
        assert "+MaxAuthTries 4" in dry.stdout  # the diff it would apply

        pid = pid_in(pidfile)
        applied = tool("ansible-playbook", folder, "-i", "local.ini", PLAYBOOK, "-e", "apply=true")
        assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr
        dropin = tmp_path / "sshd_config.d" / "00-readyscan.conf"
        assert dropin.read_text() == "MaxAuthTries 4\n" and oct(dropin.stat().st_mode & 0o777) == "0o600"
        lines = config.read_text().splitlines()
        assert lines[0] == f"Include {tmp_path}/sshd_config.d/*.conf" and "MaxAuthTries 6" not in lines
        effective = subprocess.run([SSHD, "-T", "-f", str(config)], capture_output=True, text=True, check=True).stdout
        assert "maxauthtries 4" in effective.splitlines()
        assert "RUNNING HANDLER [Reload sshd" in applied.stdout and server.proc.poll() is None
        assert pid_in(pidfile) == pid  # reloaded in place (SIGHUP re-executes sshd), not restarted

        again = tool("ansible-playbook", folder, "-i", "local.ini", PLAYBOOK, "-e", "apply=true")
        assert again.returncode == 0 and re.search(r"legacy-01\s+: ok=\d+\s+changed=0 ", again.stdout), again.stdout
        assert not list(tmp_path.rglob("PWNED")) and not Path("PWNED").exists()
    finally:
        server.stop()


def test_a_path_from_the_scan_file_that_a_shell_or_a_split_would_read_gets_no_task():
    """The PID file's path goes into the reload handler's shell line, the others into `sshd -t`
    command lines split on spaces: a forged one leaves the result to be fixed by hand."""
    for field, value in (("pidfile", '/run/x"; touch /tmp/pwned; "'), ("hostkey", "/etc/ssh/key -o Foo=bar")):
        scan = recorded_lab_scan().model_copy(deep=True)
        record = scan.hosts["legacy-01"]
        data = copy.deepcopy(record.observations["host"].data)
        data["parsed"]["sshd_config"]["settings"][field]["values"] = [value]
        record.observations["host"] = record.observations["host"].model_copy(update={"data": data})
        plan = build_plan(scan, lang="en", checks=["ssh.config.*"])
        assert "legacy-01" not in {h.name for h in plan.hosts}, field
        assert {m.why for m in plan.manual if m.host == "legacy-01" and m.check_id == "ssh.config.max_auth_tries"} == {
            "the result lacks the values needed to write a safe setting"}, field
        assert value not in playbook_text(plan)


def with_nginx(change) -> ScanFile:
    """The recorded lab scan with legacy-01's nginx facts changed by `change(facts)`."""
    scan = recorded_lab_scan().model_copy(deep=True)
    record = scan.hosts["legacy-01"]
    data = copy.deepcopy(record.observations["host"].data)
    change(data["parsed"]["nginx"])
    record.observations["host"] = record.observations["host"].model_copy(update={"data": data})
    return scan


def server_on(facts: dict, port: int) -> dict:
    return next(s for s in facts["servers"] if any(lst["port"] == port for lst in s["listens"]))


def why_manual(scan: ScanFile, check_id: str, target: str) -> str | None:
    plan = build_plan(scan, lang="en", checks=["http.*", "tls.*"])
    return next((m.why for m in plan.manual if (m.host, m.check_id, m.target) == ("legacy-01", check_id, target)), None)


def test_nginx_cases_a_fix_cannot_handle_safely_are_left_by_hand_with_their_reason():
    def location_headers(facts):
        server_on(facts, 443)["header_blocks"] = ["/etc/nginx/nginx.conf:60"]

    def inherited(facts):
        facts["http_directives"].append({"name": "add_header", "args": ["X-Frame-Options", "DENY"], "alone": True,
                                         "location": "/etc/nginx/nginx.conf:22", "text": "add_header X-Frame-Options DENY;",
                                         "indent": "    "})

    def masked(facts):
        tokens = next(d for d in facts["http_directives"] if d["name"] == "server_tokens")
        tokens["text"] = 'server_tokens "***";'

    def shared_line(facts):
        own = next(d for d in server_on(facts, 8443)["directives"] if d["name"] == "ssl_protocols")
        own["alone"] = False

    def spaced_path(facts):
        for d in server_on(facts, 8443)["directives"]:
            d["location"] = "/etc/nginx/my sites/portal.conf:" + d["location"].rsplit(":", 1)[1]

    def not_running(facts):
        facts["master_pid"] = None

    cases = [
        (location_headers, "http.hsts", "443/tcp", "location blocks (/etc/nginx/nginx.conf:60) set add_header"),
        (inherited, "http.content_type_options", "443/tcp", "inherits from http an add_header the plan also writes"),
        (masked, "http.version_disclosure", "80/tcp", "was masked by the scan"),
        (shared_line, "tls.protocol.legacy", "8443/tcp", "shares its line"),
        (spaced_path, "tls.protocol.legacy", "8443/tcp", "lacks the values needed"),
        (not_running, "tls.cipher.weak", "443/tcp", "neither nginx nor Apache serves it"),
    ]
    assert why_manual(recorded_lab_scan(), "tls.protocol.legacy", "8443/tcp") is None  # fixed as recorded
    for change, check_id, target, reason in cases:
        why = why_manual(with_nginx(change), check_id, target)
        assert why is not None and reason in why, (change.__name__, why)


def test_an_nginx_line_from_the_scan_stays_data_in_the_plan():
    def hostile(facts):
        own = next(d for d in server_on(facts, 8443)["directives"] if d["name"] == "ssl_protocols")
        own["text"] = "ssl_protocols {{ lookup('pipe', 'touch PWNED') }};"

    text = playbook_text(build_plan(with_nginx(hostile), lang="en", checks=["tls.protocol.legacy"]))
    block = nginx_blocks(text, "legacy-01")[("tls.protocol.legacy", "8443/tcp")]
    edit = step(block, "ansible.builtin.replace")
    assert isinstance(edit["ansible.builtin.replace"]["regexp"], Unsafe)
    assert "lookup" in edit["ansible.builtin.replace"]["regexp"] and "{{" not in edit["name"]


def test_headers_a_server_inherits_from_http_are_copied_into_it_before_one_of_its_own():
    """nginx hands a server http's add_header lines only while it sets none: the fix copies them in
    first, in one marked block every header fix writes alike (so it is written once)."""
    def referrer(facts):
        facts["http_directives"].append({"name": "add_header", "args": ["Referrer-Policy", "no-referrer"], "alone": True,
                                         "location": "/etc/nginx/nginx.conf:22", "indent": "    ",
                                         "text": "add_header Referrer-Policy no-referrer;"})

    text = playbook_text(build_plan(with_nginx(referrer), lang="en", checks=["http.*"]))
    fixes = nginx_blocks(text, "legacy-01")
    copies = []
    for check_id in ("http.hsts", "http.frame_options", "http.content_type_options"):
        edits = [t["ansible.builtin.blockinfile"] for t in fixes[(check_id, "443/tcp")]["block"]
                 if "ansible.builtin.blockinfile" in t]
        assert len(edits) == 2 and edits[1]["block"].lstrip().startswith("add_header ")
        copies.append((edits[0]["marker"], edits[0]["block"]))
    assert len(set(copies)) == 1 and copies[0][1] == "        add_header Referrer-Policy no-referrer;\n"


def test_a_forged_rsyslogd_path_gets_no_validate_command():
    """rsyslogd's path goes into `validate`, which Ansible splits on spaces and runs as root."""
    scan = recorded_lab_scan().model_copy(deep=True)
    record = scan.hosts["legacy-01"]
    data = copy.deepcopy(record.observations["host"].data)
    data["parsed"]["rsyslog"]["binary"] = "/bin/sh -c id"
    record.observations["host"] = record.observations["host"].model_copy(update={"data": data})
    plan = build_plan(scan, lang="en", checks=["logging.remote_forwarding"])
    assert [m.why for m in plan.manual if m.host == "legacy-01"] == [
        "the result lacks the values needed to write a safe setting"]
    assert "/bin/sh" not in playbook_text(plan)
