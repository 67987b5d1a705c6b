"""Patch-level probes: pending (security) updates from the package manager's existing cache,
the cache's age, the last package change, and whether a reboot is pending.

Read-only: nothing is refreshed. apt runs as a simulation with locking off and its binary cache
files disabled (`apt-get -s -o Debug::NoLocking=1 -o Dir::Cache::pkgcache= -o
Dir::Cache::srcpkgcache=`: run as root over a stale or missing cache, apt-get -s otherwise writes
a new /var/cache/apt/pkgcache.bin, seen on Debian 12); dnf and yum run cache-only (`-C`), zypper
runs with `--no-refresh`; a stale or missing cache is reported as such, never fixed. dnf, yum and
zypper still append to their own logs under /var/log when run as root; they have no switch
against it.
"""

from __future__ import annotations

import re
from functools import cmp_to_key

from scanner.facts.patching import FileTime, Patching, PendingUpdate, RebootStatus
from scanner.hostprobes import Probe
from scanner.hostprobes.frames import PRELUDE, CommandFrame, Frames, as_int, cap_lines, split_frames
from scanner.hostprobes.versions import compare_versions

# The cheap facts (cache age, last change) come before the package-manager queries, so that a
# query the collector's per-probe timeout cuts off (apt and dnf can take tens of seconds on a busy
# host) loses only its own answer.
PATCHING_SH = PRELUDE + r"""
echo "@@now $(date +%s)"
lastrpm() { rpm -qa --qf '%{INSTALLTIME} %{NAME}-%{VERSION}-%{RELEASE}\n' | sort -n | tail -n 1; }
if have apt-get; then
  echo "@@manager apt"
  echo "@@section metadata"
  qmtimes /var/lib/apt/lists/*_InRelease /var/lib/apt/lists/*_Release /var/lib/apt/lists/*_Packages* /var/lib/apt/periodic/update-success-stamp
  echo "@@rc 0"
  echo "@@section last_change"; qmtimes /var/lib/dpkg/status; echo "@@rc 0"
  qrun dpkg_log tail -n 1 /var/log/dpkg.log
  qrun updates apt-get -s -o Debug::NoLocking=1 -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= dist-upgrade
elif have dnf; then
  echo "@@manager dnf"
  echo "@@section metadata"; qmtimes /var/cache/dnf/*/repodata/repomd.xml /var/cache/libdnf5/*/repodata/repomd.xml; echo "@@rc 0"
  qrun last_install lastrpm
  qrun updates dnf -C check-update
  qrun security dnf -C -q updateinfo list --security
elif have yum; then
  echo "@@manager yum"
  echo "@@section metadata"; qmtimes /var/cache/yum/*/*/*/repomd.xml; echo "@@rc 0"
  qrun last_install lastrpm
  qrun updates yum -C check-update
  qrun security yum -C updateinfo list security
elif have zypper; then
  echo "@@manager zypper"
  echo "@@section metadata"; qmtimes /var/cache/zypp/raw/*/repodata/repomd.xml; echo "@@rc 0"
  qrun last_install lastrpm
  qrun updates zypper --non-interactive --no-refresh list-updates
  qrun security zypper --non-interactive --no-refresh list-patches --category security
else
  echo "@@missing apt-get"; echo "@@missing dnf"; echo "@@missing yum"; echo "@@missing zypper"
fi
"""

REBOOT_SH = PRELUDE + r"""
echo "@@now $(date +%s)"
echo "@@kernel $(uname -r)"
echo "@@section boot"
for f in /boot/vmlinuz-* /boot/vmlinux-* /boot/Image-*; do [ -e "$f" ] && echo "|${f##*/}"; done
echo "@@rc 0"
echo "@@section modules"
for d in /lib/modules/* /usr/lib/modules/*; do [ -e "$d/modules.dep" ] && echo "|${d##*/}"; done
echo "@@rc 0"
for f in /var/run/reboot-required /run/reboot-required /var/run/reboot-needed /run/reboot-needed; do
  [ -e "$f" ] && echo "@@flag $f"
done
qdump /var/run/reboot-required.pkgs
if have dnf; then
  qrun needs_restarting dnf --disablerepo='*' needs-restarting -r
elif have needs-restarting; then
  qrun needs_restarting needs-restarting -r
elif have zypper; then
  qrun needs_rebooting zypper --non-interactive needs-rebooting
else
  echo "@@missing needs-restarting"
fi
"""

# Lines package managers print that carry no data for us.
NOISE = re.compile(
    r"^(Last metadata expiration check|Loaded plugins|Loading mirror speeds|Determining fastest mirrors"
    r"|Updating Subscription Management|Unable to read consumer identity|This system is not registered"
    r"|This system is receiving updates|Repository .* is listed more than once|updateinfo list done"
    r"|Loading repository data|Reading installed packages|Reading package lists|Building dependency tree"
    r"|Reading state information|Calculating upgrade|NOTE: This is only a simulation|apt-get needs root"
    r"|Keep also in mind|The following |Use '|\s+\S|.*:$|Conf |Remv |Purg |\d+ upgraded, |Found \d+ applicable"
    r"|\d+ patch(es)? needed|Considering \d+ out of|No updates found|No patches found|Security: |Warning: |Nothing to do|\s*$)"
)
APT_INST = re.compile(r"^Inst (?P<name>\S+)(?: \[(?P<current>[^\]]*)\])? \((?P<available>\S+) (?P<origins>.*?) \[[^\]]+\]\)")
ARCHES = {"x86_64", "noarch", "i686", "i386", "aarch64", "ppc64le", "ppc64", "s390x", "armv7hl", "src"}
ADVISORY = re.compile(r"^[A-Z][A-Za-z0-9]*-[A-Za-z0-9:-]+$")


# Said with exit status 0 by tools that then report "nothing to update" from no data at all.
NO_REPOSITORIES = ("No repositories defined", "There are no enabled repos", "There are no enabled repositories")


def _status(block: CommandFrame | None, ok: tuple[int, ...]) -> tuple[str, str | None]:
    if block is None:
        return "not_run", None
    if block.rc is None:
        return "cut_off", "output cut off"
    if any(marker in line for line in block.lines for marker in NO_REPOSITORIES):
        return "error", next(line for line in block.lines if any(m in line for m in NO_REPOSITORIES))[:300]
    if block.rc not in ok:
        detail = next((line for line in block.lines if line.startswith(("E:", "Error", "error"))), None)
        return "error", (detail or (block.lines[-1] if block.lines else ""))[:300] + f" (exit {block.rc})"
    return "ok", None


def _is_security_origin(origin: str) -> bool:
    # "Debian-Security:12/oldstable-security", "Ubuntu:22.04/jammy-security",
    # "UbuntuESM:20.04/focal-infra-security", and Debian 10's "Debian-Security:10/oldoldstable".
    label, _, archive = origin.strip().partition("/")
    return archive.endswith("-security") or label.lower().startswith("debian-security")


def _parse_apt(block: CommandFrame, unparsed: list[str]) -> tuple[list[PendingUpdate], list[str]]:
    updates: list[PendingUpdate] = []
    kept: list[str] = []
    in_kept = False
    for line in block.lines:
        m = APT_INST.match(line)
        if m:
            origins = [o.strip() for o in m.group("origins").split(",")]
            updates.append(PendingUpdate(name=m.group("name"), current=m.group("current"),
                                         available=m.group("available"), origin=", ".join(origins),
                                         security=any(_is_security_origin(o) for o in origins)))
            continue
        if line.startswith("The following packages have been kept back"):
            in_kept = True
            continue
        if in_kept and line.startswith("  "):
            kept += line.split()
            continue
        in_kept = False
        if line.startswith("Inst ") or not NOISE.match(line) and not line.startswith(("E:", "W:", "N:")):
            unparsed.append(line)
    return updates, kept


def _nevra_name(nevra: str) -> str:
    base, dot, arch = nevra.rpartition(".")
    if dot and arch in ARCHES:
        nevra = base
    parts = nevra.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else nevra


def _parse_check_update(block: CommandFrame, unparsed: list[str]) -> list[PendingUpdate]:
    """`dnf/yum check-update`: `name.arch  version  repo` rows; long names wrap to two lines."""
    updates: list[PendingUpdate] = []
    carry = ""
    for line in block.lines:
        if line.startswith("Obsoleting Packages"):
            break  # what follows are obsoletes, listed in another shape
        row = (carry + " " + line) if carry else line
        carry = ""
        tokens = row.split()
        if len(tokens) == 1 and "." in tokens[0] and not row.startswith(" "):
            carry = tokens[0]  # wrapped row: name.arch alone, the rest on the next line
        elif len(tokens) == 3 and "." in tokens[0] and not row.startswith(" "):
            name, _, arch = tokens[0].rpartition(".")
            updates.append(PendingUpdate(name=name if arch in ARCHES else tokens[0], available=tokens[1],
                                         origin=tokens[2]))
        elif not NOISE.match(row) and not row.startswith(("Error", "error")):
            unparsed.append(row)
    if carry:
        unparsed.append(carry)
    return updates


def _parse_updateinfo(block: CommandFrame, unparsed: list[str]) -> list[PendingUpdate]:
    """`dnf updateinfo list --security` / `yum updateinfo list security`:
    `RHSA-2024:1234 Important/Sec. openssl-libs-1:3.0.7-25.el9_3.x86_64`."""
    out: list[PendingUpdate] = []
    for line in block.lines:
        tokens = line.split()
        if len(tokens) >= 3 and ADVISORY.match(tokens[0]):
            kind = next((t for t in tokens[1:-1] if t.endswith("/Sec.") or t.lower() == "security"), None)
            if kind is not None:
                severity = kind.split("/")[0] if "/" in kind else None
                out.append(PendingUpdate(name=_nevra_name(tokens[-1]), available=tokens[-1], security=True,
                                         advisory=tokens[0], severity=severity))
            continue  # an advisory row: security ones kept, bugfix and enhancement ones not ours
        if not NOISE.match(line):
            unparsed.append(line)
    return out


def _zypper_table(block: CommandFrame, unparsed: list[str]) -> list[dict[str, str]]:
    """Rows of a zypper table as {lower-case column name: cell}."""
    rows: list[dict[str, str]] = []
    header: list[str] | None = None
    for line in block.lines:
        if line.strip() and set(line.strip()) <= {"-", "+"}:
            continue  # the rule under the header
        if "|" not in line:
            if not NOISE.match(line):
                unparsed.append(line)
            continue
        cells = [c.strip() for c in line.split("|")]
        if header is None:
            header = [c.lower() for c in cells]
            continue
        if len(cells) != len(header):
            unparsed.append(line)
            continue
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def _metadata(block: CommandFrame | None, unparsed: list[str]) -> list[FileTime]:
    files = []
    for line in block.lines if block else []:
        stamp, _, path = line.partition(" ")
        if stamp.isdigit() and path:
            files.append(FileTime(path=path, mtime=int(stamp)))
        else:
            unparsed.append(line)
    return files


def _last_change(frames: Frames, manager: str) -> tuple[int | None, str | None]:
    if manager == "apt":
        block = frames.commands.get("last_change")
        stamp = block.lines[0].partition(" ")[0] if block and block.lines else ""
        log = frames.commands.get("dpkg_log")
        last_log = log.lines[-1][:200] if log and log.rc == 0 and log.lines else None
        if stamp.isdigit():
            return int(stamp), "mtime of /var/lib/dpkg/status" + (f"; last dpkg.log line: {last_log}" if last_log else "")
        return None, None
    block = frames.commands.get("last_install")
    if block and block.rc == 0 and block.lines:
        stamp, _, package = block.lines[-1].partition(" ")
        if stamp.isdigit():
            return int(stamp), f"rpm install time of {package[:200]}"
    return None, None


def parse_patching(text: str) -> Patching:
    frames = split_frames(text)
    unparsed = list(frames.stray)
    manager = frames.value("manager") or "unknown"
    if manager not in ("apt", "dnf", "yum", "zypper"):
        manager = "unknown"
    updates_block, security_block = frames.commands.get("updates"), frames.commands.get("security")
    updates: list[PendingUpdate] = []
    kept: list[str] = []
    security_status, security_error = "not_run", None
    if manager == "apt":
        updates_status, updates_error = _status(updates_block, (0,))
        if updates_block is not None:
            updates, kept = _parse_apt(updates_block, unparsed)
        # apt answers both questions at once: the origin of each candidate says "security".
        security_status, security_error = updates_status, updates_error
    elif manager in ("dnf", "yum"):
        # check-update: 100 = updates available, 0 = none, 1 = error (dnf(8), yum(8)).
        updates_status, updates_error = _status(updates_block, (0, 100))
        if updates_block is not None and updates_status != "error":
            updates = _parse_check_update(updates_block, unparsed)
        security_status, security_error = _status(security_block, (0,))
        if security_block is not None and security_status == "ok":
            updates = _merge_security(updates, _parse_updateinfo(security_block, unparsed))
    elif manager == "zypper":
        # 100-103 are zypper's "information" exit codes (updates, security updates, reboot needed).
        zypper_ok = (0, 100, 101, 102, 103)
        updates_status, updates_error = _status(updates_block, zypper_ok)
        if updates_block is not None and updates_status != "error":
            for row in _zypper_table(updates_block, unparsed):
                updates.append(PendingUpdate(name=row.get("name", ""), current=row.get("current version"),
                                             available=row.get("available version"), origin=row.get("repository")))
        security_status, security_error = _status(security_block, zypper_ok)
        if security_block is not None and security_status == "ok":
            for row in _zypper_table(security_block, unparsed):
                if row.get("category", "security") == "security" and row.get("status", "needed") in ("needed", ""):
                    interactive = row.get("interactive", "---")
                    updates.append(PendingUpdate(name=row.get("name", ""), origin=row.get("repository"),
                                                 security=True, advisory=row.get("name"),
                                                 severity=row.get("severity"),
                                                 interactive=None if interactive in ("---", "") else interactive))
    else:
        updates_status, updates_error = "not_run", None
    last_change, last_source = _last_change(frames, manager)
    return Patching(
        now=as_int(frames.value("now")), manager=manager, updates_status=updates_status, updates_error=updates_error,
        updates=tuple(u for u in updates if u.name), security_status=security_status, security_error=security_error,
        kept_back=tuple(kept), metadata_files=tuple(_metadata(frames.commands.get("metadata"), unparsed)),
        last_change=last_change, last_change_source=last_source, missing=frames.args("missing"),
        unparsed_lines=cap_lines(unparsed))


SEVERITY_RANK = {"critical": 4, "important": 3, "moderate": 2, "low": 1}


def _one_per_package(security: list[PendingUpdate]) -> list[PendingUpdate]:
    """dnf lists a package once per advisory that updates it (Rocky 8: kernel under RLSA-2022:5564
    and RLSA-2022:5819): one entry per package, its newest version, every advisory named, the
    highest severity kept."""
    out: dict[str, PendingUpdate] = {}
    for s in security:
        old = out.get(s.name)
        if old is None:
            out[s.name] = s
            continue
        newest = s if compare_versions(s.available or "", old.available or "") > 0 else old
        advisories = dict.fromkeys(a for u in (old, s) for a in (u.advisory or "").split(", ") if a)
        severity = max((old.severity, s.severity), key=lambda v: SEVERITY_RANK.get((v or "").lower(), 0))
        out[s.name] = newest.model_copy(update={"advisory": ", ".join(advisories), "severity": severity})
    return list(out.values())


def _merge_security(updates: list[PendingUpdate], security: list[PendingUpdate]) -> list[PendingUpdate]:
    """Flag the pending updates an advisory covers; keep advisories for packages check-update
    did not list (it may have failed) as their own entries."""
    security = _one_per_package(security)
    by_name = {s.name: s for s in security}
    merged = [u.model_copy(update={"security": True, "advisory": by_name[u.name].advisory,
                                   "severity": by_name[u.name].severity}) if u.name in by_name else u
              for u in updates]
    listed = {u.name for u in updates}
    return merged + [s for s in security if s.name not in listed]


# -- reboot --------------------------------------------------------------------------------------
def _kernel_names(block: CommandFrame | None) -> list[str]:
    names = []
    for line in block.lines if block else []:
        name = line.strip()
        for prefix in ("vmlinuz-", "vmlinux-", "Image-"):
            if name.startswith(prefix):
                name = name[len(prefix):]
        # RHEL's rescue image (vmlinuz-0-rescue-<machine id>) is not a kernel anyone boots by default.
        if name and not name.startswith("0-rescue") and name not in names:
            names.append(name)
    return names


KERNEL_FLAVOUR = re.compile(r"(?:\.(x86_64|aarch64|ppc64le|s390x|i686)(\+\w+)?|-([a-z][a-z0-9-]*))$")


def kernel_flavour(release: str) -> str:
    """`generic` of 5.15.0-91-generic, `cloud-amd64` of 6.1.0-18-cloud-amd64, `x86_64` of
    5.14.0-427.el9.x86_64: kernels of one flavour are the ones that replace each other."""
    m = KERNEL_FLAVOUR.search(release)
    return "".join(g for g in m.groups() if g) if m else ""


def parse_reboot(text: str) -> RebootStatus:
    frames = split_frames(text)
    unparsed = list(frames.stray)
    running = frames.value("kernel") or None
    kernels, source = _kernel_names(frames.commands.get("boot")), "boot"
    if not kernels:
        kernels, source = _kernel_names(frames.commands.get("modules")), "modules"
    if not kernels:
        source = "none"
    kernels.sort(key=cmp_to_key(compare_versions))
    # Compare with kernels of the running one's flavour (generic vs aws on one Ubuntu host).
    same = [k for k in kernels if running and kernel_flavour(k) == kernel_flavour(running)] or kernels
    newest = same[-1] if same else None
    running_is_newest = None
    if running and newest:
        running_is_newest = compare_versions(running, newest) >= 0
    pkgs = frames.files.get("/var/run/reboot-required.pkgs")
    verdict, tool, output = "missing" if frames.missing else "not_run", None, ()
    for name, tool_name in (("needs_restarting", "needs-restarting -r"), ("needs_rebooting", "zypper needs-rebooting")):
        block = frames.commands.get(name)
        if block is None:
            continue
        tool, output = tool_name, cap_lines(block.lines, 20)
        joined = "\n".join(block.lines)
        if block.rc is None:
            verdict = "error"
        elif name == "needs_rebooting":
            verdict = {0: "no_reboot", 102: "reboot"}.get(block.rc, "error")
        elif "No such command" in joined or "Unknown command" in joined:
            verdict = "missing"
        elif "Reboot is required" in joined:
            verdict = "reboot"
        elif "Reboot should not be necessary" in joined or "Reboot is probably not necessary" in joined:
            verdict = "no_reboot"
        else:
            verdict = "error"
    return RebootStatus(
        now=as_int(frames.value("now")), running_kernel=running, installed_kernels=tuple(kernels),
        kernels_source=source, newest_kernel=newest, running_is_newest=running_is_newest,
        reboot_required_flag=bool(frames.values.get("flag")),
        reboot_required_packages=tuple(sorted({p.strip() for p in (pkgs.lines if pkgs else []) if p.strip()})),
        needs_restarting=verdict, needs_restarting_tool=tool, needs_restarting_output=output,
        unparsed_lines=cap_lines(unparsed))


PROBES = [
    # root: dnf and yum keep their cache per user, so only root sees the system's cache.
    # apt's resolver or dnf's metadata load costs seconds of CPU; on a slow or busy host (or 100
    # lab hosts sharing 2 cores: 32 of 100 hit a 30 s limit) it needs far longer than the rest.
    Probe("patching", PATCHING_SH, parse_patching, root=True, output_cap=1024 * 1024, timeout=180),
    Probe("patching_reboot", REBOOT_SH, parse_reboot),
]
