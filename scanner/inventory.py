"""The inventory: typed model, strict validation with file:line errors, and loading.

The format is documented in docs/inventory.md. Unknown keys are errors: a typo must not
silently switch a check off.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from scanner.validation import Issue, ValidationFailed, read_text, validate_text

NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"
ENV_NAME_RE = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
# A DNS name, never something nmap or ssh could read as an option.
HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")
PORT_SPEC_RE = re.compile(r"^(top100|top1000|\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*)$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _yes_no(value: Any) -> Any:
    # YAML 1.1 reads bare yes/no as booleans; accept both spellings.
    if isinstance(value, str) and value.lower() in ("yes", "no", "true", "false", "có", "không"):
        return value.lower() in ("yes", "true", "có")
    return value


YesNo = Annotated[bool, Field(description="yes | no")]
# YAML reads an unquoted phone number as an int: keep it as the text that was written.
Phone = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) and not isinstance(v, bool) else v)]


class Declaration(Strict):
    """A survey answer the unit declares (policy or solution): shown as declared, never verified."""

    status: YesNo
    document: str | None = None
    date: dt.date | None = None
    details: str | None = None
    product: str | None = None
    hosts: list[str] = Field(default_factory=list)

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> Any:
        return _yes_no(value)

    @field_validator("document", "details", "product", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


class SecurityUnit(Declaration):
    kind: Literal["own", "assigned", "outsourced"] | None = None
    headcount: int | None = Field(default=None, ge=0, le=100_000)


class Contact(Strict):
    name: str | None = None
    phone: Phone | None = None
    email: str | None = None


class Organization(Strict):
    name: str = Field(min_length=1, max_length=300)
    contact: Contact | None = None
    security_unit: SecurityUnit | None = None


class Policies(Strict):
    network: Declaration | None = None  # XI.2.1.1
    servers: Declaration | None = None  # XI.2.1.2
    data: Declaration | None = None  # XI.2.1.3
    endpoints: Declaration | None = None  # XI.2.1.4
    datacenter_access: Declaration | None = None  # XI.2.1.5
    accounts: Declaration | None = None  # XI.2.1.6
    monitoring: Declaration | None = None  # XI.2.2
    incident_response: Declaration | None = None  # XI.2.3
    other: Declaration | None = None  # XI.2.4


class Solutions(Strict):
    siem_soc: Declaration | None = None  # XI.3.6.1
    jump_host: Declaration | None = None  # XI.3.6.2
    dlp: Declaration | None = None  # XI.3.6.3
    db_firewall: Declaration | None = None  # XI.3.6.4
    pam: Declaration | None = None  # XI.3.6.5
    other: Declaration | None = None  # XI.3.6.6


# The roles of the security-product table (checks/monitoring.py Role; a test keeps them equal).
ProductRole = Literal["antimalware", "edr", "hids", "ids", "ips", "siem", "log_shipper", "management"]
PRODUCT_ID_RE = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
# A process name: the kernel's comm (15 characters) or argv[0]'s base name. No globs: a rule
# must name the product's own processes, never match everything.
PROCESS_NAME_RE = re.compile(r"^[^\s/*?\[\]]{1,255}$")
PACKAGE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._~-]{0,127}$")
# Directories every host's ordinary programs live in: a product cannot be recognised by them.
SHARED_DIRS = frozenset({
    "/usr/bin/", "/usr/sbin/", "/usr/lib/", "/usr/lib64/", "/usr/libexec/", "/usr/share/", "/usr/local/bin/",
    "/usr/local/sbin/", "/usr/local/lib/", "/usr/local/", "/var/lib/", "/run/user/",
})
# The product table's file: read as data (its row ids), the scanner does not import the checks.
PRODUCT_TABLE = Path(__file__).resolve().parent.parent / "checks" / "data" / "products.yaml"


@lru_cache(maxsize=1)
def table_product_ids() -> frozenset[str]:
    """Ids of the rows of checks/data/products.yaml, which inventory rules must not reuse."""
    data = yaml.safe_load(PRODUCT_TABLE.read_text(encoding="utf-8"))
    return frozenset(str(row["id"]) for row in data.get("products", []))


class ProductRule(Strict):
    """A security product the unit runs and the product table cannot recognise (no public
    documentation of its process or package names): how to recognise it on a host, as the unit
    verified it. The host checks treat it like a row of checks/data/products.yaml."""

    id: str = Field(pattern=PRODUCT_ID_RE)
    name: str = Field(min_length=1, max_length=200)
    roles: list[ProductRole] = Field(min_length=1, max_length=8)
    processes: list[str] = Field(default_factory=list, max_length=50)
    exe_prefixes: list[str] = Field(default_factory=list, max_length=20)
    packages: list[str] = Field(default_factory=list, max_length=50)
    active: list[str] | None = Field(default=None, max_length=50)  # processes meaning "protecting"
    source: str = Field(min_length=1, max_length=1000)  # who verified the rule, and how

    @field_validator("processes", "active")
    @classmethod
    def _processes(cls, value: list[str] | None) -> list[str] | None:
        for name in value or []:
            if not PROCESS_NAME_RE.match(name):
                raise ValueError(f"'{name[:80]}' is not a process name (no spaces, '/' or wildcards)")
        return value

    @field_validator("exe_prefixes")
    @classmethod
    def _exe_prefixes(cls, value: list[str]) -> list[str]:
        for prefix in value:
            parts = prefix.split("/")
            if not prefix.startswith("/") or not prefix.endswith("/"):
                raise ValueError(f"'{prefix[:80]}' must be an absolute path ending in /")
            if any(p in (".", "..") for p in parts) or "//" in prefix or not PROCESS_NAME_RE.match(prefix.replace("/", "x")):
                raise ValueError(f"'{prefix[:80]}' must be a plain path (no '..', '//', spaces or wildcards)")
            if len(parts) < 4 or prefix in SHARED_DIRS:  # "/opt/" or "/usr/bin/" would take in any program
                raise ValueError(f"'{prefix}' is shared by other programs: name the product's own directory")
        return value

    @field_validator("packages")
    @classmethod
    def _packages(cls, value: list[str]) -> list[str]:
        for name in value:
            if not PACKAGE_NAME_RE.match(name):
                raise ValueError(f"'{name[:80]}' is not a dpkg/rpm package name")
        return value

    @model_validator(mode="after")
    def _detectable(self) -> ProductRule:
        if not (self.processes or self.exe_prefixes or self.packages):
            raise ValueError("give at least one of processes, exe_prefixes, packages")
        return self


PopulationService = Literal["authentication", "id_suggestion", "lookup"]


class LevelProposal(Strict):
    """Section IX: the security level proposed for the system under Decree 85/2016 and the
    decision approving it, as the unit declares them (document numbers and dates)."""

    proposed_level: int = Field(ge=1, le=5)
    document: str | None = Field(default=None, max_length=300)  # the proposal (hồ sơ đề xuất cấp độ)
    date: dt.date | None = None
    approved_level: int | None = Field(default=None, ge=1, le=5)
    decision: str | None = Field(default=None, max_length=300)  # the approving decision (số quyết định)
    decision_date: dt.date | None = None


class System(Strict):
    name: str = Field(min_length=1, max_length=300)
    function: str | None = None
    location: str | None = None
    owner: str | None = None
    operator: str | None = None
    security_level: int = Field(ge=1, le=5)
    contact: str | None = None
    connects_to_population_db: bool = False
    population_db_services: list[PopulationService] = Field(default_factory=list)
    hosts: list[str] = Field(default_factory=list)
    max_concurrent_records: int | None = Field(default=None, ge=0)  # section VIII, declared
    connecting_component: str | None = Field(default=None, max_length=1000)  # section II: the part that connects
    level_proposal: LevelProposal | None = None  # section IX


class StaffMember(Strict):
    """Section I attachment: who administers and operates the systems."""

    name: str = Field(min_length=1, max_length=200)
    position: str | None = Field(default=None, max_length=200)  # chức vụ
    unit: str | None = Field(default=None, max_length=300)  # đơn vị công tác
    duty: str | None = Field(default=None, max_length=1000)  # nhiệm vụ quản trị, vận hành
    phone: Phone | None = Field(default=None, max_length=50)


class RoadmapStep(Strict):
    """Section X: what the unit plans to invest in or upgrade, year by year."""

    year: int = Field(ge=2000, le=2100)
    plan: str = Field(min_length=1, max_length=4000)
    budget: str | None = Field(default=None, max_length=300)  # free text: "1,2 tỷ đồng, ngân sách tỉnh"


class SurveyForm(Strict):
    """What only the filled survey form (Phiếu khảo sát) needs: its attachments, the unit's own
    plans and recommendations, and who signs it. Everything is declared, never verified."""

    place: str | None = Field(default=None, max_length=100)  # "Nghệ An" in "Nghệ An, ngày … tháng … năm …"
    signed_on: dt.date | None = None  # else the date is left blank for the signer
    prepared_by: str | None = Field(default=None, max_length=200)  # NGƯỜI LẬP PHIẾU
    confirmed_by: str | None = Field(default=None, max_length=300)  # XÁC NHẬN CỦA ĐƠN VỊ (title and name)
    diagram: str | None = Field(default=None, max_length=1000)  # section I: the physical/logical diagram document
    staff: list[StaffMember] = Field(default_factory=list, max_length=500)  # section I
    roadmap: list[RoadmapStep] = Field(default_factory=list, max_length=100)  # section X
    other_needs: str | None = Field(default=None, max_length=4000)  # section XII: information needed beyond the DB
    recommendations: list[str] = Field(default_factory=list, max_length=100)  # section XIII

    @field_validator("recommendations")
    @classmethod
    def _recommendations(cls, value: list[str]) -> list[str]:
        if any(not text.strip() or len(text) > 4000 for text in value):
            raise ValueError("each recommendation must be 1 to 4000 characters")
        return value


DeviceKind = Literal["firewall", "waf", "ips", "switch", "router", "load_balancer", "other"]
# The rows of the survey's XI.3 table ("Từ bên trong mạng"), in the form's order: the services and
# applications reachable, access limits, access management (reports/survey_form.py lays them out).
AccessRow = Literal["services", "limits", "management"]


class Device(Strict):
    """A network or security device of the system (firewall, WAF, switch ...): the section I device
    list and the "Thiết bị thiết lập chính sách" column of the XI.3 table. Declared, never probed."""

    name: str = Field(min_length=1, max_length=200)
    kind: DeviceKind
    model: str | None = Field(default=None, max_length=300)  # vendor and model: "FortiGate 600E"
    location: str | None = Field(default=None, max_length=300)  # where it is installed
    separates: list[str] = Field(default_factory=list, max_length=50)  # the zones it stands between
    enforces: list[AccessRow] = Field(default_factory=list, max_length=3)  # XI.3 table rows it enforces

    @field_validator("enforces")
    @classmethod
    def _unique_rows(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each row may be listed once")
        return value


class Layered(Strict):
    """Settings a host gives key by key over the inventory's defaults."""

    def over(self, base: Self) -> Self:
        """These settings with unset keys taken from `base`."""
        merged = base.model_dump()
        merged.update({k: v for k, v in self.model_dump().items() if v is not None})
        return type(self)(**merged)


class SshSettings(Layered):
    user: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._][A-Za-z0-9._-]{0,31}$")
    port: int | None = Field(default=None, ge=1, le=65535)
    key: str | None = None
    key_passphrase_env: str | None = Field(default=None, pattern=ENV_NAME_RE)
    known_hosts: str | None = None
    proxy_jump: str | None = Field(default=None, max_length=1000)
    become: Literal["none", "sudo"] | None = None
    sudo_password_env: str | None = Field(default=None, pattern=ENV_NAME_RE)
    connect_timeout: float | None = Field(default=None, gt=0, le=600)
    command_timeout: float | None = Field(default=None, gt=0, le=3600)



Transport = Literal["ssh", "winrm", "local", "none"]
Platform = Literal["linux", "windows"]


class WinrmSettings(Layered):
    """How readyscan reaches a Windows host over WinRM (pypsrp, WinRS). HTTPS validates the
    certificate against `ca_file` or the system store; HTTP is allowed only because its messages
    are sealed by NTLM or Kerberos. Basic and CredSSP are never offered (CredSSP hands the user's
    password to the target)."""

    user: str | None = Field(default=None, min_length=1, max_length=256)  # NAME, DOMAIN\\NAME or NAME@REALM
    password_env: str | None = Field(default=None, pattern=ENV_NAME_RE)
    scheme: Literal["https", "http"] | None = None  # default https
    port: int | None = Field(default=None, ge=1, le=65535)  # default 5986 (https) or 5985 (http)
    auth: Literal["ntlm", "kerberos", "negotiate"] | None = None  # default negotiate
    ca_file: str | None = None  # PEM bundle the host's certificate must chain to; default: system store
    server_name: str | None = None  # the name checked against the certificate; default: the host's fqdn
    # Kerberos: the service class of the SPN <spn_service>/<server_name> (WSMAN, what WinRM
    # registers; HTTP where a domain registered that instead)
    spn_service: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9-]{0,63}$")
    connect_timeout: float | None = Field(default=None, gt=0, le=600)
    command_timeout: float | None = Field(default=None, gt=0, le=3600)

    @field_validator("server_name")
    @classmethod
    def _server_name(cls, value: str | None) -> str | None:
        if value is not None and not HOSTNAME_RE.match(value):
            raise ValueError("must be a DNS name")
        return value


    @property
    def effective_scheme(self) -> str:
        return self.scheme or "https"

    @property
    def effective_port(self) -> int:
        return self.port or (5986 if self.effective_scheme == "https" else 5985)
ServiceKind = Literal[
    "https", "http", "ssh", "smtp", "smtps", "imap", "imaps", "pop3", "pop3s", "ftp", "ftps",
    "ldap", "ldaps", "db", "dns", "ntp", "snmp", "rdp", "telnet", "other",
]


class Scanner(Strict):
    """Where a readyscan worker stands: a network zone its probes leave from (a vantage). The
    zone `internet` is a worker outside the network, seeing what an attacker sees."""

    name: str = Field(pattern=NAME_RE)
    zone: str = Field(min_length=1, max_length=63)
    address: str | None = None  # the address it scans from, when its machine has several

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError("must be an IP address (the scanner's own source address)") from None


EVERYWHERE = frozenset({"any", "internet"})  # exposure zones that open a service to every zone


class Service(Strict):
    port: int = Field(ge=1, le=65535)
    proto: Literal["tcp", "udp"] = "tcp"
    kind: ServiceKind
    name: str | None = None
    exposure: list[str] = Field(default_factory=list)  # zones allowed to reach it; empty: its host's zone only

    @property
    def target(self) -> str:
        return f"{self.port}/{self.proto}"

    def allowed_zones(self, host_zone: str) -> list[str]:
        return list(self.exposure) or [host_zone]

    def allows(self, from_zone: str | None, host_zone: str) -> bool | None:
        """Whether the inventory lets `from_zone` reach the service; None when the zone is not
        known and the service is not open to everyone."""
        zones = set(self.allowed_zones(host_zone))
        if zones & EVERYWHERE:
            return True
        return None if from_zone is None else from_zone in zones


def address_or_name(value: str) -> str:
    """An IP address (normalised) or a DNS name."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        if HOSTNAME_RE.match(value):
            return value
        raise ValueError("must be an IP address or a DNS name") from None


class LogServer(Strict):
    """The central log server (SOC, SIEM collector) a host's syslog forwards to (XI.3.3.2): what
    a fix plan configures where forwarding is missing."""

    address: str
    port: int = Field(default=514, ge=1, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return address_or_name(value)


class Host(Strict):
    name: str = Field(pattern=NAME_RE)
    address: str
    fqdn: str | None = None
    zone: str = Field(min_length=1, max_length=63)
    role: str | None = None
    os: str | None = None
    platform: Platform | None = None  # the probes its login runs; default: defaults.platform
    transport: Transport | None = None
    ssh: SshSettings | None = None
    winrm: WinrmSettings | None = None
    # The zone whose scanner logs in to the host (its host probes run from there, once). Default:
    # the host's own zone when a scanner stands there, else the only zone with scanners.
    managed_from: str | None = Field(default=None, min_length=1, max_length=63)
    log_server: LogServer | None = None  # default: defaults.log_server
    services: list[Service] = Field(default_factory=list)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return address_or_name(value)

    @field_validator("fqdn")
    @classmethod
    def _fqdn(cls, value: str | None) -> str | None:
        if value is not None and not HOSTNAME_RE.match(value):
            raise ValueError("must be a DNS name")
        return value


class Defaults(Strict):
    platform: Platform = "linux"
    transport: Transport = "ssh"
    ssh: SshSettings = Field(default_factory=SshSettings)
    winrm: WinrmSettings = Field(default_factory=WinrmSettings)
    log_server: LogServer | None = None


class Timeouts(Strict):
    connect: float = Field(default=5, gt=0, le=600)
    command: float = Field(default=60, gt=0, le=3600)
    host: float = Field(default=300, gt=0, le=86400)
    nmap: float = Field(default=600, gt=0, le=86400)
    tls: float = Field(default=120, gt=0, le=86400)
    http: float = Field(default=10, gt=0, le=600)


class ScanSettings(Strict):
    from_zone: str | None = None
    ports: str = "top1000"
    udp: bool = False
    service_versions: bool = False
    concurrency: int = Field(default=16, ge=1, le=512)
    log_retention_days: int | None = Field(default=None, ge=1, le=36500)
    cert_expiry_warn_days: int = Field(default=30, ge=0, le=3650)
    ca_bundle: str | None = None
    timeouts: Timeouts = Field(default_factory=Timeouts)

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: Any) -> str:
        value = str(value).replace(" ", "")
        if not PORT_SPEC_RE.match(value):
            raise ValueError("must be top100, top1000 or a list like '1-1024,8080'")
        for part in re.split(r"[,-]", value):
            if part.isdigit() and not 1 <= int(part) <= 65535:
                raise ValueError(f"port {part} out of range 1-65535")
        return value


class Inventory(Strict):
    schema_: Literal[1] = Field(default=1, alias="schema")
    organization: Organization
    inspection_date: dt.date | None = None
    policies: Policies = Field(default_factory=Policies)
    solutions: Solutions = Field(default_factory=Solutions)
    products: list[ProductRule] = Field(default_factory=list, max_length=200)  # local detection rules
    systems: list[System] = Field(default_factory=list)
    survey_form: SurveyForm | None = None  # sections I (attachments), X, XII, XIII and the signatures
    devices: list[Device] = Field(default_factory=list, max_length=500)  # network and security devices
    zones: dict[str, str] | None = None  # zone name -> description; when given, every zone used must be here
    # Where readyscan workers stand (one vantage per zone). None listed: one scanner, in scan.from_zone.
    scanners: list[Scanner] = Field(default_factory=list, max_length=64)
    defaults: Defaults = Field(default_factory=Defaults)
    hosts: list[Host] = Field(default_factory=list, min_length=1)
    scan: ScanSettings = Field(default_factory=ScanSettings)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def host(self, name: str) -> Host:
        return next(h for h in self.hosts if h.name == name)

    def transport_of(self, host: Host) -> Transport:
        return host.transport or self.defaults.transport

    def ssh_of(self, host: Host) -> SshSettings:
        return (host.ssh or SshSettings()).over(self.defaults.ssh)

    def log_server_of(self, host: Host) -> LogServer | None:
        return host.log_server or self.defaults.log_server

    def platform_of(self, host: Host) -> Platform:
        return host.platform or self.defaults.platform

    def winrm_of(self, host: Host) -> WinrmSettings:
        return (host.winrm or WinrmSettings()).over(self.defaults.winrm)

    @property
    def scanner_zones(self) -> list[str]:
        """The zones scanners stand in (the scan's vantages), in the order listed."""
        return list(dict.fromkeys(s.zone for s in self.scanners))

    @property
    def distributed(self) -> bool:
        """Scanners stand in more than one zone: a scan needs a worker in each."""
        return len(self.scanner_zones) > 1

    @property
    def vantage_zone(self) -> str | None:
        """The zone a one-zone scan looks from: scan.from_zone, or that of the scanners listed."""
        zones = self.scanner_zones
        return self.scan.from_zone if not zones else zones[0] if len(zones) == 1 else None

    def managing_zone(self, host: Host) -> str | None:
        """The zone whose scanner logs in to the host; None when no scanner can (or none is listed)."""
        zones = self.scanner_zones
        if host.managed_from is not None:
            return host.managed_from if host.managed_from in zones else None
        if host.zone in zones:
            return host.zone
        return zones[0] if len(zones) == 1 else None

    def systems_of(self, host: Host) -> list[System]:
        return [s for s in self.systems if host.name in s.hosts]

    def security_level_of(self, host: Host) -> int | None:
        levels = [s.security_level for s in self.systems_of(host)]
        return max(levels) if levels else None


# The inventory's errors are the shared validation errors under the names callers know.
InventoryIssue = Issue
InventoryError = ValidationFailed


@dataclass(frozen=True)
class LoadedInventory:
    inventory: Inventory
    path: Path
    digest: str  # sha256 of the file bytes: identifies "the same inventory" across scans

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, value: str | None) -> Path | None:
        """A path from the inventory: ~ expanded, relative to the inventory's own folder."""
        if not value:
            return None
        expanded = Path(os.path.expanduser(value))
        return expanded if expanded.is_absolute() else (self.base_dir / expanded)


def _cross_checks(inv: Inventory) -> list[tuple[tuple[Any, ...], str]]:
    """Rules that span fields: references between sections and uniqueness."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    names: dict[str, int] = {}
    for i, host in enumerate(inv.hosts):
        if host.name in names:
            problems.append((("hosts", i, "name"), f"host name '{host.name}' already used by hosts[{names[host.name]}]"))
        names.setdefault(host.name, i)
    for i, system in enumerate(inv.systems):
        for j, ref in enumerate(system.hosts):
            if ref not in names:
                problems.append((("systems", i, "hosts", j), f"unknown host '{ref}'"))
        if system.population_db_services and not system.connects_to_population_db:
            problems.append((("systems", i, "population_db_services"),
                             "services listed but connects_to_population_db is false"))
        if system.connecting_component and not system.connects_to_population_db:
            problems.append((("systems", i, "connecting_component"),
                             "a connecting component is named but connects_to_population_db is false"))
        proposal = system.level_proposal
        if proposal and proposal.approved_level is None and (proposal.decision or proposal.decision_date):
            problems.append((("systems", i, "level_proposal", "approved_level"),
                             "a decision is given but not the level it approved"))
    for field_name in Solutions.model_fields:
        decl = getattr(inv.solutions, field_name)
        for j, ref in enumerate(decl.hosts if decl else []):
            if ref not in names:
                problems.append((("solutions", field_name, "hosts", j), f"unknown host '{ref}'"))
    table_ids = table_product_ids() if inv.products else frozenset()
    rule_ids: dict[str, int] = {}
    for i, rule in enumerate(inv.products):
        if rule.id in table_ids:
            problems.append((("products", i, "id"), f"'{rule.id}' is a row of the product table "
                             "(checks/data/products.yaml): choose another id"))
        elif rule.id in rule_ids:
            problems.append((("products", i, "id"), f"product id '{rule.id}' already used by products[{rule_ids[rule.id]}]"))
        rule_ids.setdefault(rule.id, i)
        for j, name in enumerate(rule.active or []):
            if name not in rule.processes:
                problems.append((("products", i, "active", j), f"'{name}' is not listed under processes"))
    devices: dict[str, int] = {}
    # A device stands between declared zones: those listed under zones, else the hosts' own zones.
    device_zones = set(inv.zones) if inv.zones is not None else {h.zone for h in inv.hosts}
    for i, device in enumerate(inv.devices):
        if device.name in devices:
            problems.append((("devices", i, "name"), f"device name '{device.name}' already used by devices[{devices[device.name]}]"))
        devices.setdefault(device.name, i)
        for j, zone in enumerate(device.separates):
            if zone not in device_zones | {"internet"}:
                where = "listed under zones" if inv.zones is not None else "the zone of any host"
                problems.append((("devices", i, "separates", j), f"zone '{zone}' is not {where}"))
        if len(set(device.separates)) != len(device.separates):
            problems.append((("devices", i, "separates"), "a zone is listed twice"))
    if inv.zones is not None:
        known = set(inv.zones) | {"internet", "any"}

        def unknown_zone(path: tuple[Any, ...], zone: str | None) -> None:
            if zone is not None and zone not in known:
                problems.append((path, f"zone '{zone}' is not listed under zones"))

        unknown_zone(("scan", "from_zone"), inv.scan.from_zone)
        for i, host in enumerate(inv.hosts):
            unknown_zone(("hosts", i, "zone"), host.zone)
            for j, svc in enumerate(host.services):
                for k, zone in enumerate(svc.exposure):
                    unknown_zone(("hosts", i, "services", j, "exposure", k), zone)
    problems += _scanner_checks(inv)
    for i, host in enumerate(inv.hosts):
        transport, platform = inv.transport_of(host), inv.platform_of(host)
        where = ("hosts", i, "transport") if host.transport else ("hosts", i)
        if transport == "ssh" and not inv.ssh_of(host).user:
            problems.append((where, "transport ssh needs a user: set ssh.user here or defaults.ssh.user"))
        if transport == "winrm":
            if platform != "windows":
                problems.append((where, "transport winrm is for Windows hosts: set platform: windows"))
            winrm = inv.winrm_of(host)
            # Kerberos may use the ticket cache of the scanning account (kinit) instead of a password.
            if winrm.auth != "kerberos" and (not winrm.user or not winrm.password_env):
                problems.append((where, "transport winrm needs winrm.user and winrm.password_env (here or under "
                                        "defaults.winrm), or auth: kerberos with a ticket from kinit"))
        if platform == "windows" and transport == "local":
            problems.append((where, "transport local runs on this machine, which is not Windows"))
        if platform == "windows" and transport == "ssh" and inv.ssh_of(host).become == "sudo":
            problems.append((where, "become: sudo does not exist on Windows: log in as an administrator instead"))
        seen: dict[tuple[int, str], int] = {}
        for j, svc in enumerate(host.services):
            first = seen.setdefault((svc.port, svc.proto), j)
            if first != j:
                problems.append((("hosts", i, "services", j, "port"),
                                 f"service {svc.port}/{svc.proto} already declared at services[{first}]"))
    return problems


def _scanner_checks(inv: Inventory) -> list[tuple[tuple[Any, ...], str]]:
    """Vantages: every scanner in a known zone, every zone a host is managed from has a scanner,
    and every host the scan logs in to has a scanner that can."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    known = set(inv.zones) if inv.zones is not None else {h.zone for h in inv.hosts}
    where = "listed under zones" if inv.zones is not None else "the zone of any host"
    names: dict[str, int] = {}
    for i, scanner in enumerate(inv.scanners):
        if scanner.name in names:
            problems.append((("scanners", i, "name"), f"scanner name '{scanner.name}' already used by scanners[{names[scanner.name]}]"))
        names.setdefault(scanner.name, i)
        if scanner.zone not in known | {"internet"}:
            problems.append((("scanners", i, "zone"), f"zone '{scanner.zone}' is not {where} (or internet)"))
    zones = inv.scanner_zones
    if zones and inv.scan.from_zone is not None:
        problems.append((("scan", "from_zone"), "scanners lists where readyscan stands: remove scan.from_zone"))
    for i, host in enumerate(inv.hosts):
        if host.managed_from is not None:
            if not zones:
                problems.append((("hosts", i, "managed_from"), "managed_from names a scanner's zone: list the scanners"))
            elif host.managed_from not in zones:
                problems.append((("hosts", i, "managed_from"), f"no scanner stands in zone '{host.managed_from}' "
                                 f"(scanners stand in: {', '.join(zones)})"))
        elif zones and inv.transport_of(host) != "none" and inv.managing_zone(host) is None:
            problems.append((("hosts", i), f"no scanner can log in to this host: no scanner stands in its zone "
                             f"'{host.zone}'; set managed_from to the zone it is administered from "
                             f"(scanners stand in: {', '.join(zones)})"))
    return problems


def parse_inventory(text: str, filename: str) -> Inventory:
    """Validate inventory text; raise InventoryError listing every problem with its line."""
    return validate_text(text, filename, Inventory, what="inventory", doc="docs/inventory.md",
                         cross_checks=_cross_checks)


def load_inventory(path: str | os.PathLike[str]) -> LoadedInventory:
    raw, text = read_text(path)
    inv = parse_inventory(text, str(path))
    return LoadedInventory(inventory=inv, path=Path(path).resolve(), digest=hashlib.sha256(raw).hexdigest())
