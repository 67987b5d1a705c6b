"""Pending security updates now, and their automatic installation from now on, with each
distribution family's own package manager and its own unattended mechanism."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from scanner.model import Result

from .facts import HostFacts, NotAutomatic
from .model import Step, Unsafe

_PACKAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_:-]*")
Tasks = list[dict[str, Any]]


def _apt(names: list[str], facts: HostFacts, updates: list[dict[str, Any]]) -> Tasks:
    return [
        {"name": Step("security_updates", count=len(names)), "ansible.builtin.apt": {
            "name": [Unsafe(n) for n in names], "state": "latest", "only_upgrade": True, "update_cache": True}},
        {"name": Step("install", package="unattended-upgrades"), "ansible.builtin.apt": {
            "name": "unattended-upgrades", "state": "present"}},
        {"name": Step("apt_periodic"), "ansible.builtin.copy": {
            "dest": "/etc/apt/apt.conf.d/20auto-upgrades", "owner": "root", "group": "root", "mode": "0644",
            "content": 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n'}},
    ]


def _dnf(names: list[str], facts: HostFacts, updates: list[dict[str, Any]]) -> Tasks:
    return [
        {"name": Step("security_updates", count=len(names)), "ansible.builtin.dnf": {
            "name": [Unsafe(n) for n in names], "state": "latest", "security": True, "update_only": True}},
        {"name": Step("install", package="dnf-automatic"), "ansible.builtin.dnf": {
            "name": "dnf-automatic", "state": "present"}},
        {"name": Step("dnf_automatic_security"), "ansible.builtin.lineinfile": {
            "path": "/etc/dnf/automatic.conf", "regexp": r"^\s*upgrade_type\s*=", "line": "upgrade_type = security"}},
        {"name": Step("dnf_automatic_apply"), "ansible.builtin.lineinfile": {
            "path": "/etc/dnf/automatic.conf", "regexp": r"^\s*apply_updates\s*=", "line": "apply_updates = yes"}},
        {"name": Step("dnf_automatic_timer"), "ansible.builtin.systemd_service": {
            "name": "dnf-automatic.timer", "enabled": True, "state": "started"}},
    ]


# YaST's automatic online update (yast2-online-update-configuration, SLE 15 and Leap 15; its
# upstream is obsolete from SLE 16 on): a cron job that runs its script, which reads these keys
# and runs `zypper patch --category <each>`, skipping patches that need a reboot or a question.
AOU_SCRIPT = "/usr/lib/YaST2/bin/online_update"
AOU_CRON = "/etc/cron.daily/opensuse.org-online_update"
AOU_CONFIG = "/etc/sysconfig/automatic_online_update"
AOU_SETTINGS = {"AOU_ENABLE_CRONJOB": "true", "AOU_SKIP_INTERACTIVE_PATCHES": "true",
                "AOU_PATCH_CATEGORIES": "security"}


def _flags(update: dict[str, Any]) -> set[str]:
    """zypper's Interactive column: what a patch needs beyond installing, comma-separated
    (reboot, message, licence, restart; src/utils/misc.cc patchInteractiveFlags)."""
    return {f.strip() for f in str(update.get("interactive") or "").split(",") if f.strip()}


def _zypper(names: list[str], facts: HostFacts, updates: list[dict[str, Any]]) -> Tasks:
    """zypper installs patches, not packages: by the scan's own query (list-patches --category
    security), so the re-scan finds none left. A patch whose licence must be accepted would make
    the non-interactive run answer no and install nothing: such a plan is left to a person."""
    licensed = [str(u.get("name")) for u in updates if "licence" in _flags(u)]
    if licensed:
        raise NotAutomatic("patch_licence", patches=", ".join(licensed))
    tasks: Tasks = [{
        "name": Step("zypper_security_patches", count=len(names), patches=", ".join(names)),
        "ansible.builtin.command": {"argv": ["zypper", "--non-interactive", "patch", "--category", "security",
                                             "--with-interactive"]},
        "register": "readyscan_zypper",
        # 103: zypper updated itself first and must run again; 102: done, a reboot is needed
        "until": "readyscan_zypper.rc != 103", "retries": 3, "delay": 0,
        "failed_when": "readyscan_zypper.rc not in [0, 102, 103]",
        "changed_when": "'Nothing to do.' not in readyscan_zypper.stdout"}]
    version = str((facts.parsed.get("os_release") or {}).get("version_id") or "")
    if version.split(".")[0] != "15":
        return tasks  # no automatic online update to configure: left to a person
    return tasks + [
        {"name": Step("install", package="yast2-online-update-configuration"),
         "ansible.builtin.command": {"argv": ["zypper", "--non-interactive", "install",
                                              "yast2-online-update-configuration"],
                                     "creates": AOU_SCRIPT}},
        *({"name": Step("aou_setting", setting=f'{key}="{value}"', path=AOU_CONFIG),
           "ansible.builtin.lineinfile": {"path": AOU_CONFIG, "regexp": rf"^\s*{key}=", "line": f'{key}="{value}"',
                                          "create": True, "owner": "root", "group": "root", "mode": "0644"}}
          for key, value in AOU_SETTINGS.items()),
        # force: in check mode the package, and so the script, is not there yet
        {"name": Step("aou_cron", path=AOU_CRON), "ansible.builtin.file": {
            "src": AOU_SCRIPT, "dest": AOU_CRON, "state": "link", "force": True}},
    ]


FAMILIES: dict[tuple[str, str], Callable[[list[str], HostFacts, list[dict[str, Any]]], Tasks]] = {
    ("apt", "debian"): _apt, ("dnf", "rhel"): _dnf, ("yum", "rhel"): _dnf, ("zypper", "suse"): _zypper}


def security_updates(r: Result, facts: HostFacts) -> Tasks:
    """The pending security updates now, and unattended security updates from now on."""
    updates = [u for u in r.evidence.get("updates") or [] if isinstance(u, dict)]
    names = [str(u.get("name")) for u in updates]
    if not names or not all(_PACKAGE.fullmatch(n) for n in names):
        raise NotAutomatic("values_unknown")
    count = r.message.params.get("count") if r.message else None
    if isinstance(count, int) and count > len(names):
        raise NotAutomatic("updates_truncated", shown=len(names), count=count)
    manager = r.evidence.get("manager")
    family = FAMILIES.get((str(manager), str(facts.family)))
    if family is None:
        raise NotAutomatic("family_unsupported", manager=str(manager))
    return family(names, facts, updates)


def reboot_needed(r: Result) -> bool:
    """A kernel among the updates, or a SUSE patch that says it needs one: they take effect only
    after a reboot."""
    updates = [u for u in r.evidence.get("updates") or [] if isinstance(u, dict)]
    return any(str(u.get("name", "")).startswith(("linux-image", "kernel")) or "reboot" in _flags(u) for u in updates)
