"""Keys and certificates of the lab, made with the openssl and ssh-keygen command-line tools.

One lab CA (``.state/ca.pem``, what the inventory names as ``scan.ca_bundle``), one client key
for the scanning user, fresh SSH host keys per host, and per-host server certificates of the
kinds described in ``profiles.CERTIFICATES`` (current, 1024-bit/SHA-1, expired, self-signed,
wrong name).
"""
import datetime
import os
import secrets
import subprocess
import tempfile
from pathlib import Path

from .hosts import LabError, LabHost
from .layout import ADMIN_PASSWORD, ADMIN_PASSWORD_HASH, CA_CERT, CA_KEY, CLIENT_KEY, SCAN_USER
from .profiles import CERTIFICATES, WRONG_NAME

CA_SUBJECT = "/C=VN/O=readyscan lab/CN=readyscan lab CA"
CA_DAYS = 3650
LEAF_DAYS = 397          # the CA/Browser-forum maximum; far beyond any "expiring" warning window
EXPIRED_AGO_DAYS = 30    # the expired certificate ran out this long ago
EXPIRED_LIFETIME_DAYS = 365
SSH_KEY_BITS = {"rsa": 2048, "ecdsa": 256}


def run(argv: list[str], cwd: Path | None = None) -> str:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LabError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


# --- CA and client key (shared by all hosts, kept across `up` runs) ---------------------------
def ensure_ca() -> bool:
    """Create the lab CA unless it exists; return True when a new one was made."""
    if CA_CERT.exists() and CA_KEY.exists():
        return False
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
         "-keyout", str(CA_KEY), "-out", str(CA_CERT), "-days", str(CA_DAYS), "-subj", CA_SUBJECT,
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    os.chmod(CA_KEY, 0o600)
    os.chmod(CA_CERT, 0o644)
    return True


def ensure_client_key() -> bool:
    if CLIENT_KEY.exists() and CLIENT_KEY.with_suffix(".pub").exists():
        return False
    CLIENT_KEY.unlink(missing_ok=True)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{SCAN_USER}@readyscan-lab",
         "-f", str(CLIENT_KEY)])
    return True


def ensure_admin_password() -> bool:
    """rsadmin's sudo password, made once: random, kept 0600 in .state; the hosts get only its
    hash (`openssl passwd -6` from stdin, so the password is on no command line)."""
    if ADMIN_PASSWORD.exists() and ADMIN_PASSWORD_HASH.exists():
        return False
    password = secrets.token_urlsafe(18)
    hashed = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password + "\n",
                            capture_output=True, text=True, check=True).stdout.strip()
    for path, text in ((ADMIN_PASSWORD, password + "\n"), (ADMIN_PASSWORD_HASH, hashed + "\n")):
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
    return True


def admin_password_hash() -> str:
    return ADMIN_PASSWORD_HASH.read_text().strip()


def client_public_key() -> str:
    return CLIENT_KEY.with_suffix(".pub").read_text()


# --- SSH host keys ----------------------------------------------------------------------------
def make_ssh_host_key(kind: str, path: Path, host: LabHost) -> None:
    argv = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", f"root@{host.name}", "-f", str(path)]
    if kind in SSH_KEY_BITS:
        argv[4:4] = ["-b", str(SSH_KEY_BITS[kind])]
    run(argv)
    os.chmod(path, 0o600)


def known_hosts_lines(address: str, public_key_files: list[Path]) -> list[str]:
    """``address keytype base64`` lines (no comment), as paramiko and OpenSSH read them."""
    lines = []
    for path in public_key_files:
        key_type, key_data = path.read_text().split()[:2]
        lines.append(f"{address} {key_type} {key_data}")
    return lines


# --- server certificates ----------------------------------------------------------------------
def make_server_certificate(kind: str, host: LabHost, out_dir: Path) -> tuple[Path, Path]:
    """Write ``<kind>.key`` and ``<kind>.crt`` for ``host`` into ``out_dir``."""
    spec = CERTIFICATES[kind]
    key, crt = out_dir / f"{kind}.key", out_dir / f"{kind}.crt"
    names = [host.fqdn] if spec["names"] == "own" else [WRONG_NAME]
    alt_names = ",".join([f"DNS:{name}" for name in names]
                         + ([f"IP:{host.address}"] if spec["names"] == "own" else []))
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        tmp_dir = Path(tmp)
        run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{spec['bits']}",
             "-out", str(key)])
        os.chmod(key, 0o600)
        csr = tmp_dir / "req.csr"
        run(["openssl", "req", "-new", "-key", str(key), "-subj", f"/O=readyscan lab/CN={names[0]}",
             "-out", str(csr)])
        ext = tmp_dir / "ext.cnf"
        ext.write_text(leaf_extensions(alt_names, self_signed=spec["issuer"] == "self"))
        if spec["issuer"] == "self":
            run(["openssl", "x509", "-req", "-in", str(csr), "-signkey", str(key),
                 f"-{spec['digest']}", "-days", str(LEAF_DAYS), "-extfile", str(ext),
                 "-set_serial", random_serial(), "-out", str(crt)])
        elif spec["valid"] == "expired":
            sign_with_dates(csr, ext, crt, tmp_dir, spec["digest"])
        else:
            run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(CA_CERT),
                 "-CAkey", str(CA_KEY), f"-{spec['digest']}", "-days", str(LEAF_DAYS),
                 "-extfile", str(ext), "-set_serial", random_serial(), "-out", str(crt)])
    os.chmod(crt, 0o644)
    return key, crt


def make_dh_parameters(bits: int, path: Path) -> None:
    # DSA-style generation takes milliseconds where a safe prime of this size takes seconds.
    run(["openssl", "dhparam", "-dsaparam", "-out", str(path), str(bits)])


def leaf_extensions(alt_names: str, self_signed: bool) -> str:
    lines = ["basicConstraints=critical,CA:FALSE",
             "keyUsage=critical,digitalSignature,keyEncipherment",
             "extendedKeyUsage=serverAuth",
             f"subjectAltName={alt_names}",
             "subjectKeyIdentifier=hash"]
    if not self_signed:
        lines.append("authorityKeyIdentifier=keyid:always")
    return "\n".join(lines) + "\n"


def random_serial() -> str:
    # Random serials, not a shared serial file: hosts are built in parallel.
    return "0x" + secrets.token_hex(16)


def sign_with_dates(csr: Path, ext: Path, crt: Path, tmp_dir: Path, digest: str) -> None:
    """Issue from the lab CA with a validity window in the past.

    OpenSSL 3.0's ``x509 -req`` has no -not_before/-not_after and ``-days`` cannot be negative;
    ``openssl ca`` takes explicit -startdate/-enddate, so a throwaway CA database is used.
    """
    now = datetime.datetime.now(datetime.UTC)
    end = now - datetime.timedelta(days=EXPIRED_AGO_DAYS)
    start = end - datetime.timedelta(days=EXPIRED_LIFETIME_DAYS)
    (tmp_dir / "index.txt").write_text("")
    (tmp_dir / "serial").write_text(secrets.token_hex(16).upper() + "\n")
    config = tmp_dir / "ca.cnf"
    config.write_text(
        "[ca]\ndefault_ca = lab\n\n"
        f"[lab]\ndatabase = {tmp_dir / 'index.txt'}\nnew_certs_dir = {tmp_dir}\n"
        f"serial = {tmp_dir / 'serial'}\ndefault_md = {digest}\npolicy = any\n"
        "unique_subject = no\ncopy_extensions = none\n\n"
        "[any]\norganizationName = optional\ncommonName = supplied\n")
    run(["openssl", "ca", "-batch", "-notext", "-config", str(config),
         "-cert", str(CA_CERT), "-keyfile", str(CA_KEY), "-in", str(csr), "-out", str(crt),
         "-extfile", str(ext), "-md", digest,
         "-startdate", start.strftime("%Y%m%d%H%M%SZ"), "-enddate", end.strftime("%Y%m%d%H%M%SZ")])
