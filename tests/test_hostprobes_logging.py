"""Logging probes: rsyslog (legacy and RainerScript, includes), syslog-ng, journald drop-ins,
logrotate (includes, stanza overrides, size-only rotation), auditd and clock sync, against real
probe outputs over recorded distribution configurations (tests/fixtures/hostprobes/<probe>/*.txt,
each header says where it came from); the frame splitter and the on-host secret masking; the
logging.* checks from facts; and a real run of the probes on this machine."""

from __future__ import annotations

import os
import subprocess

import pytest

from checks import exposure, firewall, logging, malware, monitoring
from checks.registry import Registry
from scanner.app.engine import judge
from scanner.facts.agents import Process, Processes
from scanner.facts.logging import LogFileStat, Logrotate, RotatePolicy, Rsyslog, TimeSync
from scanner.hostprobes.auditd import parse_auditd
from scanner.hostprobes.frames import REDACT_SED, split_frames
from scanner.hostprobes.journald import parse_journald, parse_timespan
from scanner.hostprobes.log_shippers import parse_log_shippers
from scanner.hostprobes.logging import PROBES
from scanner.hostprobes.logrotate import parse_logrotate
from scanner.hostprobes.rsyslog import parse_rsyslog, selector_facilities
from scanner.hostprobes.syslog_ng import parse_syslog_ng
from scanner.hostprobes.time_sync import parse_time_sync
from scanner.inventory import parse_inventory
from scanner.model import Observation, Outcome, Severity, Status
from scanner.thresholds import load_thresholds
from tests.fixtures.hostprobes import NOW, assert_rendered, host_observation, load, one, run_probes

# -- shared by the host-probe check tests of this area (firewall, agents, capacity import these) -----------------

REGISTRY = Registry()
for _area in (exposure, firewall, logging, malware, monitoring):
    REGISTRY.add_area(_area)

INVENTORY_YAML = """\
organization: {name: Sở Thử nghiệm}
defaults: {transport: none}
solutions: {siem_soc: {status: %(siem)s, product: Wazuh}}
systems:
  - {name: Cổng DVC, security_level: %(level)d, hosts: [h1]}
hosts:
  - name: h1
    address: 127.0.0.1
    zone: dmz
    services:
      - {port: 443, proto: tcp, kind: https}
      - {port: 8080, proto: tcp, kind: http}
scan: {from_zone: app%(retention)s}
"""


def inventory(level: int = 3, siem: str = "yes", retention: int | None = None):
    extra = f", log_retention_days: {retention}" if retention else ""
    return parse_inventory(INVENTORY_YAML % {"level": level, "siem": siem, "retention": extra}, "test.yaml")


def judge_facts(pattern: str, *facts, inv=None, ports=None):
    """Results of the checks matching `pattern` for host h1 holding `facts` (and a ports scan)."""
    observations = {"host": host_observation(*facts)}
    if ports is not None:
        observations["ports"] = Observation(collector="ports", outcome=Outcome.OK, started=NOW, ended=NOW,
                                            data=ports.model_dump(mode="json"))
    per_host, _ = judge(REGISTRY, REGISTRY.select([pattern]), inv or inventory(), {"h1": observations},
                        load_thresholds(), NOW)
    return per_host["h1"]


def procs(*names: str, as_root: bool = True, hidepid: bool = False) -> Processes:
    return Processes(as_root=as_root, source="ps", hidepid=hidepid, init="systemd",
                     items=tuple(Process(pid=100 + i, uid=0, name=n[:15], exe=f"/usr/sbin/{n}")
                                 for i, n in enumerate(names)))


def frames(files: dict[str, str], uid: int = 0, **values: str) -> str:
    """Probe output as the shared `dump` helper prints it (used for configurations written here)."""
    out = [f"@@uid {uid}"]
    for path, text in files.items():
        out += ["", f"@@file 1700000000 {path}", text, "@@end"]
    out += [f"@@kv {k} {v}" for k, v in values.items()]
    return "\n".join(out) + "\n"


# -- the frame splitter ----------------------------------------------------------------------------------------------

def test_frames_cut_off_mid_file_are_marked_truncated():
    text = "@@uid 0\n\n@@file 1 /etc/rsyslog.conf\nauth,authpriv.* /var/log/auth.log\n*.* @@10.0.0.1:514\n*.* /var/lo"
    f = split_frames(text)
    assert f.truncated and "/etc/rsyslog.conf" in f.files and not f.files["/etc/rsyslog.conf"].complete
    parsed = parse_rsyslog(text)
    assert parsed.truncated and [x.target for x in parsed.forwards] == ["10.0.0.1"]


def test_frames_ignore_junk_and_keep_command_exit_codes():
    f = split_frames("garbage\n@@uid x\n@@cmd a\nline\n@@rc a 3\n@@missing b\n@@stat 5 6 /var/log/x y\n@@stat z 1 q\n")
    assert f.uid is None and f.commands["a"].rc == 3 and f.commands["a"].output == "line"
    assert f.missing == {"b"} and [s.path for s in f.stats] == ["/var/log/x y"]


@pytest.mark.parametrize("line,expected", [
    ('action(type="omelasticsearch" server="es" uid="u" pwd="s3 cr3t" port="9200")',
     'action(type="omelasticsearch" server="es" uid="u" pwd="***" port="9200")'),
    ("  password: 'changeme'", '  password: "***"'),
    ("cloud.auth: elastic:pw", 'cloud.auth: "***"'),
    ("    HTTP_Passwd   hunter2", "    HTTP_Passwd   ***"),
    ("<password>xyz</password>", "<password>***</password>"),
    ("auth,authpriv.*\t\t/var/log/auth.log", "auth,authpriv.*\t\t/var/log/auth.log"),
    ("*.* @@10.0.0.5:514", "*.* @@10.0.0.5:514"),
    ('"api_key": "k1", "host": "h"', '"api_key": "***", "host": "h"'),
])
def test_secrets_are_masked_on_the_host_by_the_real_shell(line, expected):
    out = subprocess.run(["sh", "-c", REDACT_SED], input=line + "\n", capture_output=True, text=True, check=True)
    assert out.stdout.rstrip("\n") == expected


def test_no_secret_of_the_forwarding_fixture_survives():
    text = load("rsyslog", "forwarding")
    assert "S3cret" not in text and 'pwd="***"' in text


# -- rsyslog -------------------------------------------------------------------------------------------------------

def auth_files(conf) -> tuple[list[str], list[str]]:
    return [r.file for r in conf.files_for("auth")], [r.file for r in conf.files_for("authpriv")]


@pytest.mark.parametrize("case,auth,authpriv", [
    ("debian12", ["/var/log/auth.log"], ["/var/log/auth.log"]),
    ("debian10", ["/var/log/auth.log"], ["/var/log/auth.log"]),
    ("ubuntu", ["/var/log/auth.log"], ["/var/log/auth.log"]),
    ("centos7", ["/var/log/messages"], ["/var/log/secure"]),  # auth.info reaches messages via *.info
    ("rhel9", ["/var/log/messages"], ["/var/log/secure"]),
])
def test_distribution_defaults_log_auth_and_forward_nothing(case, auth, authpriv):
    conf = parse_rsyslog(load("rsyslog", case))
    assert conf.present and conf.binary and conf.forwards == () and conf.unparsed == ()
    assert auth_files(conf) == (auth, authpriv)


def test_debian10_backslash_continued_selectors_keep_auth_out_of_the_catch_alls():
    conf = parse_rsyslog(load("rsyslog", "debian10"))
    by_file = {r.file: r for r in conf.rules if r.file}
    assert by_file["/var/log/messages"].facilities and "auth" not in by_file["/var/log/messages"].facilities
    assert "mail" not in by_file["/var/log/messages"].facilities  # *.=info;...;mail,news.none
    assert by_file["/var/log/debug"].facilities == ()  # only =debug: not routine messages
    assert by_file["/var/log/messages"].source == "/etc/rsyslog.conf:91"  # where the statement starts


def test_rhel9_commented_multiline_forward_sample_is_not_a_forward_and_includes_are_followed():
    conf = parse_rsyslog(load("rsyslog", "rhel9"))
    assert conf.files == ("/etc/rsyslog.conf", "/etc/rsyslog.d/haproxy.conf")
    assert any(r.file == "/var/log/haproxy.log" for r in conf.rules)


def test_ubuntu_property_filter_and_include_order():
    conf = parse_rsyslog(load("rsyslog", "ubuntu"))
    assert conf.files == ("/etc/rsyslog.conf", "/etc/rsyslog.d/20-ufw.conf", "/etc/rsyslog.d/50-default.conf")
    ufw = next(r for r in conf.rules if r.file == "/var/log/ufw.log")
    assert ufw.selector.startswith("[:msg,contains") and ufw.facilities is None


def test_every_forwarding_syntax_is_read_with_its_destination():
    conf = parse_rsyslog(load("rsyslog", "forwarding"))
    got = {(f.target, f.port, f.protocol, f.ruleset) for f in conf.forwards}
    assert got == {("logs.example.org", 10514, "tcp", None), ("2001:db8::5", None, "udp", None),
                   ("relp.example.org", 2514, "relp", None), ("10.20.30.40", 6514, "tcp", None),
                   ("archive.example", 514, "udp", "fromremote"), ("es.example", 9200, None, None)}
    multi = next(f for f in conf.forwards if f.target == "10.20.30.40")
    assert multi.selector == "[if $programname == 'sshd']" and multi.source == "/etc/rsyslog.d/90-rainer.conf:4"
    assert "ignored.example" not in conf.model_dump_json()  # inside /* */
    assert "commented.example" not in conf.model_dump_json()
    assert conf.files[-1] == "/etc/rsyslog.d/more/siem.frag"  # include(file=) of a non-.conf file


def test_unreadable_include_is_recorded_as_denied_not_skipped():
    conf = parse_rsyslog(load("rsyslog", "forwarding_nonroot"))
    assert conf.denied == ("/etc/rsyslog.d/more/siem.frag",)
    assert conf.unresolved_includes == ("/etc/rsyslog.d/more/siem.frag (/etc/rsyslog.conf:3: permission denied)",)
    assert not any(f.target == "es.example" for f in conf.forwards)


def test_malformed_configuration_is_recorded_not_guessed():
    conf = parse_rsyslog(load("rsyslog", "malformed"))
    assert conf.unresolved_includes == ("/etc/rsyslog-extra.conf (/etc/rsyslog.conf:2)",)
    assert conf.unparsed == ("/etc/rsyslog.conf:3: this is not a rule",)
    assert not any(r.file == "/var/log/kern.log" for r in conf.rules)  # swallowed by the open action(


def test_no_configuration_at_all():
    conf = parse_rsyslog("@@uid 0\n")
    assert not conf.present and conf.rules == () and conf.forwards == ()


@pytest.mark.parametrize("selector,has_auth,has_authpriv", [
    ("*.*;auth,authpriv.none", False, False),
    ("auth,authpriv.*", True, True),
    ("*.info;mail.none;authpriv.none;cron.none", True, False),
    ("authpriv.*", False, True),
    ("*.emerg", False, False),
    ("auth.warn", False, False),
    ("*.=info;*.=notice", True, True),
])
def test_selector_semantics(selector, has_auth, has_authpriv):
    facs = selector_facilities(selector)
    assert ("auth" in facs, "authpriv" in facs) == (has_auth, has_authpriv)


def test_not_a_selector():
    assert selector_facilities("/var/log/x") is None and selector_facilities("foo.bar") is None


# -- syslog-ng -------------------------------------------------------------------------------------------------------

def test_syslog_ng_network_destinations_and_auth_files():
    conf = parse_syslog_ng(load("syslog_ng", "debian12"))
    assert conf.files == ("/etc/syslog-ng/syslog-ng.conf", "/etc/syslog-ng/conf.d/50-central.conf")
    used = {(f.target, f.port, f.protocol, f.used) for f in conf.forwards}
    assert used == {("10.9.8.7", 6514, "tls", True), ("192.0.2.99", 514, "udp", False)}
    assert "/var/log/auth.log" in [r.file for r in conf.files_for("authpriv")]
    assert "127.0.0.1" not in conf.model_dump_json()  # the commented d_net example


# -- journald ------------------------------------------------------------------------------------------------------

def test_journald_drop_ins_later_files_win():
    j = parse_journald(load("journald", "dropins"))
    assert j.files == ("/etc/systemd/journald.conf", "/etc/systemd/journald.conf.d/10-retention.conf",
                       "/etc/systemd/journald.conf.d/20-persistent.conf")
    assert j.storage == "persistent" and j.persistent and j.max_use == "2G"
    assert j.max_retention_sec == pytest.approx(6 * 2629800)
    assert j.sources["MaxRetentionSec"].endswith("20-persistent.conf")
    assert j.unparsed == ("/etc/systemd/journald.conf.d/20-persistent.conf: not a setting",)


def test_drop_in_in_etc_hides_the_same_name_in_usr_lib():
    j = parse_journald(frames({"/etc/systemd/journald.conf": "[Journal]\n",
                               "/usr/lib/systemd/journald.conf.d/50-x.conf": "[Journal]\nMaxRetentionSec=1d\n",
                               "/etc/systemd/journald.conf.d/50-x.conf": "[Journal]\nMaxRetentionSec=2d\n",
                               "/run/systemd/journald.conf.d/40-y.conf": "[Journal]\nStorage=volatile\n"}))
    assert j.max_retention_sec == 2 * 86400 and j.storage == "volatile"
    assert j.files == ("/etc/systemd/journald.conf", "/run/systemd/journald.conf.d/40-y.conf",
                       "/etc/systemd/journald.conf.d/50-x.conf")


def test_usr_local_lib_ranks_between_run_and_usr_lib_and_the_main_file_is_the_first_found():
    # systemd's CONF_PATHS: /etc, /run, /usr/local/lib, /usr/lib; with no /etc/systemd/journald.conf, the
    # highest-ranked main file is read
    j = parse_journald(frames({"/usr/lib/systemd/journald.conf": "[Journal]\nStorage=auto\n",
                               "/usr/local/lib/systemd/journald.conf": "[Journal]\nStorage=volatile\n",
                               "/usr/lib/systemd/journald.conf.d/60-z.conf": "[Journal]\nMaxFileSec=1d\n",
                               "/usr/local/lib/systemd/journald.conf.d/60-z.conf": "[Journal]\nMaxFileSec=1week\n",
                               "/run/systemd/journald.conf.d/60-z.conf": "[Journal]\nMaxFileSec=2week\n"}))
    assert j.files == ("/usr/local/lib/systemd/journald.conf", "/run/systemd/journald.conf.d/60-z.conf")
    assert j.storage == "volatile" and j.max_file_span_sec == 14 * 86400


@pytest.mark.parametrize("text,seconds", [("3600", 3600), ("1month", 2629800), ("2w 3d", 17 * 86400),
                                          ("1y", 31557600), ("5min", 300), ("", None), ("forever", None),
                                          ("1d junk", None)])
def test_timespans(text, seconds):
    assert parse_timespan(text) == seconds


# -- logrotate -----------------------------------------------------------------------------------------------------

def policy(lr: Logrotate, path: str) -> RotatePolicy | None:
    stanza = lr.stanza_for(path)
    return stanza.policy if stanza else None


def test_logrotate_debian12_weekly_four():
    lr = parse_logrotate(load("logrotate", "debian12"))
    assert lr.present and lr.unparsed == () and lr.unresolved_includes == ()
    p = policy(lr, "/var/log/auth.log")
    assert (p.frequency, p.rotate, p.source) == ("weekly", 4, "/etc/logrotate.d/rsyslog:6")
    assert [c.path for c in lr.copies_of("/var/log/syslog")][:2] == ["/var/log/syslog", "/var/log/syslog.1"]
    assert policy(lr, "/var/log/nginx/access.log").rotate == 14  # a glob stanza


def test_logrotate_debian10_syslog_daily_seven():
    lr = parse_logrotate(load("logrotate", "debian10"))
    assert (policy(lr, "/var/log/syslog").frequency, policy(lr, "/var/log/syslog").rotate) == ("daily", 7)
    assert policy(lr, "/var/log/auth.log").frequency == "weekly"


def test_logrotate_rhel9_stanza_inherits_global_defaults():
    lr = parse_logrotate(load("logrotate", "rhel9"))
    p = policy(lr, "/var/log/secure")
    assert (p.frequency, p.rotate) == ("weekly", 4)
    assert "/var/log/secure-20261122" in [c.path for c in lr.copies_of("/var/log/secure")]  # dateext


def test_logrotate_includes_overrides_and_globals_after_include():
    lr = parse_logrotate(load("logrotate", "overrides"))
    syslog = policy(lr, "/var/log/syslog")
    assert (syslog.frequency, syslog.rotate, syslog.maxage) == ("daily", 120, 100)
    auth = policy(lr, "/var/log/auth.log")  # quoted path, frequency override, globals for the rest
    assert (auth.frequency, auth.rotate, auth.maxage) == ("weekly", 30, 400)
    assert policy(lr, "/var/log/extra.log").rotate == 30  # included file: before `rotate 2`
    assert policy(lr, "/var/log/late.log").rotate == 2
    size = policy(lr, "/var/log/sizeonly.log")
    assert size.size == "50M" and size.frequency is None  # size given last wins over weekly
    assert "/etc/logrotate.d/rsyslog.dpkg-old" not in lr.files  # tabooext


def test_logrotate_real_world_size_and_unterminated_script():
    lr = parse_logrotate(load("logrotate", "size_typo"))
    assert policy(lr, "/var/log/mail.log").size == "100M"
    assert policy(lr, "/var/log/auth.log") is None  # swallowed by the `enscript` typo, as logrotate reads it


def test_logrotate_unterminated_stanza_is_recorded():
    lr = parse_logrotate(frames({"/etc/logrotate.conf": "weekly\n/var/log/syslog {\n  rotate 4\n  postrotate\n  x\n"}))
    assert lr.stanzas == () and "not terminated" in lr.unparsed[0]


# -- auditd and time ---------------------------------------------------------------------------------------------


def test_time_sync_chrony_without_daemon_and_a_synced_tracking():
    t = parse_time_sync(load("time_sync", "chrony"))
    assert t.chrony_leap is None and t.configured_servers == ("pool 2.debian.pool.ntp.org (/etc/chrony/chrony.conf)",)
    # chronyc(1) manual's sample `tracking` output (chrony 4.3 man page)
    synced = parse_time_sync("@@uid 0\n\n@@cmd chronyc\nReference ID    : CB00710F (foo.example.net)\nStratum         : 3\n"
                             "Leap status     : Normal\n\n@@rc chronyc 0\n\n@@cmd timedatectl\nNTP=yes\n"
                             "NTPSynchronized=yes\n\n@@rc timedatectl 0\n")
    assert synced.chrony_leap == "Normal" and synced.ntp_synchronized is True


# -- log shippers (configurations written for this test; masking is tested on the real shell above) -------------

def test_shipper_destinations():
    out = frames({
        "/etc/filebeat/filebeat.yml": "output.logstash:\n  hosts: [\"ls1.example:5044\", \"ls2.example:5044\"]\n"
                                      "  password: \"***\"\noutput.console:\n  enabled: false\n",
        "/var/ossec/etc/ossec.conf": "<ossec_config>\n  <client>\n    <server>\n      <address>10.1.1.5</address>\n"
                                     "      <port>1514</port>\n      <protocol>tcp</protocol>\n    </server>\n"
                                     "  </client>\n</ossec_config>\n",
        "/opt/splunkforwarder/etc/system/local/outputs.conf": "[tcpout:default]\nserver = idx1:9997, idx2:9997\n",
        "/etc/fluent-bit/fluent-bit.conf": "[OUTPUT]\n    Name  forward\n    Host  fb.example\n    Port  24224\n"
                                           "[OUTPUT]\n    Name stdout\n",
        "/etc/vector/vector.toml": "[sinks.out]\ntype = \"socket\"\naddress = \"vec.example:9000\"\n",
        "/etc/systemd/journal-upload.conf": "[Upload]\nURL=https://journal.example:19532\n",
        "/etc/filebeat/broken.yml": "[not yaml",
    })
    shippers = {c.product: [d.destination for d in c.destinations] for c in parse_log_shippers(out).configs}
    assert shippers == {"filebeat": ["ls1.example:5044/logstash", "ls2.example:5044/logstash"],
                        "wazuh-agent": ["10.1.1.5:1514/tcp"], "splunkforwarder": ["idx1:9997/splunktcp",
                                                                                 "idx2:9997/splunktcp"],
                        "fluent-bit": ["fb.example:24224/forward"], "vector": ["vec.example:9000/socket"],
                        "systemd-journal-upload": ["journal.example:19532/https"]}


def test_broken_shipper_yaml_is_a_note():
    out = frames({"/etc/filebeat/filebeat.yml": "output.logstash: [unclosed"})
    conf = parse_log_shippers(out).configs[0]
    assert conf.destinations == () and conf.note.startswith("YAML error")


# -- checks --------------------------------------------------------------------------------------------------------

RSYSLOG_D12 = parse_rsyslog(load("rsyslog", "debian12"))
JOURNAL = parse_journald(load("journald", "debian12"))
ROTATE_D12 = parse_logrotate(load("logrotate", "debian12"))
AUDIT_ROOT = parse_auditd(load("auditd", "debian12"))


def test_daemon_pass_fail_and_unknown(catalog):
    ok = one(judge_facts("logging.daemon", procs("rsyslogd"), JOURNAL), "logging.daemon")
    assert ok.status == Status.PASS and ok.message.params["daemon"] == "rsyslog"
    journal_only = one(judge_facts("logging.daemon", procs("systemd-journald"), JOURNAL), "logging.daemon")
    assert journal_only.status == Status.PASS and journal_only.message.key == "journald_persistent"
    volatile = parse_journald(load("journald", "volatile"))
    v = one(judge_facts("logging.daemon", procs("systemd-journald"), volatile), "logging.daemon")
    none = one(judge_facts("logging.daemon", procs("sshd"), JOURNAL), "logging.daemon")
    hidden = one(judge_facts("logging.daemon", procs("sshd", as_root=False, hidepid=True), JOURNAL), "logging.daemon")
    assert (v.status, none.status, hidden.status) == (Status.FAIL, Status.FAIL, Status.UNKNOWN)
    assert_rendered(catalog, [ok, journal_only, v, none, hidden])


def test_auditd_check(catalog):
    rules = AUDIT_ROOT.model_copy(update={"rules": ("-w /etc/passwd -p wa -k identity",), "rules_count": 1,
                                          "enabled": 1, "pid": 321})
    ok = one(judge_facts("logging.auditd", procs("auditd"), rules), "logging.auditd")
    no_rules = one(judge_facts("logging.auditd", procs("auditd"), AUDIT_ROOT), "logging.auditd")
    nobody = one(judge_facts("logging.auditd", procs("auditd"), parse_auditd(load("auditd", "debian12_nonroot"))),
                 "logging.auditd")
    stopped = one(judge_facts("logging.auditd", procs("sshd"), rules), "logging.auditd")
    assert [r.status for r in (ok, no_rules, nobody, stopped)] == [Status.PASS, Status.FAIL, Status.UNKNOWN,
                                                                   Status.FAIL]
    assert_rendered(catalog, [ok, no_rules, nobody, stopped])


def test_remote_forwarding_names_the_destination(catalog):
    fwd = parse_rsyslog(load("rsyslog", "forwarding"))
    ok = one(judge_facts("logging.remote_forwarding", procs("rsyslogd"), fwd), "logging.remote_forwarding")
    assert ok.status == Status.PASS and "10.20.30.40:6514/tcp" in ok.message.params["destinations"]
    assert "archive.example" not in ok.message.params["destinations"]  # only in a ruleset
    idle = one(judge_facts("logging.remote_forwarding", procs("sshd"), fwd), "logging.remote_forwarding")
    assert idle.status == Status.FAIL and idle.message.key == "configured_not_running"
    none = one(judge_facts("logging.remote_forwarding", procs("rsyslogd"), RSYSLOG_D12), "logging.remote_forwarding")
    assert none.status == Status.FAIL and none.message.key == "none"
    shipper = parse_log_shippers(frames({"/var/ossec/etc/ossec.conf": "<client><server><address>10.1.1.5</address>"
                                                                      "</server></client>"}))
    wazuh = one(judge_facts("logging.remote_forwarding", procs("rsyslogd", "wazuh-agentd"), RSYSLOG_D12, shipper),
                "logging.remote_forwarding")
    assert wazuh.status == Status.PASS and "10.1.1.5" in wazuh.message.params["destinations"]
    unreadable = one(judge_facts("logging.remote_forwarding", procs("rsyslogd", "filebeat"), RSYSLOG_D12),
                     "logging.remote_forwarding")
    assert unreadable.status == Status.UNKNOWN  # filebeat runs, its destination was not readable
    assert_rendered(catalog, [ok, idle, none, wazuh, unreadable])


def retention(*facts, **inv):
    return one(judge_facts("logging.retention", *facts, inv=inventory(**inv)), "logging.retention")


def test_retention_debian12_defaults_are_28_days_and_fail_level_3(catalog):
    r = retention(procs("rsyslogd"), RSYSLOG_D12, ROTATE_D12, JOURNAL)
    assert r.status == Status.FAIL and r.message.params["days"] == 28 and r.message.params["required"] == 90
    assert r.evidence["survey_bucket"] == "Khác: 28 ngày"
    files = r.evidence["stores"][0]
    assert files["method"].startswith("weekly (7 days) × rotate 4 = 28 days")
    assert files["observed_oldest_days"] == pytest.approx(28, abs=0.1)
    assert_rendered(catalog, [r])


def test_retention_reasoning_is_flat_values_the_catalog_phrases_without_english():
    from reports import Texts
    r = retention(procs("rsyslogd"), RSYSLOG_D12, ROTATE_D12, JOURNAL)
    assert (r.evidence["rotate_every_days"], r.evidence["rotate_count"]) == (7, 4)
    assert r.evidence["rotate_config"].startswith("/etc/logrotate.d/")
    texts = Texts.for_lang("vi")
    message, evidence = texts.message(r), texts.evidence(r)
    assert message.startswith("Nhật ký chỉ được lưu 28 ngày, ít hơn 90 ngày theo yêu cầu")
    for english in ("weekly", "rotate 4", "days", "weakest", "files", "<", "≥"):
        assert english not in message, english
    assert "xoay vòng mỗi 7 ngày, giữ 4 bản, tức 28 ngày" in evidence and "weekly" not in evidence
    assert "`rotate N` với N × 7 không ít hơn 90" in texts.fix(r)


def test_retention_meets_an_inventory_override_and_buckets(catalog):
    r = retention(procs("rsyslogd"), RSYSLOG_D12, ROTATE_D12, JOURNAL, retention=20)
    assert r.status == Status.PASS and r.message.params["required"] == 20
    long = ROTATE_D12.model_copy(update={"stanzas": tuple(
        s.model_copy(update={"policy": s.policy.model_copy(update={"frequency": "daily", "rotate": 200})})
        for s in ROTATE_D12.stanzas)})
    six = retention(procs("rsyslogd"), RSYSLOG_D12, long, JOURNAL)
    assert six.status == Status.PASS and six.evidence["survey_bucket"] == "06 tháng"
    info = retention(procs("rsyslogd"), RSYSLOG_D12, ROTATE_D12, JOURNAL, level=1)
    assert info.status == Status.INFO  # level 1 sets no minimum
    assert_rendered(catalog, [r, six, info])


def test_retention_size_only_is_undetermined_unless_the_kept_logs_prove_it(catalog):
    size = parse_logrotate(load("logrotate", "size_typo"))
    # syslog: daily × 7 for sure; auth.log: no stanza (undetermined). The weakest known file decides.
    short = retention(procs("rsyslogd"), RSYSLOG_D12, size, JOURNAL)
    assert short.status == Status.FAIL and short.message.params["days"] == 7
    sized = size.model_copy(update={"stanzas": tuple(
        s.model_copy(update={"policy": s.policy.model_copy(update={"size": "100M", "frequency": None})})
        for s in size.stanzas)})
    u = retention(procs("rsyslogd"), RSYSLOG_D12, sized, JOURNAL)
    assert u.status == Status.UNKNOWN and "size-based rotation (size 100M)" in u.message.params["reasons"]
    assert "no logrotate stanza" in u.message.params["reasons"]
    old_copy = LogFileStat(path="/var/log/syslog.9.gz", mtime=size.now - 150 * 86400, size=1)
    seen = retention(procs("rsyslogd"), RSYSLOG_D12, sized.model_copy(update={"logs": sized.logs + (old_copy,)}), JOURNAL)
    # now the oldest kept copy of every file is at least 120 days old (auth.log.4.gz)
    assert seen.status == Status.PASS and seen.message.key == "enough_observed" and seen.message.params["days"] == 120
    assert seen.evidence["survey_bucket"] == "03 tháng"
    assert_rendered(catalog, [short, u, seen])


def test_retention_rhel_files_and_journald_max_retention(catalog):
    rhel = parse_rsyslog(load("rsyslog", "rhel9"))
    rr = retention(procs("rsyslogd"), rhel, parse_logrotate(load("logrotate", "rhel9")), JOURNAL)
    assert rr.status == Status.FAIL and rr.message.params["days"] == 28
    with_journal = retention(procs("rsyslogd", "systemd-journald"), rhel, parse_logrotate(load("logrotate", "rhel9")),
                             JOURNAL)
    assert with_journal.status == Status.UNKNOWN  # a persistent journal limited only by size might keep more
    assert {f["file"] for f in rr.evidence["stores"][0]["files"]} >= {"/var/log/messages", "/var/log/secure"}
    dropins = parse_journald(load("journald", "dropins"))
    j = retention(procs("systemd-journald"), rhel, ROTATE_D12.model_copy(update={"logs": ()}), dropins)
    # MaxRetentionSec=6month less the month one journal file spans by default (MaxFileSec): journald deletes a
    # file whole once its first entry is older than MaxRetentionSec, so entries of 152 days may go with it
    assert j.status == Status.PASS and j.message.params["store"] == "journald" and j.message.params["days"] == 152.2
    assert j.evidence["journal_file_days"] == 30.4 and j.evidence["journal_max_file"] == "1month"
    weekly = dropins.model_copy(update={"max_file_sec": "1week", "max_file_span_sec": 604800.0})
    assert retention(procs("systemd-journald"), rhel, ROTATE_D12.model_copy(update={"logs": ()}),
                     weekly).message.params["days"] == 175.6
    # MaxFileSec=0: files rotate by size only, a file may span any time: no number of days is sure
    unbounded = dropins.model_copy(update={"max_file_sec": "0", "max_file_span_sec": 0.0})
    u = retention(procs("systemd-journald"), rhel, ROTATE_D12.model_copy(update={"logs": ()}), unbounded)
    assert u.status == Status.UNKNOWN and u.evidence["journal_unbounded_file"] == "0"
    assert_rendered(catalog, [rr, with_journal, j, u])


def test_time_sync_and_auth_log_checks(catalog):
    tracking = TimeSync(chrony_leap="Normal", chrony_tracking={"Leap status": "Normal"})
    ok = one(judge_facts("logging.time_sync", procs("chronyd"), tracking), "logging.time_sync")
    bad = one(judge_facts("logging.time_sync", procs("chronyd"), TimeSync(chrony_leap="Not synchronised")),
              "logging.time_sync")
    none = one(judge_facts("logging.time_sync", procs("sshd"), tracking), "logging.time_sync")
    assert [r.status for r in (ok, bad, none)] == [Status.PASS, Status.FAIL, Status.FAIL]
    auth = one(judge_facts("logging.auth_log", procs("rsyslogd"), RSYSLOG_D12, JOURNAL), "logging.auth_log")
    assert auth.status == Status.PASS and auth.message.params["files"] == "/var/log/auth.log"
    no_auth = Rsyslog(present=True, rules=tuple(r for r in RSYSLOG_D12.rules if r.file != "/var/log/auth.log"))
    vol = parse_journald(load("journald", "volatile"))
    weak = one(judge_facts("logging.auth_log", procs("rsyslogd", "systemd-journald"), no_auth, vol), "logging.auth_log")
    assert weak.status == Status.FAIL and weak.severity == Severity.LOW
    assert_rendered(catalog, [ok, bad, none, auth, weak])


def test_missing_probe_output_is_unknown_not_pass():
    results = judge_facts("logging.*", procs("rsyslogd"))  # no rsyslog/journald/logrotate facts at all
    statuses = {r.check_id: r.status for r in results}
    assert statuses["logging.retention"] == statuses["logging.auditd"] == Status.UNKNOWN
    assert statuses["logging.daemon"] == Status.PASS  # rsyslogd running is proof enough on its own


# -- a real run on this machine ----------------------------------------------------------------------------------

def test_real_run_on_this_host(catalog):
    outputs = run_probes(PROBES)
    conf = parse_rsyslog(outputs["rsyslog"])
    rotate = parse_logrotate(outputs["logrotate"])
    journal = parse_journald(outputs["journald"])
    if os.path.exists("/etc/rsyslog.conf"):
        assert conf.present and conf.unparsed == ()
        assert "/var/log/auth.log" in [r.file for r in conf.files_for("authpriv")]
    assert rotate.present and rotate.unparsed == () and rotate.now and rotate.defaults.frequency
    assert journal.now and journal.as_root == (os.geteuid() == 0)
    parse_syslog_ng(outputs["syslog_ng"])
    parse_auditd(outputs["auditd"])
    parse_time_sync(outputs["time_sync"])
    parse_log_shippers(outputs["log_shippers"])
    results = judge_facts("logging.retention", procs("rsyslogd"), conf, rotate, journal)
    assert results[0].status in (Status.FAIL, Status.PASS, Status.UNKNOWN)
    assert_rendered(catalog, results)


def test_journal_oldest_entry_counts_only_with_a_full_view(catalog):
    out = ("@@uid 0\n\n@@file 1 /etc/systemd/journald.conf\n[Journal]\nStorage=persistent\n@@end\n"
           "@@kv persistent_dir yes\n\n@@cmd oldest\n1787000000.123456\n@@rc oldest 0\n@@kv now 1795724481\n")
    j = parse_journald(out)
    assert j.oldest_entry == 1787000000 and j.now == 1795724481 and j.persistent
    r = retention(procs("systemd-journald"), j, ROTATE_D12.model_copy(update={"logs": ()}))
    assert r.status == Status.PASS and r.message.key == "enough_observed" and r.message.params["days"] == 101.0
    partial = retention(procs("systemd-journald"), j.model_copy(update={"as_root": False}),
                        ROTATE_D12.model_copy(update={"logs": ()}))
    assert partial.status == Status.UNKNOWN  # a non-root user sees only its own journal
    assert_rendered(catalog, [r, partial])


def test_undetermined_and_observed_retention_are_explained_in_vietnamese():
    from reports import Texts
    texts = Texts.for_lang("vi")
    size = parse_logrotate(load("logrotate", "size_typo"))
    sized = size.model_copy(update={"stanzas": tuple(
        s.model_copy(update={"policy": s.policy.model_copy(update={"size": "100M", "frequency": None})})
        for s in size.stanzas)})
    u = retention(procs("rsyslogd"), RSYSLOG_D12, sized, JOURNAL)
    assert u.status == Status.UNKNOWN and u.evidence["rotate_size"] == "100M"
    assert "xoay vòng theo dung lượng (100M)" in texts.evidence(u) and "size-based" not in texts.message(u)
    old_copy = LogFileStat(path="/var/log/syslog.9.gz", mtime=size.now - 150 * 86400, size=1)
    seen = retention(procs("rsyslogd"), RSYSLOG_D12, sized.model_copy(update={"logs": sized.logs + (old_copy,)}), JOURNAL)
    assert seen.evidence["observed_oldest_days"] == 120
    assert "nhật ký cũ nhất còn trên h1 đã được 120 ngày" in texts.evidence(seen)
