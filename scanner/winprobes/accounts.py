"""Pure parsers of `net accounts` and `auditpol /get /category:* /r` outputs.

`net accounts` prints its labels in the language of the Windows installation ("Minimum password
length:", "Longueur minimale du mot de passe :", ...), so the parser never reads a label: it reads the
value after the last colon of each line and knows each line by its position. net.exe prints the same
settings in a fixed order; the parser assumes a translated net.exe keeps that order (no recorded
translated output was found to confirm it, so a translated output that does not fit is refused below):

    line 1  force logoff after logon hours expire (minutes, or a word: never)
    line 2  minimum password age (days)
    line 3  maximum password age (days, or a word: unlimited)
    line 4  minimum password length
    line 5  length of password history maintained (or a word: none)
    line 6  lockout threshold (failed logons, or a word: never)
    line 7  lockout duration (minutes)
    line 8  lockout observation window (minutes)
    line 9  computer role (PRIMARY, BACKUP, SERVER, WORKSTATION)
    line 10 "The command completed successfully." (translated; not read)

Blank lines are skipped before counting. A line that is the last of the output and has no line break
may have been cut (a capped or interrupted output), so it is not read: a cut "30" would read as "3".
An output whose first eight lines do not all fit their slot (a colon, then a number, or a single word
where a word is allowed) is refused as a whole with the line that did not fit, rather than guessed at.

`auditpol /r` prints CSV: Machine Name, Policy Target, Subcategory, Subcategory GUID, Inclusion Setting,
Exclusion Setting[, Setting Value]. Rows are keyed by GUID (subcategory names are translated). The
numeric Setting Value (0 none, 1 success, 2 failure, 3 both) is used when the column exists; without
it the Inclusion Setting text is mapped only when the header is auditpol's English header, since the
text is translated too; otherwise the setting is unknown (None). Without the "Manage auditing and
security log" right auditpol prints "Error 0x00000522 occurred:" (translated around the code), which
becomes an access_denied fact carrying the code.
"""

from __future__ import annotations

import csv
import re

from scanner.facts.windows_accounts import NO_LIMIT, AuditPolicy, AuditSubcategory, NetAccountsPolicy

MAX_LINE = 1000  # a real line of either output is under 200 characters; longer ones are junk
MAX_ROWS = 500  # auditpol lists about 60 subcategories
# Both outputs are a few kilobytes; one far larger is something else (or junk) and is refused whole.
MAX_NET_ACCOUNTS = 64 * 1024
MAX_AUDITPOL = 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_NUMBER = re.compile(r"\d{1,6}")
# up to four words with no digit and no punctuation: how net.exe spells a "no limit" value in any
# language ("Never", "Jamais", "Unbegrenzt"; some languages need more than one word)
_WORD = re.compile(r"[^\W\d_]+(?: [^\W\d_]+){0,3}")


def _read(text: str, cap: int, fact: type[NetAccountsPolicy] | type[AuditPolicy]):
    """The complete lines of `text`, or the refusal of an output too long or empty to be the command's."""
    if len(text) > cap:
        return fact(state="unparsed", reason="too_long")
    return complete_lines(text) or fact(state="empty", reason="empty")


def complete_lines(text: str) -> list[str]:
    """The non-blank lines of `text`, without a last line that has no line break (it may be cut)."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines.pop()
    return [line.strip() for line in lines if line.strip()]


# --- net accounts -------------------------------------------------------------------------------

# (field, a word is allowed on the line, what the word means)
_SLOTS: tuple[tuple[str, bool, object], ...] = (
    ("force_logoff_minutes", True, NO_LIMIT),
    ("min_password_age_days", False, None),
    ("max_password_age_days", True, NO_LIMIT),
    ("min_password_length", False, None),
    ("password_history", True, 0),
    ("lockout_threshold", True, 0),
    ("lockout_duration_minutes", False, None),
    ("lockout_window_minutes", False, None),
)


def _value(line: str) -> str | None:
    if len(line) > MAX_LINE or _CONTROL.search(line):
        return None
    label, sep, value = line.rpartition(":")
    return value.strip() if sep and label.strip() else None


def parse_net_accounts(text: str) -> NetAccountsPolicy:
    lines = _read(text, MAX_NET_ACCOUNTS, NetAccountsPolicy)
    if isinstance(lines, NetAccountsPolicy):
        return lines
    if len(lines) < len(_SLOTS):
        return NetAccountsPolicy(state="unparsed", reason="too_few_lines")
    values: dict[str, object] = {}
    for index, (field, word_allowed, word_means) in enumerate(_SLOTS):
        value = _value(lines[index])
        if value is None:
            return NetAccountsPolicy(state="unparsed", reason="no_separator", reason_line=index + 1)
        if _NUMBER.fullmatch(value):
            values[field] = int(value)
        elif word_allowed and _WORD.fullmatch(value):
            values[field] = word_means
        else:
            return NetAccountsPolicy(state="unparsed", reason="bad_value", reason_line=index + 1)
    role = _value(lines[len(_SLOTS)]) if len(lines) > len(_SLOTS) else None
    values["computer_role"] = role if role and _WORD.fullmatch(role) and len(role) <= 40 else None
    return NetAccountsPolicy(state="ok", **values)


# --- auditpol ------------------------------------------------------------------------------------

ENGLISH_HEADER = ("Machine Name", "Policy Target", "Subcategory", "Subcategory GUID", "Inclusion Setting",
                  "Exclusion Setting")
ENGLISH_SETTINGS = {"No Auditing": 0, "Success": 1, "Failure": 2, "Success and Failure": 3}
_GUID = re.compile(r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}")
# Win32 codes auditpol prints as "Error 0x00000522 occurred:"; the words around them are translated
_DENIED = {"0x00000522": "privilege_not_held", "0x00000005": "access_denied"}
_ERROR_CODE = re.compile(r"0x[0-9A-Fa-f]{8}")


def _csv_row(line: str) -> list[str] | None:
    if len(line) > MAX_LINE or _CONTROL.search(line):
        return None
    try:
        return next(csv.reader([line]))
    except (csv.Error, StopIteration):
        return None


def _header(lines: list[str]) -> tuple[int, list[str]] | None:
    """The index and cells of the CSV header: the first line of 6 or 7 cells whose next line has a GUID."""
    for index, line in enumerate(lines[:20]):
        cells = _csv_row(line.lstrip("\ufeff"))
        if cells and len(cells) in (6, 7) and not _GUID.fullmatch(cells[3].strip()):
            following = _csv_row(lines[index + 1]) if index + 1 < len(lines) else None
            if following and len(following) == len(cells):
                return index, [c.strip() for c in cells]
    return None


def _denied(text: str) -> AuditPolicy | None:
    for code in _ERROR_CODE.findall(text[:4096]):
        if code.lower() in _DENIED:
            return AuditPolicy(state="access_denied", reason=_DENIED[code.lower()], detail=code.lower())
    return None


def parse_auditpol(text: str) -> AuditPolicy:
    lines = _read(text, MAX_AUDITPOL, AuditPolicy)
    if isinstance(lines, AuditPolicy):
        return lines
    found = _header(lines)
    if found is None:
        return _denied(text) or AuditPolicy(state="unparsed", reason="no_header")
    start, header = found
    english = tuple(header[:6]) == ENGLISH_HEADER and (len(header) == 6 or header[6] == "Setting Value")
    has_value = len(header) == 7
    subs: dict[str, AuditSubcategory] = {}
    skipped = 0
    for line in lines[start + 1: start + 1 + MAX_ROWS]:
        cells = _csv_row(line)
        if cells is None or len(cells) != len(header):
            skipped += 1
            continue
        guid = cells[3].strip()
        if not _GUID.fullmatch(guid):
            continue  # option rows (Option:CrashOnAuditFail) and category rows carry no GUID
        sub = _subcategory(guid.upper(), cells, english, has_value)
        earlier = subs.get(sub.guid)
        if earlier is not None and earlier.setting != sub.setting:
            subs[sub.guid] = earlier.model_copy(update={"setting": None, "setting_from": None})
            skipped += 1
        elif earlier is None:
            subs[sub.guid] = sub
    if not subs:
        return AuditPolicy(state="unparsed", reason="no_rows", english=english, value_column=has_value,
                           skipped_rows=skipped)
    return AuditPolicy(state="ok", english=english, value_column=has_value, subcategories=subs,
                       skipped_rows=skipped)


def _subcategory(guid: str, cells: list[str], english: bool, has_value: bool) -> AuditSubcategory:
    name = cells[2].strip()[:120]
    if has_value:
        raw = cells[6].strip()
        # 4 and above are per-user exclusion bits, not a system setting
        setting = int(raw) if raw in ("0", "1", "2", "3") else None
        return AuditSubcategory(guid=guid, name=name, setting=setting,
                                setting_from="value_column" if setting is not None else None)
    if english and cells[4].strip() in ENGLISH_SETTINGS:
        return AuditSubcategory(guid=guid, name=name, setting=ENGLISH_SETTINGS[cells[4].strip()],
                                setting_from="english_text")
    return AuditSubcategory(guid=guid, name=name)
