"""nginx fixes end to end on this machine, without the lab: a real nginx (master and worker, its
own folder, loopback ports, a site file included by a relative glob through a symlink) seeded with
an old portal's gaps → `readyscan scan` (local transport, TLS and HTTP checks) → `readyscan
fix-plan` → Ansible with its local connection: check mode changes no file → applied, every edit
passes the real `nginx -t`, the same master reloads, and a re-scan passes every result the plan
claimed → a second apply changes nothing. Then an edit nginx rejects is put back as it was and
fails its block, while nginx keeps serving."""

from __future__ import annotations

import os
import re
import signal
import subprocess
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

# A second name-based site on the HTTPS port, in the same file, with the same listen line: what
# the plan changes for portal.test must not land in it.
OTHER = """server {{
    listen 127.0.0.1:{port} ssl;
    server_name other.test;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    root {www};
}}
"""


class Portal(LocalPortal):
    """nginx as a unit's old portal: TLS 1.0-1.2 with nginx's default suites, server_tokens on,
    no security headers but a Referrer-Policy set for every server in http. Started by the test, stopped by its master's PID."""

    ORGANIZATION = "Thử nghiệm nginx"
    STOP = signal.SIGQUIT

    def __init__(self, folder: Path, pki: TestPki):
        super().__init__(folder, pki)
        self.conf = folder / "nginx.conf"
        self.site = folder / "sites" / "portal.conf"

    def write(self) -> None:
        d = self.folder
        for sub in ("sites", "available", "tmp", "www"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        (d / "www" / "index.html").write_text("<!doctype html><title>portal</title><p>ok</p>\n")
        temps = "".join(f"    {k}_temp_path {d}/tmp/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        self.conf.write_text(
            f"pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{\n    worker_connections 64;\n}}\n"
            f"http {{\n    access_log {d}/access.log;\n{temps}    default_type text/html;\n"
            "    server_tokens on;\n    add_header Referrer-Policy \"no-referrer\" always;\n    include sites/*.conf;\n}\n")
        available = d / "available" / "portal.conf"
        available.write_text(
            "server {\n"
            f"    listen 127.0.0.1:{self.https} ssl;\n"
            f"    server_name {NAME};\n"
            f"    ssl_certificate {self.issued.cert};\n"
            f"    ssl_certificate_key {self.issued.key};\n"
            "    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;  # as the old installer left it\n"
            f"    root {d}/www;\n"
            "}\n"
            + self.other_site() +
            "server {\n"
            f"    listen 127.0.0.1:{self.http};\n"
            f"    server_name {NAME};\n"
            f"    root {d}/www;\n"
            "}\n")
        self.site.symlink_to(available)
        (d / "openssl.cnf").write_text(OPENSSL_CNF)  # lets the master offer TLS 1.0, as old systems do

    def other_site(self) -> str:
        return OTHER.format(port=self.https, cert=self.other.cert, key=self.other.key, www=self.folder / "www")

    def start(self) -> Portal:
        self.write()
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin"), "OPENSSL_CONF": str(self.folder / "openssl.cnf")}
        self.proc = subprocess.Popen(["nginx", "-c", str(self.conf), "-e", str(self.folder / "error.log"),
                                      "-g", "daemon off;"], env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in (self.https, self.http):
            wait_for_port(port, proc=self.proc)
        return self


@pytest.fixture
def portal(tmp_path):
    server = Portal(tmp_path / "nginx", TestPki(tmp_path / "pki")).start()
    try:
        yield server
    finally:
        server.stop()


def test_the_plan_fixes_a_real_nginx_and_puts_back_an_edit_nginx_rejects(portal, tmp_path):
    inventory = portal.inventory(tmp_path / "inventory.yaml", tmp_path / "pki" / "ca.pem")
    before = scan(inventory, tmp_path / "before.json")
    facts = before.hosts["portal"].observations["host"].data["parsed"]["nginx"]
    assert facts["master_pid"] == portal.proc.pid, "another nginx master runs in this mount namespace"
    assert facts["main_file"] == str(portal.conf) and str(portal.site) in facts["files_read"]

    folder, text, claimed = make_plan(tmp_path, before)
    then = statuses(before)
    https, http = f"{portal.https}/tcp", f"{portal.http}/tcp"
    assert {("tls.protocol.legacy", https), ("tls.protocol.tls13_missing", https), ("http.hsts", https),
            ("http.frame_options", http), ("http.content_type_options", https),
            ("http.version_disclosure", http)} <= claimed

    files = [portal.conf, portal.site.resolve()]
    dry = dry_run(folder, files)
    assert "+    ssl_protocols TLSv1.2 TLSv1.3;" in dry  # the diff it would apply

    other_before = portal.other_site()
    applied = apply(folder)
    assert portal.site.is_symlink()  # the edit went to the file the link names
    site = portal.site.read_text()
    assert other_before in site  # the other site on the port, untouched
    # portal's additions went in after its own certificate line: its listen line is other.test's
    # too, its server_name line the plain http server's
    assert re.search(rf"ssl_certificate {re.escape(str(portal.issued.cert))};\n\s*# BEGIN readyscan", site), site
    assert portal.proc.poll() is None and "RUNNING HANDLER [Reload nginx" in applied
    assert int((portal.folder / "nginx.pid").read_text()) == portal.proc.pid  # reloaded, not restarted

    # the header http gave the servers before they had add_header lines of their own still comes
    served = requests.get(f"http://127.0.0.1:{portal.http}/", timeout=10).headers
    assert served.get("Referrer-Policy") == "no-referrer" and served.get("X-Frame-Options") == "SAMEORIGIN"

    rescan_passes_and_again_changes_nothing(inventory, tmp_path, folder, claimed, then)
    # An edit the server rejects (a directive that does not exist): the file gets its content
    # back and the block fails; the server goes on serving what it served
    rejected_edit_is_put_back(portal, folder, text, files, 'add_header X-Frame-Options "SAMEORIGIN" always;', "readyscan_no_such_directive on;")
