"""Pre-flight: the connection step alone, per host, to fix access problems before inspection day."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from secrets import token_hex

from rich.console import Console
from rich.table import Table
from rich.text import Text

from scanner.app.engine import resolve_addresses
from scanner.connect import sudo_password, transport_for
from scanner.facts.host import WindowsSession
from scanner.i18n import default_catalog
from scanner.inventory import Host, LoadedInventory
from scanner.transport.base import TransportError, with_become
from scanner.winprobes.catalog import default_windows_probes
from scanner.winprobes.script import bootstrap_argv, build_script, split_output

# Tools the host probes read through, and the checks that come out `unknown` when every tool of
# a group is missing (a host needs only one package manager, one firewall front end).
TOOL_GROUPS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("ps",), ("logging.daemon", "logging.auditd", "logging.time_sync", "malware.running", "monitoring.*",
               "firewall.intrusion_prevention")),
    (("ss", "netstat"), ("exposure.*",)),
    (("sshd",), ("ssh.config.*",)),
    (("nft", "iptables"), ("firewall.default_deny",)),
    (("auditctl",), ("logging.auditd",)),
    (("dpkg-query", "rpm"), ("patch.*", "capacity.software")),
    (("apt-get", "dnf", "yum", "zypper"), ("patch.security_updates", "patch.pending_updates")),
    (("timeout",), ()),  # probes then run without their own time limit; the script's limit remains
)
# Facts only root reads (shadow, sudoers, firewall rules, sshd -T, audit rules).
ROOT_ONLY = ("accounts.empty_password", "accounts.sudo_nopasswd", "accounts.sudo_logging",
             "firewall.default_deny", "logging.auditd", "ssh.config.*")
PROBE_TOOLS = tuple(sorted({tool for tools, _ in TOOL_GROUPS for tool in tools} | {"sudo"}))
TOOLS_SCRIPT = ("id -u; for t in " + " ".join(PROBE_TOOLS)
                + "; do command -v \"$t\" >/dev/null 2>&1 || "
                  "[ -x \"/usr/sbin/$t\" ] || [ -x \"/sbin/$t\" ] || echo \"missing $t\"; done")


@dataclass
class PreflightRow:
    host: str
    transport: str
    reachable: bool | None = None
    authenticated: bool | None = None
    privileged: bool | None = None  # root, or sudo -n usable
    missing_tools: list[str] = field(default_factory=list)
    note: str = ""
    unknown_checks: list[str] = field(default_factory=list)  # id globs that will say unknown

    @property
    def ready(self) -> bool:
        return self.transport == "none" or bool(self.reachable and self.authenticated)


def classify_sudo_error(stderr: str) -> str:
    """What stands in the way of `sudo -n`, in the words an admin can act on (pure)."""
    text = stderr.lower()
    if "password is required" in text:
        return "sudo asks for a password: add a NOPASSWD rule for the scan commands or set sudo_password_env"
    if "tty" in text:
        return "sudoers has 'Defaults requiretty': exempt the scanning user"
    if "not in the sudoers" in text or "not allowed" in text:
        return "the scanning user may not use sudo"
    if "command not found" in text:
        return "sudo is not installed"
    if "noexec" in text:
        return "sudo NOEXEC blocks the probe shell"
    return stderr.strip()[:200] or "sudo failed"


def checks_left_unknown(missing_tools: list[str], privileged: bool | None) -> list[str]:
    """Which checks a scan will answer `unknown` for, given what preflight found (pure)."""
    globs: list[str] = []
    for tools, checks in TOOL_GROUPS:
        if all(tool in missing_tools for tool in tools):
            globs += checks
    if privileged is False:
        globs += ROOT_ONLY
    return sorted(set(globs))


def windows_unknown_checks(session: WindowsSession) -> list[str]:
    """Which checks a scan of a Windows host will answer `unknown` for, given the PowerShell
    session preflight found (pure): all its host checks when PowerShell is constrained (no probe
    runs), else those reading a probe that needs an administrator, when the account is not one."""
    from checks import default_registry  # the checks say which probes they read

    probes = default_windows_probes()
    if session.language not in (None, "FullLanguage"):
        needed = probes.names()
    elif session.admin is False:
        needed = frozenset(p.name for p in probes if p.admin)
    else:
        return []
    found = []
    for check in default_registry():
        variant = check.for_platform("windows")
        if variant is not None and variant.parts("host") & needed:
            found.append(check.id)
    return sorted(found)


def _check_windows(transport, inv, host: Host, row: PreflightRow) -> None:
    """The script's first line alone (no probe): PowerShell runs, who runs it, in which mode."""
    nonce = token_hex(8)
    result = transport.run(bootstrap_argv(), timeout=inv.scan.timeouts.command, stdin=build_script([], nonce).encode())
    row.reachable = row.authenticated = True
    session = split_output(result.stdout, nonce).host
    if session is None:
        row.note = "PowerShell did not run the script: " + (result.stderr.strip()[:200] or "no output")
        row.unknown_checks = ["*"]
        return
    row.privileged = session.admin
    notes = [f"PowerShell {session.ps_version or '?'}, {session.language or '?'}, execution policy "
             f"{session.execution_policy or '?'}"]
    if session.language not in (None, "FullLanguage"):
        notes.append("constrained language mode (AppLocker or WDAC): no probe can run; allow the scan account "
                     "FullLanguage or exempt it")
    elif session.admin is False:
        notes.append("not an administrator: the Security log and the audit policy will say unknown")
    row.note = "; ".join(notes)
    row.unknown_checks = windows_unknown_checks(session)


def check_host(loaded: LoadedInventory, host: Host, address: str, accept_new_host_keys: bool,
               secrets: dict[str, str] | None = None) -> PreflightRow:
    inv = loaded.inventory
    row = PreflightRow(host.name, inv.transport_of(host))
    if row.transport == "none":
        row.note = "transport none: network probes only"
        return row
    transport = None
    try:
        transport = transport_for(loaded, host, address, accept_new_host_keys=accept_new_host_keys,
                                  secrets=secrets)
        if inv.platform_of(host) == "windows":
            _check_windows(transport, inv, host, row)
            return row
        result = transport.run(["sh", "-c", TOOLS_SCRIPT], timeout=inv.scan.timeouts.command)
        row.reachable = row.authenticated = True
        lines = result.stdout.splitlines()
        is_root = bool(lines) and lines[0].strip() == "0"
        row.missing_tools = [line.split(" ", 1)[1] for line in lines[1:] if line.startswith("missing ")]
        if is_root:
            row.privileged = True
        elif inv.ssh_of(host).become == "sudo":
            argv, stdin = with_become(["true"], None, sudo_password(loaded, host, secrets))
            sudo = transport.run(argv, timeout=inv.scan.timeouts.command, stdin=stdin)
            row.privileged = sudo.ok
            if not sudo.ok:
                row.note = classify_sudo_error(sudo.stderr)
        else:
            row.privileged = False
            row.note = "no root and no become: checks that need root will say unknown"
    except TransportError as exc:
        row.reachable = exc.outcome not in ("unreachable", "timeout")
        row.authenticated = False
        row.note = str(exc)
    finally:
        if transport is not None:
            transport.close()
    if row.authenticated and inv.platform_of(host) != "windows":
        row.unknown_checks = checks_left_unknown(row.missing_tools, row.privileged)
    return row


def preflight(loaded: LoadedInventory, accept_new_host_keys: bool = False,
              secrets: dict[str, str] | None = None) -> list[PreflightRow]:
    inv = loaded.inventory
    resolved, unresolved = resolve_addresses(inv.hosts)
    rows: list[PreflightRow] = []
    with ThreadPoolExecutor(max_workers=inv.scan.concurrency) as pool:
        futures = []
        for host in inv.hosts:
            if host.name in unresolved:
                rows.append(PreflightRow(host.name, inv.transport_of(host), False, False, None, [],
                                         unresolved[host.name]))
                continue
            futures.append(pool.submit(check_host, loaded, host, resolved[host.name], accept_new_host_keys, secrets))
        rows += [f.result() for f in futures]
    order = {h.name: i for i, h in enumerate(inv.hosts)}
    return sorted(rows, key=lambda r: order[r.host])


def render_preflight(rows: list[PreflightRow], console: Console, lang: str) -> None:
    catalog = default_catalog()

    def t(key: str) -> str:
        return catalog.text(f"cli.{key}", lang)

    def yn(value: bool | None) -> str:
        return t("not_applicable") if value is None else (t("yes") if value else t("no"))

    table = Table(title=t("preflight_title"))
    for col in ("host", "reachable", "auth", "root", "missing", "unknown_checks", "note"):
        table.add_column(t(f"col_{col}"), overflow="fold")
    for r in rows:
        # Notes carry text from targets (error messages): never let rich read it as markup.
        table.add_row(Text(r.host), yn(r.reachable), yn(r.authenticated), yn(r.privileged),
                      Text(", ".join(r.missing_tools)), Text(", ".join(r.unknown_checks)), Text(r.note))
    console.print(table)
