"""The unit's Ed25519 key: made once by `readyscan keygen`, used by `readyscan pack` for both
signatures of an evidence pack, read back by `readyscan verify`.

One Ed25519 seed serves both formats: securesystemslib signs the DSSE envelope with it
(CryptoSigner over a pyca/cryptography key), and py-minisign signs SHA256SUMS with the same raw
seed, so the minisign public key and the securesystemslib public key are two spellings of one key
and either file lets `verify` check both signatures. The private key is a PKCS#8 PEM file, mode
0600, encrypted when a passphrase is given (read from an environment variable, never argv).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import minisign
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from minisign.minisign import KeynumPK, KeynumSK, SignatureAlgorithm
from securesystemslib.signer import CryptoSigner, SSlibKey

PRIVATE_NAME = "readyscan.key"
SSLIB_PUB_NAME = "readyscan.pub.json"
MINISIGN_PUB_NAME = "readyscan.minisign.pub"


class KeyFileError(Exception):
    """A key file that cannot be read or is not an Ed25519 key (a catalog key and its params)."""

    def __init__(self, key: str, **params):
        super().__init__(key)
        self.key, self.params = key, params


def _raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def minisign_key_id(raw_public: bytes) -> bytes:
    """minisign's 8-byte key id. minisign picks it at random; deriving it from the public key
    keeps one seed = one identity, so a key id seen in a signature names exactly this key."""
    return hashlib.sha256(b"readyscan minisign key id" + raw_public).digest()[:8]


def sslib_key(public: Ed25519PublicKey) -> SSlibKey:
    return SSlibKey.from_crypto(public, scheme="ed25519")


def minisign_public(public: Ed25519PublicKey) -> minisign.PublicKey:
    raw = _raw_public(public)
    key_id = minisign_key_id(raw)
    return minisign.PublicKey(
        _untrusted_comment=f"untrusted comment: readyscan minisign public key {key_id.hex().upper()}",
        _signature_algorithm=SignatureAlgorithm.PURE_ED_DSA,
        _keynum_pk=KeynumPK(key_id=key_id, public_key=raw))


@dataclass(frozen=True)
class UnitKey:
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def dsse_signer(self) -> CryptoSigner:
        return CryptoSigner(self.private, sslib_key(self.public))

    def minisign_secret(self) -> minisign.SecretKey:
        """An in-memory minisign secret key of the same seed (never written: minisign's own
        file format is not needed, readyscan signs). The KDF fields only fill the record: they
        matter when a minisign key file is encrypted, and this one is never serialized."""
        seed = self.private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                          serialization.NoEncryption())
        raw = _raw_public(self.public)
        sk = minisign.SecretKey(
            _untrusted_comment="untrusted comment: readyscan", _signature_algorithm=SignatureAlgorithm.PURE_ED_DSA,
            _kdf_algorithm=minisign.minisign.KDFAlgorithm.SCRYPT, _cksum_algorithm=minisign.minisign.CksumAlgorithm.BLAKE2b,
            _kdf_salt=bytes(32), _kdf_opslimit=0, _kdf_memlimit=0,
            _keynum_sk=KeynumSK(key_id=bytearray(minisign_key_id(raw)), secret_key=bytearray(seed),
                                public_key=bytearray(raw), checksum=bytearray(32)))
        return sk


def generate(out: Path, passphrase: str | None) -> list[Path]:
    """Write a new key pair into `out`; refuse when any of its files exists. The paths written."""
    private_path, sslib_path, mini_path = out / PRIVATE_NAME, out / SSLIB_PUB_NAME, out / MINISIGN_PUB_NAME
    existing = [p for p in (private_path, sslib_path, mini_path) if p.exists()]
    if existing:
        raise KeyFileError("keygen_exists", path=str(existing[0]))
    out.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    encryption = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
                  else serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    # O_EXCL: never over an existing key, even one made between the check above and now.
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.chmod(private_path, 0o600)  # whatever the umask
    public = key.public_key()
    sslib = sslib_key(public)
    sslib_path.write_text(json.dumps({"keyid": sslib.keyid, **sslib.to_dict()}, indent=1) + "\n", encoding="utf-8")
    mini = minisign_public(public)
    mini_path.write_bytes(bytes(mini) + b"\n")
    return [private_path, sslib_path, mini_path]


def load_private(path: Path, passphrase: str | None) -> UnitKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError("key_unreadable", path=str(path), reason=exc.strerror or str(exc)) from None
    try:
        key = serialization.load_pem_private_key(data, passphrase.encode() if passphrase else None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError("key_invalid", path=str(path), reason=str(exc)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError("key_invalid", path=str(path), reason="not an Ed25519 key")
    return UnitKey(key)


def load_public(path: Path) -> Ed25519PublicKey:
    """A public key in either form keygen writes: securesystemslib JSON or minisign .pub."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError("key_unreadable", path=str(path), reason=exc.strerror or str(exc)) from None
    try:
        if data.lstrip().startswith(b"{"):
            doc = json.loads(data)
            sslib = SSlibKey.from_dict(doc.get("keyid", ""), {k: v for k, v in doc.items() if k != "keyid"})
            if sslib.keytype != "ed25519":
                raise ValueError("not an Ed25519 key")
            return Ed25519PublicKey.from_public_bytes(bytes.fromhex(sslib.keyval["public"]))
        mini = minisign.PublicKey.from_bytes(data)
        return Ed25519PublicKey.from_public_bytes(bytes(mini._keynum_pk.public_key))
    except (ValueError, KeyError, TypeError, minisign.Error) as exc:
        raise KeyFileError("key_invalid", path=str(path), reason=str(exc) or type(exc).__name__) from None
