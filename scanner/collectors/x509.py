"""Certificates as facts, the name they must match, and whether a trust store trusts their chain:
pure functions over `cryptography` objects (and sslyze's trust stores, which only compute)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from scanner.collectors.endpoints import cap
from scanner.facts.tls import Certificate


def hostname_matches(name: str, dns_names: tuple[str, ...], ip_addresses: tuple[str, ...]) -> bool | None:
    """RFC 6125 matching against subjectAltName only (no CN fallback, as browsers do); a wildcard
    stands for exactly one whole left-most label."""
    if not name:
        return None
    try:
        wanted = ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return any(_same_ip(wanted, ip) for ip in ip_addresses)
    name = name.rstrip(".").lower()
    for pattern in dns_names:
        pattern = pattern.rstrip(".").lower()
        if pattern == name:
            return True
        if pattern.startswith("*.") and "*" not in pattern[2:]:
            label, _, rest = name.partition(".")
            if label and rest == pattern[2:]:
                return True
    return False


def _same_ip(wanted: ipaddress.IPv4Address | ipaddress.IPv6Address, text: str) -> bool:
    try:
        return ipaddress.ip_address(text) == wanted
    except ValueError:
        return False


def certificate_fact(cert) -> Certificate:
    def ext(cls):
        try:
            return cert.extensions.get_extension_for_class(cls).value
        except (x509.ExtensionNotFound, ValueError):
            return None

    san = ext(x509.SubjectAlternativeName)
    constraints = ext(x509.BasicConstraints)
    try:
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        common_name = cap(cns[0].value) if cns else None
    except ValueError:
        common_name = None
    key = cert.public_key()
    key_type, bits, curve = type(key).__name__, None, None
    if isinstance(key, rsa.RSAPublicKey):
        key_type, bits = "RSA", key.key_size
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_type, bits, curve = "EC", key.curve.key_size, key.curve.name
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key_type, bits = "Ed25519", 256
    elif isinstance(key, ed448.Ed448PublicKey):
        key_type, bits = "Ed448", 456
    elif isinstance(key, dsa.DSAPublicKey):
        key_type, bits = "DSA", key.key_size
    try:
        algorithm = cert.signature_hash_algorithm
        signature_hash = algorithm.name if algorithm else None
    except Exception:  # an algorithm cryptography does not know: keep its OID
        signature_hash = cert.signature_algorithm_oid.dotted_string
    self_signed = False
    if cert.issuer == cert.subject:
        try:
            cert.verify_directly_issued_by(cert)
            self_signed = True
        except Exception:
            self_signed = False
    return Certificate(
        subject=cap(cert.subject.rfc4514_string()), issuer=cap(cert.issuer.rfc4514_string()),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        dns_names=tuple(cap(n, 256) for n in san.get_values_for_type(x509.DNSName))[:100] if san else (),
        ip_addresses=tuple(str(i) for i in san.get_values_for_type(x509.IPAddress))[:100] if san else (),
        common_name=common_name, public_key_type=key_type, public_key_bits=bits, curve=curve,
        signature_hash=signature_hash, self_signed=self_signed,
        is_ca=bool(constraints and constraints.ca), sha256=cert.fingerprint(hashes.SHA256()).hex(),
    )


def _validation_moment(chain: list, now: dt.datetime) -> dt.datetime:
    """The moment nearest to `now` at which every received certificate is within its dates (the
    leaf's alone if their dates do not overlap)."""
    second = dt.timedelta(seconds=1)
    lo = max(c.not_valid_before_utc for c in chain) + second
    hi = min(c.not_valid_after_utc for c in chain) - second
    if lo > hi:
        lo, hi = chain[0].not_valid_before_utc + second, chain[0].not_valid_after_utc - second
    return min(max(now, lo), hi)


def chain_trust(chain: list, stores: list, server_name: str, now: dt.datetime) -> tuple[bool, tuple[str, ...]]:
    """Whether any store trusts the received chain, apart from the name and the dates: validate
    against one of the leaf's own names at the moment nearest to now when the chain is in its dates."""
    leaf = certificate_fact(chain[0])
    subject: Any
    if leaf.dns_names:
        subject = x509.DNSName(leaf.dns_names[0].replace("*", "wildcard", 1))
    elif leaf.ip_addresses:
        subject = x509.IPAddress(ipaddress.ip_address(leaf.ip_addresses[0]))
    else:  # no SAN at all: nothing else to validate against than the name we asked for
        try:
            subject = x509.IPAddress(ipaddress.ip_address(server_name))
        except ValueError:
            subject = x509.DNSName(server_name)
    pems = [c.public_bytes(Encoding.PEM).decode("ascii") for c in chain]
    moment = _validation_moment(chain, now)
    errors = []
    for store in stores:
        try:
            result = store.verify_certificate_chain(pems, subject, validation_time=moment)
        except Exception as exc:
            errors.append(cap(f"{store.name}: {type(exc).__name__}: {exc}"))
            continue
        if result.was_validation_successful:
            return True, ()
        errors.append(cap(f"{store.name}: {result.validation_error}"))
    return False, tuple(errors)
