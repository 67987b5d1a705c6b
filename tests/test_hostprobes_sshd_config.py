"""The sshd_config probe: the parser against recorded outputs (tests/fixtures/hostprobes/
sshd_config/, each file says where it came from), sshd's own reading rules (first value wins,
Include, Match), malformed and cut-off outputs, the ssh.config.* checks, a cross-check of our
file reading against the real `sshd -T -f` on a configuration this test writes, and a real run
of the probe on this host as root and as nobody."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from checks.ssh_config import enabled_names, sshd_seconds
from scanner.facts.sshd_config import SshdConfig
from scanner.hostprobes.sshd_config import PROBES, WALK_SH, parse_sshd_config, split_line
from scanner.model import Severity, Status
from scanner.transport.local import LocalTransport
from tests.fixtures.hostprobes import assert_rendered, judge_host, load, one, run_probes
from tests.sshd import PRIVSEP_DIR, SSHD, ensure_privsep_dir

needs_root_sshd = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists(SSHD),
                                     reason="sshd -T needs root and an installed sshd")


def files_only(main: str, files: dict[str, str], version: str = "OpenSSH_9.2p1") -> str:
    """Probe output for `files` read without root: sshd -T refused, as on the Debian host."""
    out = ["@@sshd /usr/sbin/sshd", "@@section version", f"|{version}, OpenSSL 3.0.19", "@@rc 0",
           "@@section test", "|sshd: no hostkeys available -- exiting.", "@@rc 1", f"@@main {main}"]
    for path, text in files.items():
        out.append(f"@@file {path}")
        out += ["|" + line for line in text.splitlines()]
    return "\n".join(out) + "\n"


def config(text: str, **more: str) -> SshdConfig:
    return parse_sshd_config(files_only("/etc/ssh/sshd_config", {"/etc/ssh/sshd_config": text, **more}))


# -- recorded outputs ---------------------------------------------------------------------------------

def test_debian_as_root_uses_sshd_t():
    cfg = parse_sshd_config(load("sshd_config", "debian12_root"))
    assert cfg.installed and cfg.effective_source == "sshd -T" and cfg.version == "OpenSSH_9.2"
    assert cfg.get("permitrootlogin").values == ("without-password",)  # how 9.2 prints prohibit-password
    assert cfg.get("listenaddress").values == ("[::]:22", "0.0.0.0:22")
    assert cfg.get("usepam").location == "/etc/ssh/sshd_config:85" and cfg.get("usepam").source == "sshd -T"
    assert cfg.get("kbdinteractiveauthentication").value == "no"
    assert cfg.files_read == ("/etc/ssh/sshd_config",)
    assert cfg.files_missing == ("/etc/ssh/sshd_config.d/*.conf",) and cfg.unparsed_lines == ()


def test_debian_as_nobody_falls_back_to_the_files():
    cfg = parse_sshd_config(load("sshd_config", "debian12_nobody"))
    assert cfg.effective_source == "files" and "no hostkeys available" in cfg.sshd_t_error
    root = cfg.get("permitrootlogin")
    assert root.source == "default" and root.value == "prohibit-password" and root.location is None
    assert cfg.get("kbdinteractiveauthentication").source == "file"
    assert cfg.get("subsystem").value == "sftp /usr/lib/openssh/sftp-server"
    assert cfg.get("acceptenv").values == ("LANG LC_*",)


def test_rhel7_file_quirks():
    cfg = parse_sshd_config(load("sshd_config", "centos7_insights"))
    assert cfg.version is None and cfg.effective_source == "files"
    assert cfg.get("passwordauthentication").value == "yes"  # PasswordAuthentication=yes
    assert cfg.get("x11forwarding").value == "yes"  # X11Forwarding = "yes"
    assert cfg.get("useprivilegeseparation").value == "sandbox"  # trailing comment dropped
    assert cfg.get("kbdinteractiveauthentication").value == "no"  # from ChallengeResponseAuthentication
    assert len(cfg.get("acceptenv").values) == 4 and len(cfg.get("hostkey").values) == 3
    assert cfg.unparsed_lines == ()


def test_rhel9_drop_in_and_an_unreadable_include():
    cfg = parse_sshd_config(load("sshd_config", "rhel9_stig"))
    assert cfg.files_read == ("/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/50-redhat.conf")
    assert cfg.get("usepam").location == "/etc/ssh/sshd_config.d/50-redhat.conf:9"
    assert cfg.files_denied == ("/etc/crypto-policies/back-ends/opensshserver.config",)
    assert cfg.get("passwordauthentication").source == "default"


# -- sshd's reading rules -------------------------------------------------------------------------------

def test_first_value_wins_and_includes_are_read_where_they_stand():
    cfg = config("PermitRootLogin yes\nInclude /etc/ssh/sshd_config.d/*.conf\nMaxAuthTries 9\n",
                 **{"/etc/ssh/sshd_config.d/50-b.conf": "MaxAuthTries 3\nPermitRootLogin no\n",
                    "/etc/ssh/sshd_config.d/10-a.conf": "maxauthtries 2\n"})
    assert cfg.get("permitrootlogin").value == "yes"  # before the Include
    assert cfg.get("maxauthtries").value == "2" and cfg.get("maxauthtries").location.endswith("10-a.conf:1")


def test_relative_include_and_glob_do_not_cross_directories():
    cfg = config("Include conf.d/*\n", **{"/etc/ssh/conf.d/a": "Port 2222\n", "/etc/ssh/conf.d/sub/b": "Port 1\n"})
    assert cfg.get("port").values == ("2222",)


def test_match_blocks_are_kept_apart_and_end_with_their_file():
    cfg = config("PasswordAuthentication no\nInclude /etc/ssh/sshd_config.d/*.conf\nMaxAuthTries 3\n"
                 "Match Address 10.0.0.0/8\n  PermitRootLogin yes\n  PermitRootLogin no\n",
                 **{"/etc/ssh/sshd_config.d/x.conf": "Match User backup\n  PasswordAuthentication yes\n"})
    assert cfg.get("passwordauthentication").value == "no" and cfg.get("maxauthtries").value == "3"
    assert [b.criteria for b in cfg.match_blocks] == ["User backup", "Address 10.0.0.0/8"]
    assert cfg.match_blocks[1].settings["permitrootlogin"].value == "yes"


def test_malformed_lines_are_recorded_not_guessed():
    cfg = config('Port\nBanner "unterminated\n@@@ junk\nPermitRootLogin no\n')
    assert cfg.get("permitrootlogin").value == "no" and "banner" not in cfg.configured
    assert len(cfg.unparsed_lines) == 3 and cfg.unparsed_lines[0].startswith("/etc/ssh/sshd_config:1")


def test_cut_off_output_keeps_what_arrived():
    text = files_only("/etc/ssh/sshd_config", {"/etc/ssh/sshd_config": "PermitRootLogin no\nPasswordAuth"})
    cfg = parse_sshd_config(text[: text.rindex("PasswordAuth") + 8])
    assert cfg.get("permitrootlogin").value == "no" and cfg.unparsed_lines


def test_no_sshd_and_unreadable_config():
    absent = parse_sshd_config("@@missing sshd\n@@main /etc/ssh/sshd_config\n@@nofile /etc/ssh/sshd_config\n")
    assert absent.installed is False and absent.effective_source == "none"
    denied = parse_sshd_config("@@sshd /usr/sbin/sshd\n@@section test\n|sshd: no hostkeys available -- exiting.\n"
                               "@@rc 1\n@@main /etc/ssh/sshd_config\n@@denied /etc/ssh/sshd_config\n")
    assert denied.installed and denied.effective_source == "none" and denied.files_denied == ("/etc/ssh/sshd_config",)


@pytest.mark.parametrize("line,parsed", [
    ("Ciphers=aes256-ctr", ("ciphers", ["aes256-ctr"])),
    ('Banner "/etc/issue net"', ("banner", ["/etc/issue net"])),
    ("AllowUsers alice bob # admins", ("allowusers", ["alice", "bob"])),
    ("AllowUsers", None),
])
def test_split_line(line, parsed):
    assert split_line(line) == parsed


@pytest.mark.parametrize("text,seconds", [("300", 300), ("5m", 300), ("1h30m", 5400), ("0", 0), ("5x", None)])
def test_sshd_time_format(text, seconds):
    assert sshd_seconds(text) == seconds


def test_algorithm_list_modifiers():
    assert enabled_names("+ssh-rsa,3des-cbc") == ["ssh-rsa", "3des-cbc"]
    assert enabled_names("-*-cbc") == [] and enabled_names("^aes256-gcm@openssh.com") == ["aes256-gcm@openssh.com"]


# -- checks ------------------------------------------------------------------------------------------------

HARDENED = ("PermitRootLogin no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM yes\n"
            "PermitEmptyPasswords no\nMaxAuthTries 3\nClientAliveInterval 300\nClientAliveCountMax 2\n"
            "AllowGroups sshadmins\nCiphers aes256-gcm@openssh.com,aes256-ctr\n")


def test_a_hardened_configuration_passes_everything(registry, catalog):
    results = judge_host(registry, "ssh.config.*", config(HARDENED))
    assert {r.check_id: r.status for r in results} == {c.id: Status.PASS for c in registry.select(["ssh.config.*"])}
    assert_rendered(catalog, results)


@pytest.mark.parametrize("text,check_id,severity,key", [
    ("PermitRootLogin yes\n", "ssh.config.root_login", Severity.HIGH, "allowed"),
    ("PermitRootLogin prohibit-password\n", "ssh.config.root_login", Severity.LOW, "keys_only"),
    ("Port 22\n", "ssh.config.root_login", Severity.HIGH, "not_set"),
    ("PermitRootLogin no\nMatch Address 10.0.0.0/8\n PermitRootLogin yes\n", "ssh.config.root_login", Severity.LOW,
     "match_override"),
    ("PasswordAuthentication yes\n", "ssh.config.password_auth", Severity.MEDIUM, "password_enabled"),
    ("PasswordAuthentication no\nUsePAM yes\n", "ssh.config.password_auth", Severity.MEDIUM, "kbd_pam"),
    ("PermitEmptyPasswords yes\n", "ssh.config.empty_passwords", Severity.HIGH, "allowed"),
    ("MaxAuthTries 6\n", "ssh.config.max_auth_tries", Severity.LOW, "too_many"),
    ("Port 22\n", "ssh.config.idle_timeout", Severity.LOW, "off"),
    ("ClientAliveInterval 20m\nClientAliveCountMax 3\n", "ssh.config.idle_timeout", Severity.LOW, "too_long"),
    ("ClientAliveInterval 300\nClientAliveCountMax 0\n", "ssh.config.idle_timeout", Severity.LOW, "count_zero"),
    ("Port 22\n", "ssh.config.access_restricted", Severity.LOW, "open"),
    ("Ciphers +3des-cbc\n", "ssh.config.algorithms", Severity.HIGH, "configured"),
    ("KexAlgorithms diffie-hellman-group14-sha1,curve25519-sha256\n", "ssh.config.algorithms", Severity.LOW,
     "configured"),
])
def test_weak_settings_fail(registry, catalog, text, check_id, severity, key):
    result = one(judge_host(registry, check_id, config(text)), check_id)
    assert (result.status, result.severity, result.message.key) == (Status.FAIL, severity, key)
    assert_rendered(catalog, [result])


def test_the_evidence_says_where_each_setting_was_read(registry):
    """The report's evidence sentence and fix name the file and line: read from the files here
    (sshd -T refused), from sshd's default when set nowhere, and the Match block's own line."""
    from reports import Texts
    texts = Texts.for_lang("en")
    main = "/etc/ssh/sshd_config"
    result = one(judge_host(registry, "ssh.config.root_login", config("Port 22\nPermitRootLogin yes\n")),
                 "ssh.config.root_login")
    assert result.evidence["file_location"] == f"{main}:2" and "sshd_t_location" not in result.evidence
    assert f"configuration file at {main}:2" in texts.evidence(result)
    assert texts.fix(result, {"os": "Debian 12", "os_debian": "Debian 12"}).startswith(
        f"On Debian 12: change line {main}:2 to `PermitRootLogin no`")
    unset = one(judge_host(registry, "ssh.config.max_auth_tries", config("Port 22\n")), "ssh.config.max_auth_tries")
    assert "default_value" in unset.evidence and texts.fix(unset) == ""
    kbd = one(judge_host(registry, "ssh.config.password_auth", config("PasswordAuthentication no\nUsePAM yes\n")),
              "ssh.config.password_auth")
    assert kbd.evidence["keyword"] == "KbdInteractiveAuthentication"
    match = one(judge_host(registry, "ssh.config.root_login",
                           config("PermitRootLogin no\nMatch Address 10.0.0.0/8\n PermitRootLogin yes\n")),
                "ssh.config.root_login")
    assert f"Match block at {main}:3" in texts.evidence(match)
    weak = one(judge_host(registry, "ssh.config.algorithms", config("Port 22\nCiphers +3des-cbc\n")),
               "ssh.config.algorithms")
    assert f"at {main}:2" in texts.evidence(weak) and "3des-cbc" in texts.fix(weak)


def test_removing_weak_algorithms_is_not_enabling_them(registry):
    result = one(judge_host(registry, "ssh.config.algorithms", config("Ciphers -*-cbc\n")), "ssh.config.algorithms")
    assert result.status == Status.PASS


def test_unreadable_and_absent_sshd(registry, catalog):
    denied = parse_sshd_config("@@sshd /usr/sbin/sshd\n@@main /etc/ssh/sshd_config\n@@denied /etc/ssh/sshd_config\n")
    absent = parse_sshd_config("@@missing sshd\n@@main /etc/ssh/sshd_config\n@@nofile /etc/ssh/sshd_config\n")
    unknown = judge_host(registry, "ssh.config.*", denied)
    assert {r.status for r in unknown} == {Status.UNKNOWN}
    assert {r.status for r in judge_host(registry, "ssh.config.*", absent)} == {Status.NOT_APPLICABLE}
    assert_rendered(catalog, unknown)


# -- the real sshd -------------------------------------------------------------------------------------------

CROSS_CHECKED = ("permitrootlogin", "passwordauthentication", "maxauthtries", "clientalivecountmax", "usepam",
                 "permitemptypasswords", "kbdinteractiveauthentication")


@needs_root_sshd
def test_file_reading_agrees_with_sshd_t(tmp_path):
    """Write a configuration with drop-ins, first-wins conflicts and a Match block; read it with
    the probe's own walk and our parser; compare with what the real sshd -T -f says."""
    key = tmp_path / "hostkey"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "20-late.conf").write_text("MaxAuthTries 5\nPermitEmptyPasswords yes\n")
    (tmp_path / "conf.d" / "10-early.conf").write_text("PermitRootLogin no\nMaxAuthTries 3\n")
    (tmp_path / "conf.d" / "30-match.conf").write_text("Match User backup\n  PasswordAuthentication yes\n")
    main = tmp_path / "sshd_config"
    main.write_text(f"# written by the test\nInclude {tmp_path}/conf.d/*.conf\nPermitRootLogin yes\n"
                    "PasswordAuthentication no\nChallengeResponseAuthentication no\nUsePAM yes\n"
                    "ClientAliveCountMax 2\nClientAliveInterval 5m\n")
    ensure_privsep_dir()
    walked = LocalTransport().run(["sh", "-c", WALK_SH + f'\necho "@@main {main}"\nwalk "{main}" 0\n'], timeout=30)
    cfg = parse_sshd_config(walked.stdout)
    assert cfg.files_read == (str(main), *(str(tmp_path / "conf.d" / n) for n in
                                           ("10-early.conf", "20-late.conf", "30-match.conf")))

    def sshd_t(*extra: str) -> dict[str, str]:
        out = subprocess.run([SSHD, "-T", "-f", str(main), "-h", str(key), *extra], capture_output=True,
                             text=True, timeout=30, env={"LC_ALL": "C", "PATH": "/usr/sbin:/usr/bin"})
        assert out.returncode == 0, out.stderr
        return dict(line.partition(" ")[::2] for line in out.stdout.splitlines())

    real = sshd_t()
    for keyword in CROSS_CHECKED:
        assert cfg.configured[keyword].value.lower() == real[keyword], keyword
    assert sshd_seconds(cfg.configured["clientaliveinterval"].value) == int(real["clientaliveinterval"])
    matched = sshd_t("-C", "user=backup,host=example,addr=127.0.0.1")
    block = cfg.match_blocks[0]
    assert block.criteria == "User backup" and matched["passwordauthentication"] == "yes"
    assert block.settings["passwordauthentication"].value == matched["passwordauthentication"]
    assert real["passwordauthentication"] == "no"  # the Match block is not global


def test_real_run_on_this_host(registry, catalog):
    if os.geteuid() == 0:
        ensure_privsep_dir()  # as a running sshd's host has it (see the test below for one without)
    cfg = parse_sshd_config(run_probes(PROBES)["sshd_config"])
    assert cfg.installed and cfg.main_file == "/etc/ssh/sshd_config" and "/etc/ssh/sshd_config" in cfg.files_read
    assert cfg.effective_source == ("sshd -T" if os.geteuid() == 0 else "files")
    assert cfg.get("permitrootlogin") is not None and cfg.get("passwordauthentication") is not None
    assert cfg.unparsed_lines == ()
    results = judge_host(registry, "ssh.config.*", cfg)
    assert len(results) == 7 and all(r.status in (Status.PASS, Status.FAIL) for r in results)
    assert_rendered(catalog, results)


@needs_root_sshd
@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux) for a private /run")
def test_real_run_where_sshd_never_ran_reads_the_files():
    """A host with openssh-server installed but never started has no /run/sshd, so `sshd -T`
    refuses to run even as root: the probe must fall back to reading the files, and say why.
    The probe runs in a private mount namespace with an empty /run, so the machine's own /run
    is untouched."""
    empty_run = ("unshare", "--mount", "--propagation", "private", "sh", "-c",
                 f"mount -t tmpfs -o mode=0755 readyscan-test /run && test ! -e {PRIVSEP_DIR} && exec sh -s")
    cfg = parse_sshd_config(run_probes(PROBES, shell=empty_run)["sshd_config"])
    assert cfg.installed and cfg.effective_source == "files"
    assert "privilege separation directory" in cfg.sshd_t_error.lower()
    assert cfg.get("permitrootlogin") is not None and cfg.unparsed_lines == ()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root to drop to nobody")
def test_real_run_as_nobody_reads_the_files():
    cfg = parse_sshd_config(run_probes(PROBES, as_nobody=True)["sshd_config"])
    assert cfg.effective_source == "files" and cfg.sshd_t_error
    assert cfg.get("permitrootlogin").source in ("file", "default")
