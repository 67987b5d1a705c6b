"""Facts about SSH servers as the network sees them (collector `sshserver`): the identification
string, the algorithms offered in the server's KEXINIT, and the authentication methods offered
to a client that has not authenticated. Everything here came from the target: untrusted text.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import Field, model_validator

from scanner.facts.endpoint import EndpointError, legacy_ssh_endpoint
from scanner.model import Frozen

# RFC 4253 §4.2: SSH-protoversion-softwareversion SP comments
IDENT_RE = re.compile(r"^SSH-(?P<proto>[^-\s]+)-(?P<software>[^\s]+)(?: (?P<comments>.*))?$")
OPENSSH_RE = re.compile(r"^OpenSSH_(?P<major>\d+)\.(?P<minor>\d+)(?:p(?P<patch>\d+))?")


class Identification(Frozen):
    raw: str  # the version line, CR LF removed, non-ASCII escaped
    protocol: str | None = None  # 2.0 | 1.99 | 1.5 ...
    software: str | None = None  # OpenSSH_9.2p1
    comments: str | None = None  # Debian-2+deb12u3
    product: str | None = None  # OpenSSH
    version: str | None = None  # 9.2p1

    @classmethod
    def parse(cls, line: str) -> Identification:
        m = IDENT_RE.match(line)
        if not m:
            return cls(raw=line)
        software = m.group("software")
        product, _, version = software.partition("_")
        return cls(raw=line, protocol=m.group("proto"), software=software, comments=m.group("comments"),
                   product=product or None, version=version or None)

    @property
    def openssh_version(self) -> tuple[int, int, int] | None:
        """(major, minor, portable patch) for OpenSSH, None for anything else."""
        m = OPENSSH_RE.match(self.software or "")
        if not m:
            return None
        return int(m.group("major")), int(m.group("minor")), int(m.group("patch") or 0)


class KexInit(Frozen):
    """The server's SSH_MSG_KEXINIT name-lists (RFC 4253 §7.1)."""

    kex: tuple[str, ...] = ()
    host_key: tuple[str, ...] = ()
    ciphers_c2s: tuple[str, ...] = ()
    ciphers_s2c: tuple[str, ...] = ()
    macs_c2s: tuple[str, ...] = ()
    macs_s2c: tuple[str, ...] = ()
    compression_c2s: tuple[str, ...] = ()
    compression_s2c: tuple[str, ...] = ()
    languages_c2s: tuple[str, ...] = ()
    languages_s2c: tuple[str, ...] = ()
    first_kex_follows: bool = False

    def by_category(self) -> dict[str, tuple[str, ...]]:
        """Algorithms per category, both directions merged, order kept."""
        def merged(*lists: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(dict.fromkeys(name for lst in lists for name in lst))
        return {"kex": self.kex, "host_key": self.host_key,
                "cipher": merged(self.ciphers_c2s, self.ciphers_s2c),
                "mac": merged(self.macs_c2s, self.macs_s2c),
                "compression": merged(self.compression_c2s, self.compression_s2c)}


class HostKey(Frozen):
    type: str
    sha256: str  # base64, as ssh-keygen -l prints it after "SHA256:"
    bits: int | None = None


class AuthMethods(Frozen):
    """What the server offers a client that has not authenticated (an `none` request for a
    user that does not exist). `methods` is None when they could not be learnt, with `reason`."""

    username: str
    methods: tuple[str, ...] | None = None
    none_accepted: bool = False  # the server let the `none` method through: no authentication at all
    reason: str = ""
    negotiated: dict[str, str] = Field(default_factory=dict)  # what paramiko agreed on when it got that far
    host_key: HostKey | None = None


class SshEndpoint(Frozen):
    port: int
    address: str
    error: EndpointError | None = None  # the probe could not read this endpoint: no facts below
    seen_from: str | None = None  # scans from several zones: the zone these facts were read from
    identification: Identification | None = None
    pre_banner_lines: tuple[str, ...] = ()  # lines the server sent before its version line (kept capped)
    kexinit: KexInit | None = None
    auth: AuthMethods | None = None
    seconds: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        return legacy_ssh_endpoint(data)  # outcome + detail, as readyscan 0.1.0 wrote them

    @property
    def target(self) -> str:
        return f"{self.port}/tcp"


class SshServers(Frozen):
    """Every declared `kind: ssh` service of one host."""

    COLLECTOR: ClassVar[str] = "sshserver"

    endpoints: tuple[SshEndpoint, ...] = ()
    timeout_seconds: float | None = None
    client_ident: str = ""

