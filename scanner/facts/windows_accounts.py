"""Password, lockout and audit policy of a Windows host, from `net accounts` and
`auditpol /get /category:* /r` (parsed by scanner/winprobes/accounts.py).

A fact that could not be read says so (`state` and a reason code, never prose: the checks word it from
the text catalogs) and leaves every value None, so that nothing unread can be judged as compliant.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from scanner.facts.host import WindowsFact
from scanner.model import Frozen

# net.exe prints a word instead of a number for a "no limit" value: "Never" (force logoff, lockout
# threshold), "Unlimited" (maximum password age), "None" (password history). The word is translated,
# so the parser records the meaning of "a word on that line", not the word.
NO_LIMIT = "no_limit"

ParseState = Literal["ok", "empty", "unparsed"]
NetAccountsReason = Literal["empty", "too_long", "too_few_lines", "no_separator", "bad_value"]


class NetAccountsPolicy(WindowsFact):
    """The local (or, on a domain controller, the domain) password and lockout policy."""

    PART: ClassVar[str] = "win_net_accounts"

    state: ParseState
    reason: NetAccountsReason | None = None
    reason_line: int | None = None  # 1-based line of the output that did not fit, when one did not
    # minutes, or NO_LIMIT: users are never forced off when their logon hours end
    force_logoff_minutes: int | Literal["no_limit"] | None = None
    min_password_age_days: int | None = None
    max_password_age_days: int | Literal["no_limit"] | None = None  # NO_LIMIT: passwords never expire
    min_password_length: int | None = None
    password_history: int | None = None  # passwords remembered; the "None" word is recorded as 0
    lockout_threshold: int | None = None  # failed logons before lockout; the "Never" word is recorded as 0
    lockout_duration_minutes: int | None = None
    lockout_window_minutes: int | None = None
    computer_role: str | None = None  # PRIMARY (domain controller), BACKUP, SERVER, WORKSTATION, as printed

    @property
    def lockout_enabled(self) -> bool | None:
        return None if self.lockout_threshold is None else self.lockout_threshold > 0


AuditSetting = Literal[0, 1, 2, 3]  # none, success, failure, success and failure (auditpol's Setting Value)
AuditState = Literal["ok", "empty", "unparsed", "access_denied"]
AuditReason = Literal["empty", "too_long", "no_header", "no_rows", "privilege_not_held", "access_denied"]


class AuditSubcategory(Frozen):
    guid: str  # upper case, braces kept: {0CCE9215-69AE-11D9-BED3-505054503030}
    name: str  # as printed (translated on non-English Windows): for display only, never for matching
    setting: AuditSetting | None = None  # None: not decidable from this output
    # value_column: the numeric Setting Value; english_text: the Inclusion Setting of an English output
    setting_from: Literal["value_column", "english_text"] | None = None


class AuditPolicy(WindowsFact):
    """The system audit policy by subcategory GUID (names are translated, GUIDs are not)."""

    PART: ClassVar[str] = "win_auditpol"

    state: AuditState
    reason: AuditReason | None = None
    detail: str = ""  # the error code auditpol printed (e.g. 0x00000522), when it printed one
    english: bool | None = None  # the header is auditpol's English one: only then is the text mapped
    value_column: bool | None = None  # the Setting Value column was present
    subcategories: dict[str, AuditSubcategory] = {}
    skipped_rows: int = 0  # rows of the wrong shape (cut, malformed) or with a GUID seen twice in conflict

    def setting(self, guid: str) -> AuditSetting | None:
        sub = self.subcategories.get(guid.upper() if guid.startswith("{") else "{" + guid.upper() + "}")
        return sub.setting if sub else None
