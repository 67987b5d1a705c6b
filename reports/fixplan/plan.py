"""From a scan file to a fix plan: each failing result with a safe automatic fix becomes a task
block for its host; every other failing result becomes a line to do by hand. Waived results are
left out (their risk is accepted)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from scanner.model import Result, Status
from scanner.scanfile import ScanFile
from scanner.thresholds import load_thresholds

from .. import Texts
from . import journald, sshd, system, updates, web
from .facts import HostFacts, NotAutomatic
from .model import DISRUPTIONS, Covered, Disruption, Fix, Guarded, Handler, HostPlan, Manual, Plan, Step, inert

# A host name Ansible takes as it is (no pattern characters, no spaces); readyscan's inventory
# allows no other, but a scan file is input like any.
HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")
ADDRESS = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:_-]{0,252}")  # an IPv4/IPv6 address or a DNS name
Make = Callable[[Result, HostFacts], tuple[list[dict[str, Any]] | Guarded, tuple[Handler, ...]]]


@dataclass(frozen=True)
class Fixer:
    disruption: Disruption
    make: Make
    # more than `disruption` for some results (updates with a kernel: a reboot); a handler's own
    # disruption counts too (a retention fix that restarts journald instead of editing logrotate)
    more: Callable[[Result], Disruption] = lambda r: "none"


def _plain(fn: Callable[[Result, HostFacts], list[dict[str, Any]]]) -> Make:
    return lambda r, facts: (fn(r, facts), ())


FIXERS: dict[str, Fixer] = {
    **{check_id: Fixer("reload", sshd.sshd_fix) for check_id in sshd.SETTINGS},
    "accounts.password_ageing": Fixer("none", _plain(system.password_ageing)),
    "logging.daemon": Fixer("restart", journald.storage),
    "logging.retention": Fixer("none", system.retention),
    "logging.remote_forwarding": Fixer("restart", system.remote_forwarding),
    "patch.security_updates": Fixer("restart", _plain(updates.security_updates),
                                    lambda r: "reboot" if updates.reboot_needed(r) else "none"),
    **{check_id: Fixer("reload", web.header)
       for check_id in ("http.hsts", "http.frame_options", "http.content_type_options")},
    "http.version_disclosure": Fixer("reload", web.server_tokens),
    "http.trace": Fixer("reload", web.trace),
    **{check_id: Fixer("reload", web.protocols) for check_id in
       ("tls.protocol.ssl2_ssl3", "tls.protocol.legacy", "tls.protocol.tls12_missing", "tls.protocol.tls13_missing")},
    **{check_id: Fixer("reload", lambda r, facts: web.ciphers(load_thresholds().tls.recommended_ciphers)(r, facts))
       for check_id in ("tls.cipher.weak", "tls.cipher.no_forward_secrecy")},
}
# Failing results no fixer takes, and why, where there is more to say than "not yet".
WHY_MANUAL = {
    "http.csp": "csp_site_specific",
    "http.redirect_https": "redirect_changes_site",
    **{check_id: "new_certificate" for check_id in (
        "tls.cert.expired", "tls.cert.expiring", "tls.cert.not_yet_valid", "tls.cert.untrusted",
        "tls.cert.hostname_mismatch", "tls.cert.weak_key", "tls.cert.sha1_signature")},
}


# A result -> the check whose fix on the same host ends it, and the result's message keys that
# holds for (None: all). sshd stops offering passwords once PasswordAuthentication and
# KbdInteractiveAuthentication are no; authentication messages kept only in a journal in memory
# are kept on disk once the journal is.
COVERED_BY: dict[str, tuple[str, frozenset[str] | None]] = {
    "sshd.auth.password_offered": ("ssh.config.password_auth", None),
    "logging.auth_log": ("logging.daemon", frozenset({"volatile_only"})),
}


def selected(check_id: str, patterns: Sequence[str] | None) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(check_id, p) for p in patterns)


def _inventory_parts(scan: ScanFile, host: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The host's entry and the defaults of the inventory the scan recorded."""
    data = scan.inventory.data if isinstance(scan.inventory.data, dict) else {}
    entry = next((h for h in data.get("hosts") or [] if isinstance(h, dict) and h.get("name") == host), {})
    return entry, data.get("defaults") or {}


def _declared(scan: ScanFile, host: str, key: str) -> Any:
    """An inventory setting for a host: the host's own, else the defaults'."""
    entry, defaults = _inventory_parts(scan, host)
    return entry.get(key) or defaults.get(key)


def _ssh_port(scan: ScanFile, host: str) -> int | None:
    """ssh settings layer key by key (inventory.Layered), so the port falls back on its own."""
    entry, defaults = _inventory_parts(scan, host)
    port = (entry.get("ssh") or {}).get("port") or (defaults.get("ssh") or {}).get("port")
    return port if isinstance(port, int) else None


def _log_server(scan: ScanFile, host: str) -> dict[str, Any] | None:
    server = _declared(scan, host, "log_server")
    if not isinstance(server, dict) or not ADDRESS.fullmatch(str(server.get("address", ""))):
        return None
    port, protocol = server.get("port", 514), server.get("protocol", "tcp")
    if not isinstance(port, int) or protocol not in ("tcp", "udp"):
        return None
    return {"address": str(server["address"]), "port": port, "protocol": protocol}


def _named(value: Any, texts: Texts) -> Any:
    """A task (or a block of them) with every Step put in the plan's language, made inert."""
    if isinstance(value, Step):
        return inert(texts.t(f"fixplan.step.{value.key}", **value.params))
    if isinstance(value, dict):
        return {k: _named(v, texts) for k, v in value.items()}
    if isinstance(value, list):
        return [_named(v, texts) for v in value]
    return value


def build_plan(scan: ScanFile, *, lang: str, checks: Sequence[str] | None = None, scan_file: str = "") -> Plan:
    texts = Texts.for_lang(lang)
    contexts = {name: h.context() for name, h in scan.summarized().hosts.items()}
    manual: list[Manual] = []
    waived = 0

    def by_hand(r: Result, why: str, **params: Any) -> None:
        manual.append(Manual(r.check_id, r.host, r.target, texts.message(r),
                             texts.fix(r, contexts.get(r.host)) or texts.remediation(r.check_id),
                             texts.t(f"fixplan.why.{why}", **params)))

    for r in scan.org_results:
        if r.status == Status.FAIL and selected(r.check_id, checks):
            if r.waiver is not None:
                waived += 1
            else:
                by_hand(r, "organisation")
    hosts = []
    covered: list[Covered] = []
    for name, record in scan.hosts.items():
        failing = [r for r in record.results if r.status == Status.FAIL and selected(r.check_id, checks)]
        waived += sum(r.waiver is not None for r in failing)
        failing = [r for r in failing if r.waiver is None]
        plan = HostPlan(name, record.address, _ssh_port(scan, name))
        facts = HostFacts.of(record, _log_server(scan, name))
        platform = str(_declared(scan, name, "platform") or "linux")
        later: list[Result] = []
        for r in failing:
            fixer = FIXERS.get(r.check_id)
            if fixer is None:
                later.append(r)
                continue
            if platform != "linux" or not (HOST_NAME.fullmatch(name) and ADDRESS.fullmatch(record.address)):
                by_hand(r, "platform" if platform != "linux" else "host_name")
                continue
            try:
                tasks, handlers = fixer.make(r, facts)
            except NotAutomatic as exc:
                by_hand(r, exc.why, **exc.params)
                continue
            disruption = max((fixer.disruption, fixer.more(r), *(h.disruption for h in handlers)),
                             key=DISRUPTIONS.index)
            guarded = tasks if isinstance(tasks, Guarded) else Guarded(tasks, [])
            plan.fixes.append(Fix(
                r.check_id, r.target, tuple(r.survey_items), texts.message(r), disruption,
                tuple(_named(t, texts) for t in guarded.tasks),
                tuple(Handler(h.listen, tuple(_named(t, texts) for t in h.tasks), h.disruption) for h in handlers),
                tuple(_named(t, texts) for t in guarded.rescue)))
        fixed = {f.check_id for f in plan.fixes}
        for r in later:
            by, keys = COVERED_BY.get(r.check_id, ("", None))
            if by in fixed and (keys is None or (r.message is not None and r.message.key in keys)):
                covered.append(Covered(r.check_id, r.host, r.target, texts.message(r), by))
            else:
                by_hand(r, WHY_MANUAL.get(r.check_id, "no_automatic_fix"))
        if plan.fixes:
            hosts.append(plan)
    org = ((scan.inventory.data or {}).get("organization") or {}).get("name") or ""
    return Plan(organization=str(org), scan_started=scan.started.isoformat(timespec="seconds"),
                scan_file=scan_file, lang=lang, hosts=hosts, manual=manual, covered=covered, waived=waived)
