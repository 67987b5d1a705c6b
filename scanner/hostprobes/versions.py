"""Version ordering the way dpkg orders versions, for installed packages (several rpm versions of
one name) and kernel releases (which installed kernel is the newest)."""

from __future__ import annotations


def _order(c: str) -> int:
    # dpkg's order of non-digit characters: ~ sorts before everything, letters before the rest.
    if c == "~":
        return -1
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _verrevcmp(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            bc = _order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ac != bc:
                return ac - bc
            i, j = i + 1, j + 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i, j = i + 1, j + 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def compare_versions(a: str, b: str) -> int:
    """Order two version strings the way dpkg does (epoch, then digit and non-digit runs);
    good enough for kernel releases of every distribution we meet (`6.1.0-18-amd64`,
    `5.14.0-427.13.1.el9_4.x86_64`). Negative, zero or positive, like strcmp."""
    def split_epoch(v: str) -> tuple[int, str]:
        epoch, sep, rest = v.partition(":")
        return (int(epoch), rest) if sep and epoch.isdigit() else (0, v)
    (ea, ra), (eb, rb) = split_epoch(a), split_epoch(b)
    if ea != eb:
        return ea - eb
    return _verrevcmp(ra, rb)
