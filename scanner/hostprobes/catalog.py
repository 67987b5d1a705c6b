"""The probes the host collector runs: every area module's PROBES, in one set."""

from __future__ import annotations

from scanner.hostprobes import (
    ProbeSet,
    accounts,
    agents,
    apache,
    capacity,
    firewall,
    logging,
    nginx,
    packages,
    patching,
    sshd_config,
    system,
)

AREAS = (accounts, agents, apache, capacity, firewall, logging, nginx, packages, patching, sshd_config, system)


def default_probes() -> ProbeSet:
    probes = ProbeSet()
    for area in AREAS:
        for probe in area.PROBES:
            probes.add(probe)
    return probes
