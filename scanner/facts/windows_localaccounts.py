"""Facts about a Windows host's local accounts and the members of its local Administrators group
(parsed by scanner/winprobes/localaccounts.py).

Built-in accounts are known by SID, never by name: names are translated and often renamed. On a domain
controller there are no local accounts: what the cmdlets list are domain accounts (`domain_controller`).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from scanner.facts.host import WindowsFact
from scanner.facts.windows_remote import ProbeStatus
from scanner.model import Frozen

BuiltinAccount = Literal["administrator", "guest"]  # RID 500, RID 501 of the machine's S-1-5-21 domain
UserSource = Literal["get_localuser", "win32_useraccount"]
MemberSource = Literal["get_localgroupmember", "win32_groupuser"]


class LocalUser(Frozen):
    name: str | None = None  # as Windows gives it: display only, never matched
    sid: str
    builtin: BuiltinAccount | None = None
    enabled: bool | None = None
    password_required: bool | None = None
    password_expires: bool | None = None  # False: the password never expires
    password_expires_at: int | None = None  # epoch seconds (Get-LocalUser only)
    password_last_set: int | None = None
    last_logon: int | None = None
    locked_out: bool | None = None  # Win32_UserAccount only
    description: str | None = None


class GroupMember(Frozen):
    name: str | None = None  # DOMAIN\\name as Windows gives it
    sid: str | None = None
    kind: Literal["user", "group", "system", "other"] | None = None
    source: str | None = None  # PrincipalSource (Local, ActiveDirectory, AzureAD, MicrosoftAccount)


class WindowsLocalAccounts(WindowsFact):
    PART: ClassVar[str] = "win_local_accounts"
    status: ProbeStatus = "unparsed"  # of the user list
    users_source: UserSource | None = None
    users_reason: str | None = None  # why Get-LocalUser was not used (cmdlet_missing on 2012 R2, ...)
    domain_controller: bool | None = None  # Win32_OperatingSystem.ProductType 2
    users: tuple[LocalUser, ...] = ()
    skipped: int = 0  # user entries without a valid SID
    administrator: LocalUser | None = None  # the built-in Administrator (RID 500), enabled or not
    guest: LocalUser | None = None  # the built-in Guest (RID 501)
    # where the two built-ins were read: the whole list, or (when it was not read, e.g. cut on a domain
    # controller's thousands of accounts) the sections that read only RID 500 and 501
    builtin_source: UserSource | None = None
    administrators_status: ProbeStatus = "unparsed"
    administrators_source: MemberSource | None = None
    # why Get-LocalGroupMember gave no list: "unresolvable_member" is its known failure on a member SID it
    # cannot resolve (PowerShell/PowerShell issues 2996 and 21617); the CIM fallback skips such members
    administrators_reason: str | None = None
    administrators: tuple[GroupMember, ...] = ()
