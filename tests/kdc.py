"""A real MIT Kerberos KDC on loopback for the tests of Kerberos over WinRM.

`Kdc(folder)` makes its own realm (LAB.TEST) in `folder`: kdc.conf (KRB5_KDC_PROFILE) and
krb5.conf (KRB5_CONFIG) written there, the database created by `kdb5_util create -s` there,
principals added by `kadmin.local`, and `krb5kdc -n` (foreground, so the PID we hold is the KDC's
own) listening on 127.0.0.1 on a port the OS picked, stopped by that PID. Nothing here reads
/etc/krb5.conf or /etc/krb5kdc, nor uses port 88.

The krb5.conf it writes never lets the Kerberos library look a name up: no DNS for the KDC or the
realm, no reverse lookup and no canonicalisation of the service's host name (an SPN host is used as
written), and the realm's only KDC is 127.0.0.1:<port>. `offline_krb5_conf` writes the same
libdefaults without a KDC, for tests that must not reach any (NTLM through Negotiate tries
Kerberos first once gssapi is installed).

Debian packages: krb5-kdc (krb5kdc, kdb5_util), krb5-admin-server (kadmin.local), krb5-user
(kinit, klist). A machine without them gets `DaemonUnavailable` and the tests skip saying so.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path
from typing import Self

from lab.daemons import LOOPBACK, Daemon, DaemonUnavailable, _accepts, _start_on_free_port

REALM = "LAB.TEST"
KRB5KDC = Path("/usr/sbin/krb5kdc")
KDB5_UTIL = Path("/usr/sbin/kdb5_util")
KADMIN_LOCAL = Path("/usr/sbin/kadmin.local")
KINIT = Path("/usr/bin/kinit")
KLIST = Path("/usr/bin/klist")
_PACKAGES = {KRB5KDC: "krb5-kdc", KDB5_UTIL: "krb5-kdc", KADMIN_LOCAL: "krb5-admin-server", KINIT: "krb5-user",
             KLIST: "krb5-user"}
_COMMAND_TIMEOUT = 30

# Every name-lookup switch of MIT krb5 off: what the transport's Kerberos must work with.
_LIBDEFAULTS = """[libdefaults]
    default_realm = {realm}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    dns_uri_lookup = false
    # TCP: the transport the KDC was seen accepting on (no UDP retry dance on a loaded machine)
    udp_preference_limit = 1
    kdc_timeout = 5s
    max_retries = 1
"""


def offline_krb5_conf(path: Path, realm: str = REALM) -> Path:
    """A krb5.conf whose realm has no KDC and that looks nothing up: any Kerberos attempt fails
    at once, on this machine, instead of asking DNS for the system realm's KDC."""
    path.write_text(_LIBDEFAULTS.format(realm=realm))
    return path


class Kdc(Daemon):
    """One krb5kdc for REALM with its database in `folder` (kept after stop, for its log)."""

    realm = REALM

    def __init__(self, folder: Path) -> None:
        missing = sorted({pkg for binary, pkg in _PACKAGES.items() if not binary.is_file()})
        if missing:
            raise DaemonUnavailable(f"MIT Kerberos binaries not found: apt-get install {' '.join(missing)}")
        super().__init__()
        self.home = folder
        self.kdc_conf = folder / "kdc.conf"
        self.krb5_conf = folder / "krb5.conf"

    @property
    def env(self) -> dict[str, str]:
        """The environment of every Kerberos program run for this realm: its files, never /etc's."""
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KRB5_CONFIG": str(self.krb5_conf),
                "KRB5_KDC_PROFILE": str(self.kdc_conf), "KRB5CCNAME": f"FILE:{self.home / 'ccache-unused'}",
                "KRB5RCACHEDIR": str(self.home)}

    def start(self) -> Self:
        self.home.mkdir(parents=True, exist_ok=True)
        self._write_conf(0)   # kdb5_util reads the realm's database paths from kdc.conf
        self._run([KDB5_UTIL, "create", "-s", "-r", self.realm, "-P", secrets.token_urlsafe(24)])
        self.port, self.proc = _start_on_free_port(self._launch, _accepts, "krb5kdc", self.home / "kdc.log")
        return self

    def stop(self) -> None:
        self.folder = None   # keep the folder: pytest's tmp dir cleans it, and its log explains failures
        super().stop()

    def _launch(self, port: int, out) -> subprocess.Popen:
        self._write_conf(port)
        return subprocess.Popen([KRB5KDC, "-n", "-r", self.realm], env=self.env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)

    def _write_conf(self, port: int) -> None:
        h = self.home
        listen = f"{LOOPBACK}:{port}"
        self.kdc_conf.write_text(f"""[kdcdefaults]
    kdc_listen = {listen}
    kdc_tcp_listen = {listen}

[realms]
    {self.realm} = {{
        database_name = {h / 'principal'}
        key_stash_file = {h / 'stash'}
        acl_file = {h / 'kadm5.acl'}
        kdc_listen = {listen}
        kdc_tcp_listen = {listen}
        max_life = 1h
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}

[logging]
    kdc = STDERR
""")
        self.krb5_conf.write_text(_LIBDEFAULTS.format(realm=self.realm) + f"""
[realms]
    {self.realm} = {{
        kdc = {listen}
    }}

[domain_realm]
    .lab.test = {self.realm}
    lab.test = {self.realm}
""")

    def _run(self, argv: list, stdin: str | None = None) -> str:
        done = subprocess.run([str(a) for a in argv], env=self.env, input=stdin, capture_output=True, text=True,
                              timeout=_COMMAND_TIMEOUT)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(str(argv[0])).name} failed ({done.returncode}): "
                               f"{(done.stderr or done.stdout).strip()}")
        return done.stdout

    def _kadmin(self, query: str) -> str:
        return self._run([KADMIN_LOCAL, "-r", self.realm, "-q", query])

    # -- principals --------------------------------------------------------------------------
    def add_user(self, name: str, password: str) -> str:
        """A user principal with a password; returns name@REALM. (The password rides on
        kadmin.local's command line: a throwaway realm's.)"""
        self._kadmin(f"addprinc -pw {password} {name}")
        return f"{name}@{self.realm}"

    def add_service(self, spn: str, keytab: Path) -> Path:
        """A service principal with a random key, exported to `keytab` (the acceptor's KRB5_KTNAME)."""
        self._kadmin(f"addprinc -randkey {spn}")
        self._kadmin(f"ktadd -k {keytab} {spn}")
        return keytab

    def kinit(self, principal: str, password: str, ccache: Path) -> Path:
        """A TGT for `principal` in the file cache `ccache`, as a user's kinit would leave it
        (password on kinit's stdin)."""
        self._run([KINIT, "-c", f"FILE:{ccache}", principal], stdin=password + "\n")
        return ccache

    def klist(self, ccache: Path) -> str:
        """The tickets in the file cache `ccache`, as klist lists them."""
        return self._run([KLIST, "-c", f"FILE:{ccache}"])
