"""Real OpenSSH servers on loopback for tests: own host key, own config, ended by PID."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
# sshd's privilege-separation directory (compiled in). systemd creates it when ssh.service starts
# (RuntimeDirectory=sshd); on a machine where sshd never ran it is missing, and `sshd -T`, `-t`
# and `-D` all exit 255 with "Missing privilege separation directory: /run/sshd".
PRIVSEP_DIR = Path("/run/sshd")


def ensure_privsep_dir() -> None:
    """What ssh.service does before sshd starts: every test that runs sshd calls this first."""
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)


def need_root_sshd() -> None:
    if os.geteuid() != 0:
        pytest.skip("a real sshd on loopback needs root (privilege separation)")
    if not Path(SSHD).exists():
        pytest.skip("openssh-server is not installed (make install)")


def keygen(path: Path, kind: str = "ed25519", passphrase: str = "") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-f", str(path)], check=True)
    return path


def wait_port(host: str, port: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {host}:{port}")


@dataclass
class Sshd:
    address: str
    port: int
    dir: Path
    host_key: Path
    proc: subprocess.Popen

    def known_hosts_line(self) -> str:
        pub = (self.host_key.with_suffix(".pub")).read_text().split()
        name = self.address if self.port == 22 else f"[{self.address}]:{self.port}"
        return f"{name} {pub[0]} {pub[1]}\n"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_sshd(workdir: Path, port: int, authorized_keys: list[Path], *, address: str = "127.0.0.1",
               extra: str = "") -> Sshd:
    need_root_sshd()
    workdir.mkdir(parents=True, exist_ok=True)
    ensure_privsep_dir()
    host_key = keygen(workdir / "host_ed25519")
    auth = workdir / "authorized_keys"
    auth.write_text("".join(k.with_suffix(".pub").read_text() for k in authorized_keys))
    config = workdir / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress {address}\nHostKey {host_key}\nPidFile {workdir}/sshd.pid\n"
        f"AuthorizedKeysFile {auth}\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nAllowTcpForwarding yes\n"
        f"LogLevel ERROR\n{extra}")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL,
                            stderr=open(workdir / "sshd.log", "wb"))
    try:
        wait_port(address, port)
    except RuntimeError:
        proc.kill()
        proc.wait()
        raise RuntimeError((workdir / "sshd.log").read_text()) from None
    # sshd listens before it writes its PID file: a test that signals it by that file waits for it
    pidfile, deadline = workdir / "sshd.pid", time.monotonic() + 10
    while not (pidfile.exists() and pidfile.read_text().strip()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"sshd wrote no PID file: {(workdir / 'sshd.log').read_text()}")
        time.sleep(0.05)
    return Sshd(address, port, workdir, host_key, proc)
