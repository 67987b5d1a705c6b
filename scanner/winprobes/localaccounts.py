"""Probe and pure parser of a Windows host's local users and its local Administrators group.

Users come from Get-LocalUser (Microsoft.PowerShell.LocalAccounts: Windows Server 2016 and later) or,
where that cmdlet is missing (Server 2012 R2) or failed, from Win32_UserAccount (LocalAccount=True).
The Administrators group is named by its well-known SID S-1-5-32-544, never by its (translated) name.
Get-LocalGroupMember throws "Failed to compare two elements in the array." when a member SID cannot be
resolved (an orphaned domain SID: PowerShell/PowerShell issues 2996 and 21617, MicrosoftDocs/PowerShell-
Docs issue 7236); the members are then read from the Win32_GroupUser association, which lists only the
members Windows can resolve: the fact says which source it used.

On a domain controller both user reads list every domain account (PSP-Inventory issue 26 reports it for
local-user enumeration), which may pass the probe's output cap; two small sections read only RID 500 and 501,
so the built-in Administrator and Guest are still known when the whole list is not. The role comes from
Win32_OperatingSystem.ProductType (2: domain controller), as scanner/winprobes/system.py reads it.
"""

from __future__ import annotations

import re
from typing import Any

from scanner.facts.windows_localaccounts import GroupMember, LocalUser, WindowsLocalAccounts
from scanner.winprobes import ProbeOutput, Section, WinProbe
from scanner.winprobes.psjson import clean_text, json_int, load_items, load_json, parse_datetime
from scanner.winprobes.registry import error_kind, section_text

ADMINISTRATORS_SID = "S-1-5-32-544"
MAX_USERS = 5000
MAX_MEMBERS = 1000
_SID = re.compile(r"S-1-\d{1,13}(?:-\d{1,10}){1,14}")
# The machine's (or domain's) accounts: S-1-5-21-<three sub-authorities>-<RID>.
_BUILTIN = re.compile(r"S-1-5-21-\d{1,10}-\d{1,10}-\d{1,10}-(500|501)")
_UNRESOLVED = "Failed to compare two elements in the array"
_KINDS = {"user": "user", "group": "group", "win32_useraccount": "user", "win32_group": "group",
          "win32_systemaccount": "system"}


def _sid(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("Value")  # a SecurityIdentifier written whole
    return value.strip().upper() if isinstance(value, str) and _SID.fullmatch(value.strip().upper()) else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _builtin(sid: str) -> str | None:
    m = _BUILTIN.fullmatch(sid)
    return {"500": "administrator", "501": "guest"}[m.group(1)] if m else None


def _from_localuser(item: dict[str, Any], sid: str) -> LocalUser:
    expires: bool | None = None
    expires_at = None
    if "PasswordExpires" in item:
        expires_at = parse_datetime(item["PasswordExpires"])
        # null: Get-LocalUser's way of saying the password never expires
        expires = False if item["PasswordExpires"] is None else (True if expires_at is not None else None)
    return LocalUser(name=clean_text(item.get("Name")), sid=sid, builtin=_builtin(sid),
                     enabled=_flag(item.get("Enabled")), password_required=_flag(item.get("PasswordRequired")),
                     password_expires=expires, password_expires_at=expires_at,
                     password_last_set=parse_datetime(item.get("PasswordLastSet")),
                     last_logon=parse_datetime(item.get("LastLogon")), description=clean_text(item.get("Description")))


def _from_cim(item: dict[str, Any], sid: str) -> LocalUser:
    disabled = _flag(item.get("Disabled"))
    return LocalUser(name=clean_text(item.get("Name")), sid=sid, builtin=_builtin(sid),
                     enabled=None if disabled is None else not disabled,
                     password_required=_flag(item.get("PasswordRequired")),
                     password_expires=_flag(item.get("PasswordExpires")), locked_out=_flag(item.get("Lockout")))


def _users(text: str, build) -> tuple[str, tuple[LocalUser, ...], int, str | None]:
    """(status, users, skipped, reason) of one user-list section."""
    if (kind := error_kind(text)) is not None:
        return ("access_denied" if kind == "access_denied" else "unavailable"), (), 0, kind
    items, status = load_items(text)
    if status != "ok":
        return status, (), 0, None
    users: dict[str, LocalUser] = {}
    skipped = max(0, len(items) - MAX_USERS)
    for item in items[:MAX_USERS]:
        sid = _sid(item.get("SID")) if isinstance(item, dict) else None
        if sid is None or sid in users:
            skipped += 1
            continue
        users[sid] = build(item, sid)
    if not users:
        return "unparsed", (), skipped, None
    return "ok", tuple(users.values()), skipped, None


def _member(item: dict[str, Any]) -> GroupMember | None:
    sid = _sid(item.get("SID"))
    name = clean_text(item.get("Name"))
    if sid is None and name is None:
        return None
    domain = clean_text(item.get("Domain"))
    kind_text = clean_text(item.get("ObjectClass")) or clean_text(item.get("Class")) or ""
    return GroupMember(name=f"{domain}\\{name}" if domain and name and "\\" not in name else name, sid=sid,
                       kind=_KINDS.get(kind_text.lower(), "other") if kind_text else None,  # type: ignore[arg-type]
                       source=clean_text(item.get("PrincipalSource")))


def _members(text: str) -> tuple[str, tuple[GroupMember, ...], str | None]:
    if (kind := error_kind(text)) is not None:
        if _UNRESOLVED in text[:8192]:
            return "unavailable", (), "unresolvable_member"
        return ("access_denied" if kind == "access_denied" else "unavailable"), (), kind
    items, status = load_items(text)
    if status != "ok":
        return status, (), None
    found = [m for m in (_member(i) for i in items[:MAX_MEMBERS] if isinstance(i, dict)) if m is not None]
    if items and not found:
        return "unparsed", (), None
    return "ok", tuple(found), None


def _domain_controller(text: str) -> bool | None:
    data, status = load_json(text)
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    product = json_int(data.get("ProductType")) if status == "ok" and isinstance(data, dict) else None
    return {1: False, 2: True, 3: False}.get(product) if product is not None else None  # type: ignore[arg-type]


def _user_list(output: ProbeOutput, cmdlet_section: str, cim_section: str):
    """(status, users, skipped, reason, source): Get-LocalUser's list, else Win32_UserAccount's."""
    status, users, skipped, reason = _users(section_text(output, cmdlet_section), _from_localuser)
    if status == "ok":
        return status, users, skipped, reason, "get_localuser"
    cim = _users(section_text(output, cim_section), _from_cim)
    if cim[0] == "ok" or status == "empty":
        return cim[0], cim[1], cim[2], reason, "win32_useraccount" if cim[0] == "ok" else None
    return status, users, skipped, reason, None


def parse_local_accounts(output: ProbeOutput) -> WindowsLocalAccounts:
    status, users, skipped, reason, source = _user_list(output, "users", "cim_users")
    # The built-ins come from the whole list, or else from the two-account read, which a domain controller's
    # thousands of (domain) accounts cannot push past the output cap.
    builtin_source, listed = source, users
    if status != "ok":
        _, listed, _, _, builtin_source = _user_list(output, "builtin", "cim_builtin")
    by_kind = {u.builtin: u for u in listed if u.builtin}
    # the members of an empty group print nothing: "ok" with no member only when the section ran clean
    admins_status, members, admins_reason = _members(section_text(output, "admins"))
    admins_source = "get_localgroupmember"
    if admins_status not in ("ok",):
        fallback = _members(section_text(output, "cim_admins"))
        if fallback[0] == "ok":
            admins_status, members, admins_source = "ok", fallback[1], "win32_groupuser"
    if admins_status == "empty" and "admins" in output.sections and output.sections["admins"].error is None \
            and not output.sections["admins"].truncated:
        admins_status = "ok"  # the section ran and listed no member
    return WindowsLocalAccounts(
        status=status, users_source=source,  # type: ignore[arg-type]
        users_reason=reason, domain_controller=_domain_controller(section_text(output, "role")), users=users,
        skipped=skipped, administrator=by_kind.get("administrator"), guest=by_kind.get("guest"),
        builtin_source=builtin_source if by_kind else None,  # type: ignore[arg-type]
        administrators_status=admins_status,  # type: ignore[arg-type]
        administrators_source=admins_source if admins_status == "ok" else None,  # type: ignore[arg-type]
        administrators_reason=admins_reason, administrators=members)


_SID_VALUE = "@{n='SID';e={$_.SID.Value}}"
_AS_TEXT = "@{{n='{0}';e={{[string]$_.{0}}}}}"
_LOCALUSER_FIELDS = ("Name,Enabled,PasswordRequired,PasswordExpires,PasswordLastSet,LastLogon,Description,"
                     f"{_SID_VALUE},{_AS_TEXT.format('PrincipalSource')}")
_CIM_USER_FIELDS = "Name,SID,Disabled,PasswordRequired,PasswordExpires,Lockout"
_CIM_USERS = "Get-CimInstance -ClassName Win32_UserAccount -Filter \"LocalAccount=True{}\" | Select-Object "

PROBES: tuple[WinProbe, ...] = (
    WinProbe("win_local_accounts", sections=(
        Section("role", "Get-CimInstance -ClassName Win32_OperatingSystem | Select-Object ProductType"),
        Section("users", f"Get-LocalUser | Select-Object {_LOCALUSER_FIELDS}"),
        Section("cim_users", _CIM_USERS.format("") + _CIM_USER_FIELDS),
        # RID 500 and 501 only: small on any host, a domain controller included
        Section("builtin", "Get-LocalUser | Where-Object { $_.SID.Value -match '-50[01]$' } | "
                           f"Select-Object {_LOCALUSER_FIELDS}"),
        Section("cim_builtin", _CIM_USERS.format(" AND (SID LIKE '%-500' OR SID LIKE '%-501')") + _CIM_USER_FIELDS),
        Section("admins", f"Get-LocalGroupMember -SID {ADMINISTRATORS_SID} | Select-Object Name,{_SID_VALUE},"
                          f"{_AS_TEXT.format('ObjectClass')},{_AS_TEXT.format('PrincipalSource')}"),
        Section("cim_admins", f"Get-CimInstance -ClassName Win32_Group -Filter \"SID='{ADMINISTRATORS_SID}'\" | "
                              "Get-CimAssociatedInstance -Association Win32_GroupUser | Select-Object Name,Domain,"
                              "SID,@{n='Class';e={$_.CimClass.CimClassName}}"),
    ), parse=parse_local_accounts, timeout=60),
)
