"""Who may give a zone worker work: per-site signing keys, certified by the province's own CA.

Every site (the control side, each zone's worker) signs the tasks it sends with its own RSA key
(Celery's `auth` serializer supports RSA only) and accepts a message only when its signer's
certificate is in its `trusted/` folder. Celery's certificate store does not check who issued a
certificate, so `verify_keys` does, before the worker starts: every trusted certificate must be
issued by the CA, and a folder holding anything else refuses to start.

A site's folder (mode 0700):

    site.key   this site's private key (0600)
    site.pem   its certificate, issued by the CA
    ca.pem     the CA's certificate
    trusted/   the certificates of every site whose tasks this site accepts, its own included

The CA's folder (ca.key, ca.pem) stays on the machine that issues certificates, not on workers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from scanner.app.zones.errors import ZoneSetupError
from scanner.i18n import DEFAULT_LANG, LANGS
from scanner.inventory import NAME_RE

if TYPE_CHECKING:
    from celery import Celery

KEY_BITS = 3072  # RSA, as the auth serializer requires
SIGNING_DIGEST = "sha256"
CA_DAYS = 3650
SITE_DAYS = 825
_SITE_NAME = re.compile(NAME_RE)


@dataclass(frozen=True)
class SiteKeys:
    """Where one site's key, certificate, CA and trusted certificates are."""

    folder: Path

    @property
    def key(self) -> Path:
        return self.folder / "site.key"

    @property
    def cert(self) -> Path:
        return self.folder / "site.pem"

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def trusted(self) -> Path:
        return self.folder / "trusted"


# -- creating keys and certificates ----------------------------------------------------------

def _private_folder(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Create the file with its final mode from the start (a key is never readable by others)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _certificate(subject: str, public_key, issuer: x509.Name | None, signer: rsa.RSAPrivateKey,
                 days: int, is_ca: bool) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "readyscan"),
                      x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(name)
               .issuer_name(issuer or name)
               .public_key(public_key)
               # Celery names a signer by issuer and serial: random serials never collide.
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=0 if is_ca else None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=not is_ca, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False, key_agreement=False,
                                            key_cert_sign=is_ca, crl_sign=is_ca, encipher_only=False,
                                            decipher_only=False), critical=True))
    return builder.sign(signer, hashes.SHA256())


def create_ca(folder: Path, name: str = "readyscan zones CA", days: int = CA_DAYS) -> Path:
    """A new CA in `folder` (ca.key 0600, ca.pem); refuses to overwrite one."""
    _private_folder(folder)
    if (folder / "ca.key").exists():
        raise ZoneSetupError("ca_exists", path=str(folder / "ca.key"))
    key = _new_key()
    cert = _certificate(name, key.public_key(), None, key, days, is_ca=True)
    _write(folder / "ca.key", _key_pem(key), 0o600)
    _write(folder / "ca.pem", cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return folder / "ca.pem"


def issue_site(ca_folder: Path, site: str, folder: Path, days: int = SITE_DAYS) -> SiteKeys:
    """A site's key and certificate issued by the CA in `ca_folder`, laid out in `folder`."""
    if not _SITE_NAME.match(site):
        raise ZoneSetupError("bad_site_name", site=site)
    ca_key = serialization.load_pem_private_key((ca_folder / "ca.key").read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate((ca_folder / "ca.pem").read_bytes())
    keys = SiteKeys(folder)
    _private_folder(folder)
    if keys.key.exists():
        raise ZoneSetupError("site_exists", path=str(keys.key))
    key = _new_key()
    cert = _certificate(site, key.public_key(), ca_cert.subject, ca_key, days, is_ca=False)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    _write(keys.key, _key_pem(key), 0o600)
    _write(keys.cert, pem, 0o644)
    _write(keys.ca, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _private_folder(keys.trusted)
    _write(keys.trusted / f"{site}.pem", pem, 0o644)
    return keys


def issue_sites(root: Path, names: list[str] | tuple[str, ...]) -> dict[str, SiteKeys]:
    """A new CA in root/ca and a site per name in root/<name>, each trusting every other: the
    set-up of docs/zones.md in one call (the lab's demo and the tests)."""
    create_ca(root / "ca")
    sites = {name: issue_site(root / "ca", name, root / name) for name in names}
    for name, site in sites.items():
        for other, theirs in sites.items():
            if other != name:
                trust(site, theirs.cert)
    return sites


def trust(keys: SiteKeys, cert_file: Path) -> Path:
    """Accept tasks signed by another site: its certificate, checked against the CA, joins trusted/."""
    ca_cert = x509.load_pem_x509_certificate(keys.ca.read_bytes())
    cert = _load_cert(cert_file)
    _check_issued(cert, ca_cert, cert_file)
    target = keys.trusted / f"{_common_name(cert)}.pem"
    _write(target, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return target


# -- checking them before a worker starts ----------------------------------------------------

def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    name = str(names[0].value) if names else ""
    return name if _SITE_NAME.match(name) else f"serial-{cert.serial_number:x}"


def _load_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ZoneSetupError("cert_unreadable", path=str(path), reason=str(exc)) from None


def _check_issued(cert: x509.Certificate, ca_cert: x509.Certificate, path: Path) -> None:
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature) as exc:  # InvalidSignature has no message of its own
        raise ZoneSetupError("cert_not_from_ca", path=str(path), reason=type(exc).__name__) from None
    now = dt.datetime.now(dt.UTC)
    if not cert.not_valid_before_utc <= now < cert.not_valid_after_utc:
        raise ZoneSetupError("cert_expired", path=str(path), until=cert.not_valid_after_utc.date().isoformat())
    if not isinstance(cert.public_key(), rsa.RSAPublicKey):
        raise ZoneSetupError("cert_not_rsa", path=str(path))


def _check_private(path: Path, allowed: int) -> None:
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError as exc:
        raise ZoneSetupError("keys_missing", path=str(path), reason=exc.strerror or str(exc)) from None
    if mode & ~allowed & 0o077:
        raise ZoneSetupError("keys_open", path=str(path), mode=f"{mode:04o}")


def verify_keys(keys: SiteKeys) -> list[Path]:
    """Refuse to start on keys others can read, a key that is not its certificate's, or a trusted
    certificate the CA did not issue. Returns the trusted certificates."""
    _check_private(keys.folder, 0o700)
    _check_private(keys.key, 0o600)
    ca_cert = _load_cert(keys.ca)
    own = _load_cert(keys.cert)
    _check_issued(own, ca_cert, keys.cert)
    try:
        key = serialization.load_pem_private_key(keys.key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ZoneSetupError("key_unreadable", path=str(keys.key), reason=str(exc)) from None
    if key.public_key().public_numbers() != own.public_key().public_numbers():
        raise ZoneSetupError("key_not_cert", key_file=str(keys.key), cert_file=str(keys.cert))
    if not keys.trusted.is_dir():
        raise ZoneSetupError("keys_missing", path=str(keys.trusted), reason="not a folder")
    trusted = sorted(p for p in keys.trusted.iterdir())
    for path in trusted:
        # Celery's store reads every file of the folder as a certificate: anything else must go.
        _check_issued(_load_cert(path), ca_cert, path)
    if not trusted:
        raise ZoneSetupError("no_trusted", path=str(keys.trusted))
    return trusted


def install_security(app: Celery, keys: SiteKeys) -> None:
    """Sign what this process sends with its key, accept only what a trusted site signed.

    Celery registers the `auth` serializer in kombu's process-wide registry and disables every
    other decoder: call this before the worker consumes and before the first task is sent."""
    verify_keys(keys)
    app.setup_security(allowed_serializers=None, key=str(keys.key), cert=str(keys.cert),
                       store=str(keys.trusted), digest=SIGNING_DIGEST, serializer="json")


# -- a small command: python -m scanner.app.zones.security ----------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scanner.app.zones.security",
                                     description="readyscan zone keys: CA, site keys, trusted sites")
    parser.add_argument("--lang", choices=LANGS, default=DEFAULT_LANG)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("ca").add_argument("folder", type=Path)
    site = sub.add_parser("site")
    site.add_argument("ca_folder", type=Path)
    site.add_argument("name")
    site.add_argument("folder", type=Path)
    tr = sub.add_parser("trust")
    tr.add_argument("folder", type=Path)
    tr.add_argument("cert", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "ca":
            print(create_ca(args.folder))
        elif args.command == "site":
            print(issue_site(args.ca_folder, args.name, args.folder).folder)
        else:
            print(trust(SiteKeys(args.folder), args.cert))
    except ZoneSetupError as exc:
        print(exc.text(args.lang), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
