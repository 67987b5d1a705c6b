"""The accounts probe: the parser against recorded outputs (tests/fixtures/hostprobes/accounts/,
each file says where it came from), sudoers and PAM parsing, malformed input, the accounts.*
checks, and a real run on this host as root and as nobody (shadow and sudoers unreadable)."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from scanner.facts.accounts import Account, Accounts, PamEntry, SudoDefault, SudoFacts
from scanner.hostprobes.accounts import PROBES, parse_accounts, parse_pam_line
from scanner.inventory import parse_inventory
from scanner.model import Severity, Status
from tests.fixtures.hostprobes import HERE, assert_rendered, judge_host, load, one, run_probes

HASH = re.compile(r"\$(1|2[aby]|5|6|y|gy|7)\$[./A-Za-z0-9]")
needs_setpriv = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                                   reason="needs root to drop to nobody")


def sudoers(*files: tuple[str, str]) -> Accounts:
    text = "@@uid 0\n@@sudo_installed yes\n"
    for path, body in files:
        text += f"@@file {path}\n" + "".join(f"|{line}\n" for line in body.splitlines())
    return parse_accounts(text)


# -- recorded outputs ------------------------------------------------------------------------------------

def test_debian_as_root():
    a = parse_accounts(load("accounts", "debian12_root"))
    assert a.uid == 0 and a.passwd == "ok" and a.shadow == "ok" and a.login_defs_state == "ok"
    root = next(x for x in a.accounts if x.name == "root")
    assert root.uid == 0 and root.shell == "/bin/bash" and root.password == "locked" and root.max_days == 99999
    assert a.login_defs["PASS_MAX_DAYS"] == "99999" and a.login_defs["UID_MIN"] == "1000"
    assert a.pam_files == ("/etc/pam.d/common-password", "/etc/pam.d/common-auth", "/etc/pam.d/sshd",
                           "/etc/pam.d/login")
    assert a.pam_modules("pam_unix.so", "password")[0].args == ("obscure", "yescrypt")
    assert not a.pam_modules("pam_pwquality.so") and not a.pam_modules("pam_faillock.so")
    assert a.sudo.installed and a.sudo.sudoers == "ok" and a.sudo.rule_count == 2
    assert a.sudo.files == ("/etc/sudoers", "/etc/sudoers.d/README") and a.sudo.nopasswd_rules == ()
    assert a.sudo.default("use_pty") and a.sudo.default("logfile") is None
    assert a.unparsed_lines == ()


def test_no_password_hash_is_ever_in_a_fixture_or_a_fact():
    # the golden facts (.json) are committed too: a hash must not reach them either
    for path in [*(HERE / "accounts").glob("*.txt"), *(HERE / "accounts").glob("*.json")]:
        assert not HASH.search(path.read_text()), path.name
    facts = parse_accounts(load("accounts", "debian12_root")).model_dump_json()
    assert not HASH.search(facts)


def test_centos7_pam_stack():
    a = parse_accounts(load("accounts", "centos7_system_auth"))
    quality = a.pam_modules("pam_pwquality.so", "password")
    assert len(quality) == 1 and quality[0].arg("retry") == "3" and quality[0].arg("authtok_type") == ""
    assert quality[0].arg("minlen") is None
    assert a.pam_modules("pam_systemd.so")[0].type == "session"  # "-session" is optional, not unknown
    assert a.pam_modules("pam_succeed_if.so", "session")[0].control == "[success=1 default=ignore]"
    assert a.sudo.installed is False and a.sudo.sudoers == "missing" and a.unparsed_lines == ()


# -- sudoers and PAM parsing --------------------------------------------------------------------------------

def test_sudoers_aliases_tags_and_continuations():
    a = sudoers(("/etc/sudoers", "Defaults logfile=/var/log/sudo.log, !syslog\nDefaults:backup !authenticate\n"
                                 "Cmnd_Alias EVERYTHING = ALL\nCmnd_Alias RESTART = /bin/systemctl restart nginx, \\\n"
                                 "  /bin/systemctl restart php-fpm\n"
                                 "deploy ALL=(root) NOPASSWD: RESTART\n"
                                 "ops ALL = (ALL) NOPASSWD: /usr/bin/apt-get update, PASSWD: ALL\n"
                                 "%wheel ALL=(ALL:ALL) NOPASSWD:SETENV: EVERYTHING\n"
                                 "root ALL=(ALL:ALL) ALL # the usual\n"
                                 "#includedir /etc/sudoers.d\n"))
    rules = {r.who: r for r in a.sudo.nopasswd_rules}
    assert set(rules) == {"deploy", "ops", "%wheel"} and a.sudo.rule_count == 4
    assert rules["deploy"].commands == ("RESTART",) and not rules["deploy"].all_commands
    assert rules["ops"].commands == ("/usr/bin/apt-get update",) and not rules["ops"].all_commands
    assert rules["%wheel"].all_commands and rules["%wheel"].runas == "ALL:ALL"
    assert a.sudo.default("logfile").value == "/var/log/sudo.log" and a.sudo.default("syslog").negated
    scoped = [d for d in a.sudo.defaults if d.scope == ":backup"]
    assert scoped[0].name == "authenticate" and scoped[0].negated and a.unparsed_lines == ()


def test_a_truncated_nopasswd_rule_is_not_all():
    # Recorded typo from a public note (code-search file id 34558100644): "NOPASSWD:AL".
    a = sudoers(("/etc/sudoers.d/90-cloud-init-users", "olga ALL=(ALL) NOPASSWD:ALL\njenkins ALL=(ALL) NOPASSWD:AL\n"))
    rules = {r.who: r for r in a.sudo.nopasswd_rules}
    assert rules["olga"].all_commands and not rules["jenkins"].all_commands


def test_sudo_list_of_the_scanning_user():
    ok = parse_accounts("@@uid 1000\n@@sudo_installed yes\n@@denied /etc/sudoers\n@@section sudo_list\n"
                        "|Matching Defaults entries for scan on h1:\n|    env_reset, use_pty\n|\n"
                        "|User scan may run the following commands on h1:\n|    (ALL : ALL) NOPASSWD: ALL\n@@rc 0\n")
    assert ok.sudo.list_status == "ok" and ok.sudo.list_rules == ("(ALL : ALL) NOPASSWD: ALL",)
    no = parse_accounts("@@uid 1000\n@@sudo_installed yes\n@@denied /etc/sudoers\n@@section sudo_list\n"
                        "|Sorry, user scan may not run sudo on h1.\n@@rc 1\n")
    assert no.sudo.list_status == "not_allowed"


@pytest.mark.parametrize("line,expected", [
    ("auth [success=1 default=ignore] pam_unix.so nullok", ("auth", "[success=1 default=ignore]", "pam_unix.so")),
    ("-auth  optional  /lib/security/pam_faillock.so authfail", ("auth", "optional", "pam_faillock.so")),
    ("session optional pam_mail.so standard noenv # [1]", ("session", "optional", "pam_mail.so")),
    ("@include common-auth", ("@include", "", "common-auth")),
])
def test_pam_lines(line, expected):
    entry = parse_pam_line("/etc/pam.d/x", line)
    assert (entry.type, entry.control, entry.module) == expected and "#" not in entry.args


def test_malformed_input_is_recorded():
    a = parse_accounts("@@uid 0\n@@section passwd\n|root:shadow:0:0:/root:/bin/bash\n|broken line\n"
                       "|x:weird:1:1:/:/bin/sh\n@@rc 0\n@@file /etc/pam.d/common-auth\n|auth\n|bogus required x.so\n"
                       "noise from a broken shell\n")
    assert [x.name for x in a.accounts] == ["root"]
    assert len(a.unparsed_lines) == 5 and "noise from a broken shell" in a.unparsed_lines


# -- checks --------------------------------------------------------------------------------------------------

def account(name, uid, password="hash_y", max_days=90, shell="/bin/bash", passwd_field="shadow") -> Account:
    return Account(name=name, uid=uid, gid=uid, home="/home/" + name, shell=shell, passwd_field=passwd_field,
                   password=password, max_days=max_days)


GOOD = Accounts(
    uid=0, passwd="ok", shadow="ok", login_defs_state="ok", login_defs={"PASS_MAX_DAYS": "90"},
    accounts=(account("root", 0, password="locked"), account("alice", 1000), account("www-data", 33, "locked",
                                                                                    None, "/usr/sbin/nologin")),
    pwquality={"minlen": "14"}, pwquality_files=("/etc/security/pwquality.conf",),
    pam=(PamEntry(file="/etc/pam.d/system-auth", type="password", control="requisite", module="pam_pwquality.so"),
         PamEntry(file="/etc/pam.d/system-auth", type="auth", control="required", module="pam_faillock.so",
                  args=("preauth", "deny=5"))),
    pam_files=("/etc/pam.d/system-auth",),
    sudo=SudoFacts(installed=True, sudoers="ok", files=("/etc/sudoers",), rule_count=2,
                   defaults=(SudoDefault(file="/etc/sudoers", scope="", name="logfile", value="/var/log/sudo.log"),
                             SudoDefault(file="/etc/sudoers", scope="", name="use_pty"))))


def test_a_well_kept_host_passes_everything(registry, catalog):
    results = judge_host(registry, "accounts.*", GOOD)
    assert {r.check_id: r.status for r in results} == {c.id: Status.PASS for c in registry.select(["accounts.*"])}
    assert_rendered(catalog, results)


@pytest.mark.parametrize("change,check_id,severity,key", [
    ({"accounts": GOOD.accounts + (account("toor", 0),)}, "accounts.uid0_extra", Severity.CRITICAL, "found"),
    ({"accounts": GOOD.accounts + (account("guest", 1001, password="empty"),)}, "accounts.empty_password",
     Severity.CRITICAL, "found"),
    ({"login_defs": {"PASS_MAX_DAYS": "99999"}}, "accounts.password_ageing", Severity.MEDIUM, "too_long"),
    ({"accounts": (account("bob", 1002, max_days=None),)}, "accounts.password_ageing", Severity.MEDIUM, "too_long"),
    ({"pwquality": {"minlen": "6"}}, "accounts.password_quality", Severity.MEDIUM, "too_short"),
    ({"pwquality": {}}, "accounts.password_quality", Severity.LOW, "below_recommended"),
    ({"pam": GOOD.pam[1:]}, "accounts.password_quality", Severity.MEDIUM, "no_module"),
    ({"pam": GOOD.pam[:1]}, "accounts.lockout", Severity.MEDIUM, "none"),
    ({"pam": (GOOD.pam[0], GOOD.pam[1].model_copy(update={"args": ("deny=0",)}))}, "accounts.lockout",
     Severity.MEDIUM, "disabled"),
    ({"pam": (GOOD.pam[0], GOOD.pam[1].model_copy(update={"args": ("deny=10",)}))}, "accounts.lockout",
     Severity.LOW, "lenient"),
    ({"sudo": GOOD.sudo.model_copy(update={"defaults": ()})}, "accounts.sudo_logging", Severity.LOW, "syslog_only"),
    ({"sudo": GOOD.sudo.model_copy(update={"defaults": (SudoDefault(file="/etc/sudoers", scope="", name="syslog",
                                                                    negated=True),)})},
     "accounts.sudo_logging", Severity.MEDIUM, "not_logged"),
])
def test_weak_settings_fail(registry, catalog, change, check_id, severity, key):
    result = one(judge_host(registry, check_id, GOOD.model_copy(update=change)), check_id)
    assert (result.status, result.severity, result.message.key) == (Status.FAIL, severity, key)
    assert_rendered(catalog, [result])


def test_sudo_nopasswd_from_the_recorded_hosts(registry, catalog):
    cloud = one(judge_host(registry, "accounts.sudo_nopasswd", parse_accounts(
        load("accounts", "ubuntu2004_cloudinit_sudoers"))), "accounts.sudo_nopasswd")
    assert cloud.status == Status.FAIL and cloud.severity == Severity.HIGH and cloud.message.key == "nopasswd_all"
    assert "spinnaker" in cloud.message.params["who"]
    limited = sudoers(("/etc/sudoers", "deploy ALL=(root) NOPASSWD: /bin/systemctl restart nginx\n"))
    result = one(judge_host(registry, "accounts.sudo_nopasswd", limited), "accounts.sudo_nopasswd")
    assert result.status == Status.FAIL and result.severity == Severity.LOW
    assert_rendered(catalog, [cloud, result])


def test_without_root_the_checks_say_unknown_never_pass(registry, catalog):
    nobody = parse_accounts(load("accounts", "debian12_nobody"))
    results = {r.check_id: r for r in judge_host(registry, "accounts.*", nobody)}
    for check_id in ("accounts.empty_password", "accounts.sudo_nopasswd", "accounts.sudo_logging"):
        assert results[check_id].status == Status.UNKNOWN, check_id
    assert results["accounts.uid0_extra"].status == Status.PASS  # /etc/passwd is world-readable
    assert results["accounts.password_ageing"].status == Status.FAIL  # PASS_MAX_DAYS 99999 decides it alone
    assert_rendered(catalog, list(results.values()))


SCANNED_WITH_SUDO = parse_inventory(
    "organization: {name: Thử nghiệm}\ndefaults: {transport: ssh, ssh: {user: readyscan, become: sudo}}\n"
    "hosts:\n  - {name: h1, address: 127.0.0.1, zone: mgmt}\n", "test.yaml")
# The scan account's grant as the lab writes it (lab/render.py sudoers()): aliases with
# backslash continuations and escaped commas.
LAB_SUDOERS = ("Defaults\tlogfile=/var/log/sudo.log\n"
               "Cmnd_Alias\tREADYSCAN_READ = /usr/bin/cat /etc/shadow, \\\n\t/usr/sbin/sshd -T\n"
               "Cmnd_Alias\tREADYSCAN_PROBE = /usr/bin/sh -s, \\\n\t/bin/sh -s, /usr/bin/printf a\\,b\n"
               "root\tALL=(ALL:ALL) ALL\n"
               "readyscan\tALL=(root) NOPASSWD: READYSCAN_READ, READYSCAN_PROBE\n")


def test_the_scan_accounts_own_grant_is_info_not_a_gap(registry, catalog):
    a = sudoers(("/etc/sudoers", LAB_SUDOERS))
    rule = a.sudo.nopasswd_rules[0]
    assert rule.who == "readyscan" and rule.commands == ("READYSCAN_READ", "READYSCAN_PROBE")
    assert not rule.all_commands and a.unparsed_lines == ()
    scanned = one(judge_host(registry, "accounts.sudo_nopasswd", a, inventory=SCANNED_WITH_SUDO),
                  "accounts.sudo_nopasswd")
    assert scanned.status == Status.INFO and scanned.message.key == "scan_account_only"
    # Without become: sudo the same rule is an ordinary passwordless grant.
    plain = one(judge_host(registry, "accounts.sudo_nopasswd", a), "accounts.sudo_nopasswd")
    assert plain.status == Status.FAIL and plain.severity == Severity.LOW
    # Another account's NOPASSWD: ALL still fails, scan account or not.
    worse = sudoers(("/etc/sudoers", LAB_SUDOERS + "ubuntu ALL=(ALL) NOPASSWD:ALL\n"))
    assert one(judge_host(registry, "accounts.sudo_nopasswd", worse, inventory=SCANNED_WITH_SUDO),
               "accounts.sudo_nopasswd").severity == Severity.HIGH
    assert_rendered(catalog, [scanned, plain])


def test_scanning_users_own_nopasswd_is_reported(registry):
    own = parse_accounts("@@uid 1000\n@@sudo_installed yes\n@@denied /etc/sudoers\n@@section sudo_list\n"
                         "|User scan may run the following commands on h1:\n|    (ALL : ALL) NOPASSWD: ALL\n@@rc 0\n")
    result = one(judge_host(registry, "accounts.sudo_nopasswd", own), "accounts.sudo_nopasswd")
    assert result.status == Status.FAIL and result.severity == Severity.HIGH and result.message.key == "own_nopasswd"


# -- this host ----------------------------------------------------------------------------------------------------

def test_real_run_on_this_host(registry, catalog):
    a = parse_accounts(run_probes(PROBES)["accounts"])
    assert a.passwd == "ok" and any(x.name == "root" and x.uid == 0 for x in a.accounts)
    if os.geteuid() == 0:
        assert a.shadow == "ok" and all(x.password for x in a.accounts) and a.sudo.sudoers == "ok"
    assert a.login_defs_state == "ok" and "PASS_MAX_DAYS" in a.login_defs and a.pam_files
    assert a.unparsed_lines == () and not HASH.search(a.model_dump_json())
    results = judge_host(registry, "accounts.*", a)
    assert len(results) == 7 and all(r.status != Status.ERROR for r in results)
    assert_rendered(catalog, results)


@needs_setpriv
def test_real_run_as_nobody():
    a = parse_accounts(run_probes(PROBES, as_nobody=True)["accounts"])
    assert a.uid == 65534 and a.shadow == "permission_denied" and a.sudo.sudoers == "permission_denied"
    assert a.sudo.list_status in ("password_required", "not_allowed", "ok", "error")


def test_findings_name_their_own_accounts_files_and_lengths_in_evidence_and_fix(registry):
    from reports import Texts
    texts = Texts.for_lang("vi")
    lax = one(judge_host(registry, "accounts.password_ageing", GOOD.model_copy(
        update={"accounts": (account("bob", 1002, max_days=None),)})), "accounts.password_ageing")
    assert lax.evidence["over_limit"] == ["bob"]
    assert "`chage --maxdays 90" in texts.fix(lax) and "bob" in texts.fix(lax)
    short = one(judge_host(registry, "accounts.password_quality", GOOD.model_copy(update={"pwquality": {"minlen": "6"}})),
                "accounts.password_quality")
    assert short.evidence["minlen_file"] == "/etc/security/pwquality.conf"
    assert "`minlen = 12` trong /etc/security/pwquality.conf" in texts.fix(short)
    assert "NIST SP 800-63B" in texts.evidence(short)
    default = one(judge_host(registry, "accounts.password_quality", GOOD.model_copy(update={"pwquality": {}})),
                  "accounts.password_quality")
    assert default.evidence["minlen_default_of"] == "pam_pwquality.so" and "mặc định 8" in texts.evidence(default)
    limited = one(judge_host(registry, "accounts.sudo_nopasswd", sudoers(
        ("/etc/sudoers", "root ALL=(ALL) ALL\n"), ("/etc/sudoers.d/deploy", "deploy ALL=(root) NOPASSWD: /bin/systemctl restart nginx\n"))), "accounts.sudo_nopasswd")
    assert limited.evidence["rule_files"] == ["/etc/sudoers.d/deploy"]
    assert "/etc/sudoers.d/deploy: deploy ALL=(root) NOPASSWD" in texts.evidence(limited)
    assert "`visudo -f <tệp>` các tệp /etc/sudoers.d/deploy" in texts.fix(limited)
