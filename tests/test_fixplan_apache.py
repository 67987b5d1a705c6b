"""Apache fixes end to end on this machine, without the lab: a real Apache httpd (master and
workers, its own ServerRoot, loopback ports, a site file included by a relative glob through a
symlink, two name-based virtual hosts sharing one `<VirtualHost>` line) seeded with an old
portal's gaps → `readyscan scan` (local transport, TLS and HTTP checks) → `readyscan fix-plan` →
Ansible with its local connection: check mode changes no file → applied, every edit passes the
real `apache2ctl -t`, the same master reloads gracefully, and a re-scan passes every result the
plan claimed → a second apply changes nothing. Then an edit httpd rejects is put back as it was
and fails its block, while httpd keeps serving."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.tlsservers import OPENSSL_CNF, TestPki, wait_for_port
from tests.webportal import (
    NAME,
    LocalPortal,
    apply,
    dry_run,
    make_plan,
    rejected_edit_is_put_back,
    rescan_passes_and_again_changes_nothing,
    scan,
    statuses,
)

MODULES = "/usr/lib/apache2/modules"  # Debian's apache2 package (the Makefile installs it)
LOADED = ("mpm_event", "authz_core", "dir", "headers", "ssl", "socache_shmcb")


class Portal(LocalPortal):
    """Apache as a unit's old portal: every TLS version the library allows (`SSLProtocol all`, set
    for every virtual host in the main file), a broad suite list, `ServerTokens Full`, no security
    headers but a Referrer-Policy the main server sets for all. Started by the test, stopped by its
    master's PID."""

    ORGANIZATION = "Thử nghiệm Apache"

    def __init__(self, folder: Path, pki: TestPki):
        super().__init__(folder, pki)
        self.conf = folder / "httpd.conf"
        self.site = folder / "sites" / "portal.conf"

    def write(self) -> None:
        d = self.folder
        for sub in ("sites", "available", "run", "www"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        (d / "www" / "index.html").write_text("<!doctype html><title>portal</title><p>ok</p>\n")
        loads = "".join(f"LoadModule {m}_module {MODULES}/mod_{m}.so\n" for m in LOADED)
        self.conf.write_text(
            f'ServerRoot "{d}"\nPidFile {d}/run/httpd.pid\nDefaultRuntimeDir {d}/run\nErrorLog {d}/error.log\n'
            "User www-data\nGroup www-data\nServerName localhost\n" + loads +
            f"Listen 127.0.0.1:{self.https}\nListen 127.0.0.1:{self.http}\n"
            "ServerTokens Full\n"
            "<IfModule ssl_module>\n    SSLProtocol all\n</IfModule>\n"
            'Header always set Referrer-Policy "no-referrer"\n'
            "IncludeOptional sites/*.conf\n")
        available = d / "available" / "portal.conf"
        available.write_text(
            self.vhost(self.https, NAME, self.issued, "    SSLCipherSuite HIGH:!aNULL:!MD5\n")
            + self.other_site()
            + f"<VirtualHost 127.0.0.1:{self.http}>\n    ServerName {NAME}\n    DocumentRoot {d}/www\n</VirtualHost>\n")
        self.site.symlink_to(available)
        (d / "openssl.cnf").write_text(OPENSSL_CNF)  # lets httpd offer TLS 1.0, as old systems do

    def vhost(self, port: int, name: str, issued, extra: str = "") -> str:
        return (f"<VirtualHost 127.0.0.1:{port}>\n    ServerName {name}\n    SSLEngine on\n"
                f"    SSLCertificateFile {issued.cert}\n    SSLCertificateKeyFile {issued.key}\n{extra}"
                f"    DocumentRoot {self.folder}/www\n</VirtualHost>\n")

    def other_site(self) -> str:
        return self.vhost(self.https, "other.test", self.other)

    def start(self) -> Portal:
        self.write()
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin"), "OPENSSL_CONF": str(self.folder / "openssl.cnf")}
        self.proc = subprocess.Popen(["apache2", "-f", str(self.conf), "-d", str(self.folder), "-DFOREGROUND"],
                                     env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for port in (self.https, self.http):
            wait_for_port(port, proc=self.proc)
        return self


@pytest.fixture
def portal(tmp_path):
    server = Portal(tmp_path / "apache", TestPki(tmp_path / "pki")).start()
    try:
        yield server
    finally:
        server.stop()


def _generation(portal: Portal) -> set[int]:
    """The master's children now (a graceful reload replaces them, the master stays)."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(portal.proc.pid)], capture_output=True, text=True)
    return {int(p) for p in out.stdout.split()}


def test_the_plan_fixes_a_real_apache_and_puts_back_an_edit_httpd_rejects(portal, tmp_path):
    inventory = portal.inventory(tmp_path / "inventory.yaml", tmp_path / "pki" / "ca.pem")
    before = scan(inventory, tmp_path / "before.json")
    facts = before.hosts["portal"].observations["host"].data["parsed"]["apache"]
    assert facts["master_pid"] == portal.proc.pid, "another httpd master runs in this mount namespace"
    assert facts["main_file"] == str(portal.conf) and str(portal.site) in facts["files_read"]
    assert facts["master_args"] == ["-f", str(portal.conf), "-d", str(portal.folder), "-D", "FOREGROUND"]
    assert [v["names"] for v in facts["vhosts"]] == [[NAME], ["other.test"], [NAME]]
    evidence = {(r.check_id, r.target): r.evidence for r in before.hosts["portal"].results}
    # the report's fix names the virtual hosts on the port
    assert evidence[("http.hsts", f"{portal.https}/tcp")]["apache_vhosts"] == [f"{portal.site}:1", f"{portal.site}:9"]

    folder, text, claimed = make_plan(tmp_path, before)
    then = statuses(before)
    https, http = f"{portal.https}/tcp", f"{portal.http}/tcp"
    assert {("tls.protocol.legacy", https), ("tls.cipher.no_forward_secrecy", https), ("http.hsts", https),
            ("http.trace", http), ("http.trace", https),
            ("http.frame_options", http), ("http.content_type_options", https),
            ("http.version_disclosure", http)} <= claimed

    files = [portal.conf, portal.site.resolve()]
    dry = dry_run(folder, files)
    assert "+    SSLProtocol -all +TLSv1.2 +TLSv1.3" in dry  # the diff it would apply

    other_before = portal.other_site()
    children = _generation(portal)
    applied = apply(folder)
    assert portal.site.is_symlink()  # the edit went to the file the link names
    site = portal.site.read_text()
    assert other_before in site  # the other site on the port, untouched
    # portal's additions went in after its own certificate line: its <VirtualHost> line is
    # other.test's too, its ServerName line the plain http host's
    assert re.search(rf"SSLCertificateFile {re.escape(str(portal.issued.cert))}\n\s*# BEGIN readyscan", site), site
    assert "ServerTokens Prod" in portal.conf.read_text()
    assert portal.proc.poll() is None and "RUNNING HANDLER [Reload Apache" in applied
    deadline = time.monotonic() + 30  # a graceful reload: new children, the same master
    while _generation(portal) & children and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _generation(portal) & children and int((portal.folder / "run" / "httpd.pid").read_text()) == portal.proc.pid

    # the header the main server sets for every host still comes, beside the new one
    served = requests.get(f"http://127.0.0.1:{portal.http}/", timeout=10).headers
    assert served.get("Referrer-Policy") == "no-referrer" and served.get("X-Frame-Options") == "SAMEORIGIN"
    assert served.get("Server") == "Apache"

    rescan_passes_and_again_changes_nothing(inventory, tmp_path, folder, claimed, then)
    # An edit the server rejects (a directive that does not exist): the file gets its content
    # back and the block fails; the server goes on serving what it served
    rejected_edit_is_put_back(portal, folder, text, files, 'Header always set X-Frame-Options "SAMEORIGIN"', "ReadyscanNoSuchDirective on")
