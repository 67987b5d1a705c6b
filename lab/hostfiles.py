"""Files of one lab host: its /etc overlay (/etc/netns/<ns>/, which ``ip netns exec`` binds over
/etc for the host's processes) and its private directories under ``lab/.state/host/<host>/``
(bound over /run, /var/log, /home, /tmp, /var/spool and /var/www by hostinit.py).
"""
from __future__ import annotations

import datetime
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from . import pki, render
from .hosts import LabHost
from .layout import ADMIN_USER, SCAN_USER, host_state, netns_etc
from .profiles import PROFILES, TLS_POLICIES, certificate_kinds, listener_certificate

# Where a host's TLS-capable listeners find their certificate (Debian's ssl-cert layout).
LISTENER_CERT = "/etc/ssl/certs/postgresql.pem"
LISTENER_KEY = "/etc/ssl/private/postgresql.key"

# Per-host directories and the path each is bound over inside the host.
PRIVATE_DIRS = {"run": "/run", "log": "/var/log", "home": "/home", "tmp": "/tmp",
                "spool": "/var/spool", "www": "/var/www"}
SCAN_USER_UID_FLOOR = 1500
FAKE_FILES = {"backup-2025-12-31.sql.gz": b"", "config.php.bak": b"<?php // db password here\n",
              "nhan-su.xlsx": b""}


@dataclass(frozen=True)
class ScanAccount:
    """The lab's two accounts on every host: the scanning user (read-only sudo) and the unit's
    sysadmin (sudo with a password), both logging in with the lab's client key."""

    uid: int
    public_key: str
    admin_uid: int = 0
    admin_hash: str = "!"

    @classmethod
    def current(cls) -> ScanAccount:
        pki.ensure_admin_password()
        uid = free_uid()
        return cls(uid, pki.client_public_key(), free_uid(after=uid), pki.admin_password_hash())

    @property
    def passwd_lines(self) -> list[str]:
        return [f"{SCAN_USER}:x:{self.uid}:{self.uid}:readyscan scanner:/home/{SCAN_USER}:/bin/bash",
                f"{ADMIN_USER}:x:{self.admin_uid}:{self.admin_uid}:unit sysadmin:/home/{ADMIN_USER}:/bin/bash"]

    @property
    def group_lines(self) -> list[str]:
        return [f"{SCAN_USER}:x:{self.uid}:", f"{ADMIN_USER}:x:{self.admin_uid}:"]

    @property
    def homes(self) -> list[tuple[str, int]]:
        return [(SCAN_USER, self.uid), (ADMIN_USER, self.admin_uid)]


def free_uid(after: int | None = None) -> int:
    """First id from 1500 (or past `after`) that the machine uses neither as a UID nor as a GID."""
    used = set()
    for path in ("/etc/passwd", "/etc/group"):
        for line in Path(path).read_text().splitlines():
            fields = line.split(":")
            if len(fields) > 2 and fields[2].isdigit():
                used.add(int(fields[2]))
    uid = SCAN_USER_UID_FLOOR if after is None else after + 1
    while uid in used:
        uid += 1
    return uid


def write(path: Path, text: str | bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)


def bind_pairs(host: LabHost) -> list[list[str]]:
    state = host_state(host.name)
    return [[str(state / name), target] for name, target in PRIVATE_DIRS.items()]


def make_private_dirs(host: LabHost, account: ScanAccount) -> None:
    """The host's own /run, /var/log, /home, … with what its daemons expect to find there."""
    state = host_state(host.name)
    prof = PROFILES[host.profile]
    for name in PRIVATE_DIRS:
        (state / name).mkdir(parents=True, exist_ok=True)
        os.chmod(state / name, 0o755)
    os.chmod(state / "tmp", 0o1777)
    for sub in ("run/sshd", "run/lock", "run/nginx", "run/lab", "run/vsftpd/empty", "log/nginx", "log/apt",
                "spool/rsyslog", "www/html"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(state / "run/sshd", 0o755)   # sshd refuses a privsep dir writable by others
    for log_file in ("wtmp", "btmp", "lastlog", "dpkg.log"):
        write(state / "log" / log_file, "", 0o640 if log_file == "btmp" else 0o644)
    write(state / "www/html/index.html", render.index_html(host))
    if any(listener["kind"] == "http-files" for listener in prof["listeners"]):
        for name, content in FAKE_FILES.items():
            write(state / "www/files" / name, content)
    for user, uid in account.homes:
        home = state / "home" / user
        write(home / ".ssh/authorized_keys", render.authorized_keys(account.public_key), 0o600)
        for path in (home, home / ".ssh", home / ".ssh/authorized_keys"):
            os.chown(path, uid, uid)
        os.chmod(home, 0o750)
        os.chmod(home / ".ssh", 0o700)


def write_etc_overlay(host: LabHost, account: ScanAccount) -> list[Path]:
    """Write /etc/netns/<ns>/…; return the host's SSH public host-key files."""
    etc = netns_etc(host.name)
    prof = PROFILES[host.profile]
    etc.mkdir(parents=True, exist_ok=True)
    os.chmod(etc, 0o755)
    write_identity(host, etc, prof)
    write_accounts(host, etc, prof, account)
    public_keys = write_ssh(host, etc, prof)
    if prof["web"]:
        write_nginx(host, etc, prof)
    if listener_certificate(host.profile):
        write_listener_tls(host, etc)
    if prof.get("ftp"):
        write(etc / "vsftpd.conf", render.vsftpd_conf(host, prof["ftp"]))
    write_logging(host, etc, prof)
    if prof["firewall"]:
        write(etc / "nftables.conf", render.nftables_conf(host, prof["firewall"]), 0o755)
    return public_keys


def unbindable_entries(host_name: str) -> list[str]:
    """Overlay entries with no /etc counterpart on this machine (say /etc/nftables.conf without
    the nftables package): `ip netns exec` cannot bind them, so the host does not see them."""
    etc = netns_etc(host_name)
    return sorted(entry.name for entry in etc.iterdir() if not (Path("/etc") / entry.name).exists())


def write_identity(host: LabHost, etc: Path, prof: dict) -> None:
    write(etc / "hostname", render.hostname_file(host))
    write(etc / "hosts", render.hosts_file(host))
    write(etc / "resolv.conf", render.resolv_conf(host))
    for name, text in render.os_release_files(prof["os"]).items():
        write(etc / name, text)


def write_accounts(host: LabHost, etc: Path, prof: dict, account: ScanAccount) -> None:
    ageing = prof["accounts"]["login_defs"]
    today = (datetime.date.today() - datetime.date(1970, 1, 1)).days
    write(etc / "passwd", render.with_lab_accounts(Path("/etc/passwd").read_text(), account.passwd_lines))
    write(etc / "group", render.with_lab_accounts(Path("/etc/group").read_text(), account.group_lines))
    write(etc / "shadow", render.shadow_file(Path("/etc/shadow").read_text(), today, ageing, account.admin_hash),
          0o640)
    write(etc / "gshadow", render.with_lab_accounts(Path("/etc/gshadow").read_text(),
                                                    [f"{SCAN_USER}:!::", f"{ADMIN_USER}:!::"]), 0o640)
    shutil.chown(etc / "shadow", group="shadow")
    shutil.chown(etc / "gshadow", group="shadow")
    write(etc / "login.defs", render.login_defs(Path("/etc/login.defs").read_text(), ageing))
    write(etc / "sudoers", render.sudoers(host), 0o440)
    if prof["accounts"]["pwquality"] or prof["accounts"]["lockout"]:
        write_pam(host, etc, prof["accounts"])


def write_pam(host: LabHost, etc: Path, accounts: dict) -> None:
    """The host's own /etc/security and /etc/pam.d: the machine's copies (pam_limits, pam_env …
    read them at every login) with password quality and lockout switched on as the profile says.
    Without libpam-pwquality installed only a password change fails (closed): key logins and
    NOPASSWD sudo use neither the password nor the auth stack."""
    security, pam = etc / "security", etc / "pam.d"
    shutil.copytree("/etc/security", security, symlinks=True, dirs_exist_ok=True)
    shutil.copytree("/etc/pam.d", pam, symlinks=True, dirs_exist_ok=True)
    if accounts["pwquality"]:
        write(security / "pwquality.conf", render.pwquality_conf(host, accounts["pwquality"]))
        write(pam / "common-password",
              render.common_password_with_pwquality(Path("/etc/pam.d/common-password").read_text()))
    if accounts["lockout"]:
        write(security / "faillock.conf", render.faillock_conf(host, accounts["lockout"]))
        write(pam / "common-auth",
              render.common_auth_with_faillock(Path("/etc/pam.d/common-auth").read_text()))
        write(pam / "common-account",
              render.common_account_with_faillock(Path("/etc/pam.d/common-account").read_text()))


def write_ssh(host: LabHost, etc: Path, prof: dict) -> list[Path]:
    ssh = etc / "ssh"
    ssh.mkdir(parents=True, exist_ok=True)
    for shared in ("moduli", "ssh_config"):   # never the machine's host keys
        shutil.copy2(f"/etc/ssh/{shared}", ssh / shared)
    write(ssh / "sshd_config", render.sshd_config(host, prof["ssh"]["host_keys"],
                                                   prof["ssh"]["config"]))
    public_keys = []
    for kind in prof["ssh"]["host_keys"]:
        key_path = ssh / render.HOST_KEY_FILES[kind]
        if not key_path.exists():
            pki.make_ssh_host_key(kind, key_path, host)
        public_keys.append(key_path.with_name(key_path.name + ".pub"))
    return public_keys


def write_nginx(host: LabHost, etc: Path, prof: dict) -> None:
    nginx = etc / "nginx"
    (nginx / "tls").mkdir(parents=True, exist_ok=True)
    shutil.copy2("/etc/nginx/mime.types", nginx / "mime.types")
    write(nginx / "nginx.conf", render.nginx_conf(host, prof["web"]))
    for kind in certificate_kinds(host.profile):
        pki.make_server_certificate(kind, host, nginx / "tls")
    dh_bits = {TLS_POLICIES[vhost["tls"]].get("dhparam_bits") for vhost in prof["web"]["https"]} - {None}
    if dh_bits:
        pki.make_dh_parameters(max(dh_bits), nginx / "tls" / "dhparam.pem")


def write_listener_tls(host: LabHost, etc: Path) -> None:
    """/etc/ssl replaced as a whole: the machine's public certificates (never its private keys)
    plus the host's own certificate and key."""
    ssl_dir = etc / "ssl"
    shutil.copytree("/etc/ssl", ssl_dir, symlinks=True, dirs_exist_ok=True,
                    ignore=lambda folder, names: names if folder.rstrip("/").endswith("ssl/private") else [])
    kind = listener_certificate(host.profile)
    key, crt = pki.make_server_certificate(kind, host, ssl_dir / "private")
    key.rename(ssl_dir / LISTENER_KEY.removeprefix("/etc/ssl/"))
    crt.rename(ssl_dir / LISTENER_CERT.removeprefix("/etc/ssl/"))


def write_logging(host: LabHost, etc: Path, prof: dict) -> None:
    logging = prof["logging"]
    write(etc / "rsyslog.conf", render.rsyslog_conf(host, logging["forward"]))
    (etc / "rsyslog.d").mkdir(exist_ok=True)
    for name, text in render.rsyslog_dropins(logging["forward"]).items():
        write(etc / "rsyslog.d" / name, text)
    write(etc / "logrotate.conf", render.logrotate_conf(host, logging["rotate"]))
    (etc / "logrotate.d").mkdir(exist_ok=True)
    for name, text in render.logrotate_dropins(logging["rotate"], bool(prof["web"])).items():
        write(etc / "logrotate.d" / name, text)
    write(etc / "systemd" / "journald.conf", render.journald_conf(host, logging["journald"]))
    if logging["rsyslog"]:
        write(etc / "init.d" / "rsyslog", render.rsyslog_init_script(host), 0o755)
    if logging.get("journald_daemon"):
        write(etc / "init.d" / "systemd-journald", render.journald_init_script(host), 0o755)


def remove_host_files(host_name: str) -> None:
    shutil.rmtree(netns_etc(host_name), ignore_errors=True)
    shutil.rmtree(host_state(host_name), ignore_errors=True)
