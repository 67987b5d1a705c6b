"""The check catalog: one module per area, each holding its checks as marked module-level functions."""

from __future__ import annotations

from checks import (
    accounts,
    declared,
    exposure,
    firewall,
    http,
    logging,
    malware,
    monitoring,
    patching,
    ports,
    ssh_config,
    sshd,
    system,
    tls,
    windows,
    windows_access,
)
from checks.registry import Registry

AREAS = (accounts, declared, exposure, firewall, http, logging, malware, monitoring, patching, ports, ssh_config, sshd, system, tls,
         windows, windows_access)


def default_registry() -> Registry:
    registry = Registry()
    for area in AREAS:
        registry.add_area(area)
    return registry
