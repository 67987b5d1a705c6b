"""The evidence pack for the inspectors: one tar.gz with the scan file, its reports, the raw
probe outputs, SHA256SUMS (GNU `sha256sum -c` format, minisign-signed) and an in-toto Statement
v1 in a DSSE envelope naming every file by its SHA-256.

tar.gz rather than zip: the standard library writes it byte-for-byte reproducibly (fixed owner,
mode and time), it keeps the file modes, and the tools an inspector checks it with (`tar`,
`sha256sum`, `minisign`) sit together on any Linux. Everything lives under one fixed top folder,
so SHA256SUMS is checked from inside it: `cd readyscan-evidence && sha256sum -c SHA256SUMS`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError

from scanner import __version__
from scanner.app import signing
from scanner.model import utcnow
from scanner.scanfile import ScanFile

TOP = "readyscan-evidence"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
# Our own predicate: what is documented in README.md ("Evidence pack"); v1 changes only with
# an incompatible change of the predicate's fields.
PREDICATE_TYPE = "https://readyscan.example/evidence-pack/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT = "statement.dsse.json"
SUMS = "SHA256SUMS"
SUMS_SIG = "SHA256SUMS.minisig"
META = (STATEMENT, SUMS, SUMS_SIG)
WITHHELD = "[readyscan: line withheld, it looked like a password hash or a secret value]"

# Second line of defence: the probes mask secrets on the host (hostprobes/frames.py REDACT_SED)
# and classify /etc/shadow without its hashes (hostprobes/accounts.py). A line that still looks
# like a crypt(3) hash ($id$salt$hash, e.g. $6$, $y$j9T$, $2b$12$) or a secret-named key with a
# value that is not the host's "***" mask is not copied into the raw outputs.
_HASH = re.compile(r"\$[0-9a-z]{1,8}\$[^\s:$]*\$[./A-Za-z0-9$]{8,}")
# sudoers' NOPASSWD:/PASSWD: tags are syntax, not a key with a value.
_SECRET_VALUE = re.compile(
    r"(?i)(?<![A-Za-z0-9_.-])(?!(?-i:(?:NO)?PASSWD):)[A-Za-z0-9_.-]*(pass|pwd|secret|token|credential|api[_-]?key|access_?key)[A-Za-z0-9_.-]*"
    r"[\"']?\s*[=:]\s*(?![\"']?\*\*\*)[^\s,;]")


class PackError(Exception):
    """Not a pack, or one that cannot be read (a catalog key and its params)."""

    def __init__(self, key: str, **params):
        super().__init__(key)
        self.key, self.params = key, params


def without_secrets(text: str) -> tuple[str, int]:
    """`text` with each secret-looking line replaced by a marker; how many were replaced."""
    kept, withheld = [], 0
    for line in text.splitlines():
        if _HASH.search(line) or _SECRET_VALUE.search(line):
            kept.append(WITHHELD)
            withheld += 1
        else:
            kept.append(line)
    return "\n".join(kept) + ("\n" if kept else ""), withheld


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).strip(".") or "_"


def raw_outputs(scan: ScanFile) -> tuple[dict[str, bytes], int]:
    """raw/<host>/<probe>.txt for each command output the host probes recorded; lines withheld."""
    files: dict[str, bytes] = {}
    withheld = 0
    for host, rec in sorted(scan.hosts.items()):
        for collector, obs in sorted(rec.observations.items()):
            for command in obs.data.get("commands") or []:
                if not isinstance(command, dict) or not isinstance(command.get("output"), str):
                    continue
                base = f"raw/{_safe(host)}/{_safe(str(command.get('name') or collector))}"
                name, n = f"{base}.txt", 1
                while name in files:
                    n += 1
                    name = f"{base}-{n}.txt"
                text, count = without_secrets(command["output"])
                files[name] = text.encode("utf-8")
                withheld += count
    return files, withheld


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def catalog_digest() -> dict:
    """The check catalog the verdicts came from: the registry's ids and the digests of the
    catalog's text and data files, hashed together as canonical JSON."""
    import checks
    from checks import default_registry

    root = Path(checks.__file__).parent
    files = {f"checks/{p.relative_to(root).as_posix()}": sha256(p.read_bytes())
             for p in sorted([*root.glob("text/*.yaml"), *root.glob("data/*.yaml")])}
    ids = sorted(c.id for c in default_registry())
    canonical = json.dumps({"checks": ids, "files": files}, sort_keys=True, separators=(",", ":"))
    return {"sha256": sha256(canonical.encode()), "checks": len(ids), "files": files}


def statement(subjects: dict[str, bytes], scan: ScanFile, operator: str, withheld: int) -> dict:
    org = (scan.inventory.data.get("organization") or {}).get("name")
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": sha256(data)}} for name, data in sorted(subjects.items())],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "tool": {"name": "readyscan", "version": __version__, "scanVersion": scan.tool.version},
            "operator": operator,
            "organization": org,
            "targets": [{"name": name, "address": rec.address, "zone": rec.zone}
                        for name, rec in sorted(scan.hosts.items())],
            "scan": {"started": scan.started.isoformat(), "ended": scan.ended.isoformat() if scan.ended else None,
                     "complete": scan.complete, "inventoryDigest": scan.inventory.digest,
                     "checksSelected": len(scan.checks_selected)},
            "checkCatalog": catalog_digest(),
            "rawLinesWithheld": withheld,
            "packedAt": utcnow().isoformat(),
        },
    }


def sums_text(files: dict[str, bytes]) -> bytes:
    """GNU coreutils format: digest, two spaces (text mode), the name."""
    return "".join(f"{sha256(data)}  {name}\n" for name, data in sorted(files.items())).encode()


def build(scan: ScanFile, contents: dict[str, bytes], key: signing.UnitKey, operator: str,
          withheld: int) -> dict[str, bytes]:
    """Every file of the pack, by its name inside the top folder."""
    stmt = statement(contents, scan, operator, withheld)
    payload = json.dumps(stmt, indent=1, ensure_ascii=False).encode("utf-8")
    envelope = Envelope(payload=payload, payload_type=PAYLOAD_TYPE, signatures={})
    envelope.sign(key.dsse_signer())
    files = {**contents, STATEMENT: (json.dumps(envelope.to_dict(), indent=1) + "\n").encode()}
    sums = sums_text(files)
    signature = key.minisign_secret().sign(
        sums, trusted_comment=f"readyscan evidence pack, scan {scan.started.isoformat()}, operator {operator}")
    return {**files, SUMS: sums, SUMS_SIG: bytes(signature) + b"\n"}


def archive(files: dict[str, bytes], mtime: int) -> bytes:
    """The tar.gz bytes: same files, same bytes (fixed owner, mode, times, gzip header)."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=mtime) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(f"{TOP}/{name}")
            info.size, info.mtime, info.mode = len(data), mtime, 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def read(path: Path) -> dict[str, bytes]:
    """The files of a pack by their names inside the top folder; PackError when it is not one."""
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for member in tar:
                if member.isdir():
                    continue
                parts = member.name.split("/")
                if not member.isfile() or parts[0] != TOP or len(parts) < 2 or ".." in parts or "" in parts[1:]:
                    raise PackError("pack_unexpected_member", member=member.name)
                files["/".join(parts[1:])] = tar.extractfile(member).read()
    except OSError as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise PackError("pack_unreadable", path=str(path), reason=exc.strerror or str(exc)) from None
        raise PackError("pack_not_a_pack", path=str(path)) from None
    except (tarfile.TarError, EOFError, zlib.error):
        raise PackError("pack_not_a_pack", path=str(path)) from None
    if STATEMENT not in files and SUMS not in files:
        raise PackError("pack_not_a_pack", path=str(path))
    return files


@dataclass
class Verdict:
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # catalog keys: manifests absent, unreadable, disagreeing
    dsse: bool | None = None  # None: not checked (no trusted key given)
    minisign: bool | None = None

    @property
    def intact(self) -> bool:
        return not (self.changed or self.missing or self.added or self.problems) and \
            self.dsse is not False and self.minisign is not False


def _parse_sums(data: bytes) -> dict[str, str] | None:
    entries = {}
    for line in data.decode("utf-8", "replace").splitlines():
        match = re.fullmatch(r"([0-9a-f]{64}) [ *](.+)", line)
        if not match:
            return None
        entries[match.group(2)] = match.group(1)
    return entries


def _parse_statement(data: bytes) -> tuple[Envelope, dict[str, str]] | None:
    try:
        envelope = Envelope.from_dict(json.loads(data))
        stmt = json.loads(envelope.payload)
        if envelope.payload_type != PAYLOAD_TYPE or stmt.get("_type") != STATEMENT_TYPE or \
                stmt.get("predicateType") != PREDICATE_TYPE:
            return None
        return envelope, {s["name"]: s["digest"]["sha256"] for s in stmt["subject"]}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def verify(files: dict[str, bytes], public=None) -> Verdict:
    """Compare the files with both manifests and, given a trusted public key, check both
    signatures. Each manifest is checked on its own: an edit of one without re-signing shows as
    a disagreement even when no key is given."""
    verdict = Verdict()
    sums = _parse_sums(files[SUMS]) if SUMS in files else None
    parsed = _parse_statement(files[STATEMENT]) if STATEMENT in files else None
    if SUMS not in files:
        verdict.problems.append("verify_sums_missing")
    elif sums is None:
        verdict.problems.append("verify_sums_unreadable")
    if STATEMENT not in files:
        verdict.problems.append("verify_statement_missing")
    elif parsed is None:
        verdict.problems.append("verify_statement_unreadable")
    subjects = parsed[1] if parsed else None
    manifests = [m for m in (sums, subjects) if m is not None]
    listed = set().union(*manifests) if manifests else set()
    for name in sorted(listed):
        if name not in files:
            verdict.missing.append(name)
        elif any(name in m and m[name] != sha256(files[name]) for m in manifests):
            verdict.changed.append(name)
    content = {n for n in files if n not in META}
    for name in sorted(content):
        if any(name not in m for m in manifests):
            verdict.added.append(name)
    if sums is not None and subjects is not None and \
            {n: d for n, d in sums.items() if n != STATEMENT} != subjects:
        verdict.problems.append("verify_manifests_disagree")
    if public is not None:
        verdict.dsse = parsed is not None and _dsse_holds(parsed[0], public)
        verdict.minisign = SUMS in files and SUMS_SIG in files and _minisign_holds(files[SUMS], files[SUMS_SIG], public)
    return verdict


def _dsse_holds(envelope: Envelope, public) -> bool:
    try:
        envelope.verify([signing.sslib_key(public)], 1)
        return True
    except VerificationError:
        return False


def _minisign_holds(sums: bytes, sig: bytes, public) -> bool:
    import minisign

    try:
        signing.minisign_public(public).verify(sums, minisign.Signature.from_bytes(sig))
        return True
    except (minisign.Error, ValueError):
        return False

