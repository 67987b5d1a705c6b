"""What a zone task is, and which tasks a zone worker admits (no Celery here: the control side
plans with these models, and the rules are tested without a broker).

Even a correctly signed task cannot make a worker scan something else: `admit` refuses a task
that names another inventory (by digest), another zone, a host or an address outside the
inventory, or a collector the worker does not have.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import Field, field_validator

from scanner.collectors.base import Collector, ScanOptions
from scanner.i18n import default_catalog
from scanner.inventory import NAME_RE, Host, LoadedInventory
from scanner.model import Frozen, Observation

SCAN_ID_RE = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$"
DIGEST_RE = r"^[0-9a-f]{64}$"
MAX_PARTS = 64


class ZoneTask(Frozen):
    """What the control side asks of a zone worker: no secret, only names and one address."""

    scan_id: str = Field(pattern=SCAN_ID_RE)
    inventory_digest: str = Field(pattern=DIGEST_RE)
    host_name: str = Field(pattern=NAME_RE)
    address: str
    collector: str = Field(pattern=NAME_RE)
    vantage: str = Field(pattern=NAME_RE)
    # The parts (host probes) the selected checks read; None: all of them.
    parts: tuple[str, ...] | None = Field(default=None, max_length=MAX_PARTS)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return str(ipaddress.ip_address(value))  # the control side resolved names at planning

    @field_validator("parts")
    @classmethod
    def _parts(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and not all(re.match(NAME_RE, p) for p in value):
            raise ValueError("a part is a probe name")
        return value


class Refusal(StrEnum):
    """Why a worker refused a signed task (a closed set: the control side maps each)."""

    INVENTORY = "inventory"
    VANTAGE = "vantage"
    HOST = "host"
    ADDRESS = "address"
    COLLECTOR = "collector"


class ZoneReport(Frozen):
    """A zone worker's answer to one task: the observation, or why it refused to gather one."""

    scan_id: str = Field(pattern=SCAN_ID_RE)
    inventory_digest: str = Field(pattern=DIGEST_RE)
    host_name: str = Field(pattern=NAME_RE)
    collector: str = Field(pattern=NAME_RE)
    vantage: str = Field(pattern=NAME_RE)
    observation: Observation
    refused: Refusal | None = None


Resolver = Callable[[str], set[str]]


def resolve_name(name: str) -> set[str]:
    """The addresses a DNS name of the inventory has from this worker's zone (split DNS differs)."""
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError):
        return set()


@dataclass
class ZoneScope:
    """What a zone worker was started with, and all it will ever scan."""

    loaded: LoadedInventory
    zone: str
    collectors: Mapping[str, Collector]
    options: ScanOptions = field(default_factory=ScanOptions)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)  # the worker's own (connect.take_secrets)
    resolve: Resolver = resolve_name

    def host(self, name: str) -> Host | None:
        return next((h for h in self.loaded.inventory.hosts if h.name == name), None)


def text(key: str, **params) -> str:
    """A zones message in English, for logs and observation details."""
    return default_catalog().text(f"zones.{key}", "en", **params)


def admit(scope: ZoneScope, task: ZoneTask) -> tuple[Refusal, str] | None:
    """None when the worker may run the task; else why not (the reason and a sentence)."""
    if task.inventory_digest != scope.loaded.digest:
        return Refusal.INVENTORY, text("refusal.inventory", theirs=task.inventory_digest[:12],
                                        ours=scope.loaded.digest[:12])
    if task.vantage != scope.zone:
        return Refusal.VANTAGE, text("refusal.vantage", theirs=task.vantage, ours=scope.zone)
    host = scope.host(task.host_name)
    if host is None:
        return Refusal.HOST, text("refusal.host", host=task.host_name)
    try:
        allowed = {str(ipaddress.ip_address(host.address))}
    except ValueError:  # the inventory gives a name: what it resolves to from here
        allowed = scope.resolve(host.address)
    if task.address not in allowed:
        return Refusal.ADDRESS, text("refusal.address", address=task.address, host=task.host_name)
    if task.collector not in scope.collectors:
        return Refusal.COLLECTOR, text("refusal.collector", collector=task.collector)
    return None
