"""Facts from the port scan (collector `ports`): what nmap saw on each port of one host.

nmap lists the ports it found interesting one by one and folds the rest into "extraports"
groups (e.g. 997 closed). A declared port that is closed usually lives in such a group, so the
groups are kept and `state_of()` answers for any scanned port, not just the listed ones.

Without -sV, nmap's service name is a guess from the port number. Each open TCP port therefore
also carries `answer`: what the port said to a few harmless questions (collectors/identify.py).
Scan files written before identification existed have no `answer` and still load.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import ClassVar, Literal

from scanner.model import Frozen

Proto = Literal["tcp", "udp"]
OPEN = "open"


def parse_port_spec(spec: str) -> list[int]:
    """'1,3-5,8080' -> [1, 3, 4, 5, 8080] (sorted, unique). Raises ValueError on anything else."""
    ports: set[int] = set()
    for part in spec.split(","):
        first, dash, last = part.strip().partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            raise ValueError(f"not a port or range: {part!r}")
        low, high = int(first), int(last) if dash else int(first)
        if not 1 <= low <= high <= 65535:
            raise ValueError(f"port range out of 1-65535 or reversed: {part!r}")
        ports.update(range(low, high + 1))
    return sorted(ports)


def format_port_spec(ports: Iterable[int]) -> str:
    """[1, 3, 4, 5, 8080] -> '1,3-5,8080': nmap's own compact form."""
    out: list[str] = []
    run: list[int] = []
    for port in sorted(set(ports)):
        if run and port == run[-1] + 1:
            run.append(port)
            continue
        if run:
            out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [port]
    if run:
        out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ",".join(out)


# What identification can name (collectors/identify.py). Checks refer to these names in their
# data files; the list keeps a typo there from silently matching nothing.
PROTOCOLS = ("telnet", "ssh", "ftp", "smtp", "pop3", "imap", "mysql", "postgresql", "redis", "memcached",
             "vnc", "rsync", "http", "tls")
AnswerOutcome = Literal[
    "identified",  # the answer names a protocol (`protocol`)
    "unrecognised",  # the port answered, in a way we do not recognise (`banner` keeps the start)
    "silent",  # connected, but nothing came back to any question within the time allowed
    "refused",  # the connection was refused or reset (the port closed since nmap saw it open)
    "timeout",  # the connection could not be made in time
    "error",  # anything else: `detail` says what
    "interrupted",  # the scan was stopped first
]
Access = Literal[
    "",  # not known / does not apply
    "open",  # answered without credentials (redis +PONG, memcached VERSION, an HTTP 200)
    "auth_required",  # asks for credentials (redis -NOAUTH, HTTP 401, a login page)
    "denied",  # refuses this client whatever it sends (redis -DENIED, mysql 'Host not allowed', HTTP 403)
]


class HttpAnswer(Frozen):
    """What an HTTP request of identification got back (every string is the target's, capped)."""

    path: str = "/"
    tls: bool = False
    status: int
    server: str = ""
    title: str = ""
    realm: str = ""  # WWW-Authenticate realm
    headers: dict[str, str] = {}  # the few headers identification reads (x-jenkins, api-version, ...)


class ServiceAnswer(Frozen):
    """What answered on one open TCP port, and which question made it say so."""

    outcome: AnswerOutcome
    protocol: str = ""  # one of PROTOCOLS when identified
    product: str = ""  # when the answer names one: jenkins, tomcat_manager, webmin, docker, ...
    version: str = ""  # as the server states it, capped
    access: Access = ""
    tls: bool = False  # the deciding answer came over TLS
    probe: str = ""  # the question whose answer decided: banner, redis_ping, http, https, ...
    probes: tuple[str, ...] = ()  # every question asked, in order
    banner: str = ""  # the start of the deciding answer, non-printable bytes as \xNN, capped
    http: tuple[HttpAnswer, ...] = ()
    detail: str = ""


class PortFact(Frozen):
    port: int
    proto: Proto
    state: str  # open | closed | filtered | unfiltered | open|filtered | closed|filtered
    reason: str = ""  # syn-ack, reset, conn-refused, no-response, port-unreach, ...
    service: str = ""  # nmap's service name: from its table, or probed with -sV
    service_method: str = ""  # "table" (guessed from the port number) | "probed"
    product: str = ""
    version: str = ""
    extrainfo: str = ""
    answer: ServiceAnswer | None = None  # open TCP ports: what identification heard (None: not tried)

    @property
    def target(self) -> str:
        return f"{self.port}/{self.proto}"

    @property
    def is_open(self) -> bool:
        return self.state == OPEN


class ExtraReason(Frozen):
    reason: str
    count: int
    ports: str = ""  # nmap >= 7.80 names the ports; older versions leave it empty


class ExtraPorts(Frozen):
    """A group of ports nmap did not list one by one, all in the same state."""

    proto: Proto
    state: str
    count: int
    reasons: tuple[ExtraReason, ...] = ()


class HostPortScan(Frozen):
    """One host's port scan: the ports asked for, how, and what nmap answered."""

    COLLECTOR: ClassVar[str] = "ports"

    address: str
    scanned: dict[str, str]  # proto -> port spec actually passed to nmap, e.g. {"tcp": "1,3-4,..."}
    methods: dict[str, str]  # proto -> nmap scan type: syn | connect | udp
    service_versions: bool = False
    ports: tuple[PortFact, ...] = ()
    extraports: tuple[ExtraPorts, ...] = ()
    command_line: str = ""
    nmap_version: str = ""
    notes: tuple[str, ...] = ()  # e.g. "UDP not scanned: needs root"

    def was_scanned(self, port: int, proto: str) -> bool:
        spec = self.scanned.get(proto)
        return bool(spec) and port in _spec_set(spec)

    def state_of(self, port: int, proto: str) -> PortFact | None:
        """What nmap saw on port/proto, or None when that port was not scanned or nmap's
        output does not say (several extraports groups without port lists)."""
        for fact in self.ports:
            if fact.port == port and fact.proto == proto:
                return fact
        if not self.was_scanned(port, proto):
            return None
        groups = [g for g in self.extraports if g.proto == proto]
        for group in groups:
            for reason in group.reasons:
                if reason.ports and port in _spec_set(reason.ports):
                    return PortFact(port=port, proto=proto, state=group.state, reason=reason.reason)
        if len(groups) == 1 and not any(r.ports for r in groups[0].reasons):
            # Old nmap: one group, no port lists. Every scanned port not listed is in it.
            only = groups[0]
            reason = only.reasons[0].reason if len(only.reasons) == 1 else ""
            return PortFact(port=port, proto=proto, state=only.state, reason=reason)
        return None

    def open_ports(self) -> list[PortFact]:
        return [p for p in self.ports if p.is_open]


@lru_cache(maxsize=64)
def _spec_set(spec: str) -> frozenset[int]:
    # A top1000 spec is consulted once per declared port of every host: parse it once.
    return frozenset(parse_port_spec(spec))
