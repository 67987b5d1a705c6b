"""Installed packages (dpkg, rpm, apk)."""

from __future__ import annotations

import re

from scanner.facts.packages import Packages
from scanner.hostprobes import Probe
from scanner.hostprobes.frames import PRELUDE, cap_lines, split_frames
from scanner.hostprobes.versions import compare_versions

PACKAGES_SH = PRELUDE + r"""
if have dpkg-query && [ -e /var/lib/dpkg/status ]; then
  echo "@@manager dpkg"
  qrun list dpkg-query -W -f '${Package}\t${Version}\t${Status}\n'
elif have rpm; then
  echo "@@manager rpm"
  qrun list rpm -qa --qf '%{NAME}\t%{VERSION}-%{RELEASE}\n'
elif have apk; then
  echo "@@manager apk"
  qrun list apk info -v
else
  echo "@@missing dpkg-query"; echo "@@missing rpm"; echo "@@missing apk"
fi
"""

APK_RE = re.compile(r"^(?P<name>.+)-(?P<version>[^-]+-r\d+)$")


def parse_packages(text: str) -> Packages:
    frames = split_frames(text)
    manager = frames.value("manager") or "unknown"
    if manager not in ("dpkg", "rpm", "apk"):
        manager = "unknown"
    problems = [f"missing {tool}" for tool in frames.args("missing")]
    unparsed = list(frames.stray)
    installed: dict[str, str] = {}
    listing = frames.commands.get("list")
    if manager != "unknown":
        if listing is None:
            problems.append("no package list in the output")
        elif listing.rc is None:
            problems.append("package list cut off")
        elif listing.rc != 0:
            problems.append(f"package query exited {listing.rc}")
    for line in listing.lines if listing else []:
        if manager == "dpkg":
            parts = line.split("\t")
            if len(parts) != 3 or not parts[0]:
                unparsed.append(line)
            elif parts[2].split()[-1:] == ["installed"]:  # not config-files, half-installed...
                installed[parts[0]] = parts[1]
        elif manager == "rpm":
            parts = line.split("\t")
            if len(parts) == 2 and parts[0] and parts[1]:
                # Several versions of one name (kernels) may be installed: keep the newest.
                old = installed.get(parts[0])
                if old is None or compare_versions(parts[1], old) > 0:
                    installed[parts[0]] = parts[1]
            else:
                unparsed.append(line)
        else:
            m = APK_RE.match(line.strip())
            if m:
                installed[m.group("name")] = m.group("version")
            elif line.strip():
                unparsed.append(line)
    return Packages(manager=manager, installed=installed, problems=tuple(problems),
                    unparsed_lines=cap_lines(unparsed))


PROBES = [
    Probe("packages", PACKAGES_SH, parse_packages, output_cap=2 * 1024 * 1024),
]
