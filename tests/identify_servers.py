"""Real servers on loopback for the identification tests (tests/test_identify.py) and for
recording tests/fixtures/identify/ (record.py there): nginx (plain, TLS, and a Tomcat-manager
stand-in), redis-server with and without requirepass, and lab/listener.py's stand-ins (telnet,
MySQL, unauthenticated Redis, PostgreSQL). Each runs as its own process, stopped by PID."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.tlsservers import ROOT, Nginx, TestPki, stop_process, wait_for_port

# Tomcat's manager application answers /manager/html without credentials with 401 and this
# realm (webapps/manager/WEB-INF/web.xml <realm-name>). No Tomcat here: nginx sends the same
# status and header, so the network path is real while the product is a stand-in.
TOMCAT_STAND_IN = ('location /manager/html { add_header WWW-Authenticate '
                   '\'Basic realm="Tomcat Manager Application"\' always; return 401; }')
INDEX = "<!DOCTYPE html><html><head><title>Cổng dịch vụ công</title></head><body>ok</body></html>\n"


def wait_at(address: str, port: int, proc: subprocess.Popen, timeout: float = 15.0) -> None:
    wait_for_port(port, timeout, proc, address)


class AddressedNginx(Nginx):
    """tests.tlsservers.Nginx listening on another 127/8 address than 127.0.0.1."""

    def __init__(self, folder: Path, servers: list[str], ports: list[int], address: str):
        super().__init__(folder, servers, [])
        self.address, self.wanted = address, ports

    def start(self) -> AddressedNginx:
        super().start()
        try:
            for port in self.wanted:
                wait_at(self.address, port, self.proc)
        except RuntimeError:
            self.stop()
            raise
        return self


def nginx_servers(folder: Path, plain: int, tls: int, tomcat: int, address: str = "127.0.0.1") -> Nginx:
    """One nginx: a plain site on `plain`, the same over TLS on `tls`, the Tomcat stand-in on `tomcat`."""
    pki = TestPki(folder / "pki")
    cert = pki.issue("site", sans=("site.test",))
    www = folder / "www"
    www.mkdir(parents=True, exist_ok=True)
    (www / "index.html").write_text(INDEX, encoding="utf-8")
    servers = [
        f"server {{ listen {address}:{plain}; root {www}; }}",
        f"server {{ listen {address}:{tls} ssl; ssl_certificate {cert.cert}; ssl_certificate_key {cert.key}; "
        f"root {www}; }}",
        f"server {{ listen {address}:{tomcat}; root {www}; {TOMCAT_STAND_IN} }}",
    ]
    if address != "127.0.0.1":
        return AddressedNginx(folder / "nginx", servers, [plain, tls, tomcat], address)
    return Nginx(folder / "nginx", servers, [plain, tls, tomcat])


class Redis:
    """redis-server on bind:port, nothing saved, its own folder; `password` sets requirepass."""

    def __init__(self, folder: Path, port: int, password: str | None = None, bind: str = "127.0.0.1"):
        self.folder, self.port, self.password, self.bind = folder, port, password, bind
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def start(self) -> Redis:
        self.folder.mkdir(parents=True, exist_ok=True)
        argv = ["redis-server", "--bind", self.bind, "--port", str(self.port), "--save", "", "--appendonly", "no",
                "--dir", str(self.folder), "--daemonize", "no", "--logfile", str(self.folder / "redis.log")]
        if self.password:
            argv += ["--requirepass", self.password]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_at(self.bind, self.port, self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


class LabListener:
    """lab/listener.py (read, never edited) serving KIND:PORT pairs; it binds 0.0.0.0, and the
    tests only ever connect to it on 127.0.0.1."""

    def __init__(self, services: dict[str, int]):
        self.services = services
        self.proc: subprocess.Popen | None = None

    def start(self) -> LabListener:
        argv = [sys.executable, str(ROOT / "lab" / "listener.py"), "--hostname", "rslab-test",
                *(f"{kind}:{port}" for kind, port in self.services.items())]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for port in self.services.values():
            wait_for_port(port, proc=self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
