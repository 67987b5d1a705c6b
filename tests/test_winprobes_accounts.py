"""The `net accounts` and `auditpol /r` parsers against outputs published for real hosts
(tests/fixtures/winprobes/), their truncations, and hostile input. Outputs written inside this file are
constructed by this project to exercise one rule each; they are not recordings."""

from __future__ import annotations

import pytest

from scanner.facts.windows_accounts import NO_LIMIT
from scanner.winprobes.accounts import parse_auditpol, parse_net_accounts
from tests.fixtures import winprobes

POLICY_FIELDS = ("force_logoff_minutes", "min_password_age_days", "max_password_age_days", "min_password_length",
                 "password_history", "lockout_threshold", "lockout_duration_minutes", "lockout_window_minutes")

NET_ACCOUNTS = {
    "mslearn_domain_controller": dict(force_logoff_minutes=NO_LIMIT, min_password_age_days=0,
                                      max_password_age_days=42, min_password_length=7, password_history=24,
                                      lockout_threshold=0, lockout_duration_minutes=30, lockout_window_minutes=30,
                                      computer_role="PRIMARY"),
    "nyffenegger_workstation_defaults": dict(force_logoff_minutes=NO_LIMIT, min_password_age_days=0,
                                             max_password_age_days=42, min_password_length=0, password_history=0,
                                             lockout_threshold=0, lockout_duration_minutes=30,
                                             lockout_window_minutes=30, computer_role="WORKSTATION"),
    "windows_commandline_lockout": dict(force_logoff_minutes=0, min_password_age_days=0, max_password_age_days=120,
                                        min_password_length=8, password_history=5, lockout_threshold=10,
                                        lockout_duration_minutes=60, lockout_window_minutes=30,
                                        computer_role="WORKSTATION"),
    # Server 2012 R2 only by the article's "Applies to"; one space after each colon, trailing Markdown spaces
    "mskb556003_applies_2012r2": dict(force_logoff_minutes=NO_LIMIT, min_password_age_days=1,
                                      max_password_age_days=90, min_password_length=8, password_history=5,
                                      lockout_threshold=4, lockout_duration_minutes=4, lockout_window_minutes=4,
                                      computer_role="WORKSTATION"),
}

WIN2019 = "wazuh_win2019_backup"
GERMAN_2022 = "mql_ws2022_german"
DC = "mdi_domain_controller"
AUDITPOL = {  # GUID -> setting, read from the fixtures
    WIN2019: {"{0CCE9213-69AE-11D9-BED3-505054503030}": 0, "{0CCE9212-69AE-11D9-BED3-505054503030}": 3,
              "{0CCE9211-69AE-11D9-BED3-505054503030}": 0, "{0CCE9210-69AE-11D9-BED3-505054503030}": 1,
              "{0CCE9214-69AE-11D9-BED3-505054503030}": 3, "{0CCE9249-69AE-11D9-BED3-505054503030}": 0,
              "{0CCE9247-69AE-11D9-BED3-505054503030}": 0, "{0CCE9243-69AE-11D9-BED3-505054503030}": 3},
    DC: {"{0CCE9213-69AE-11D9-BED3-505054503030}": 0, "{0CCE9212-69AE-11D9-BED3-505054503030}": 3,
         "{0CCE9211-69AE-11D9-BED3-505054503030}": 3, "{0CCE9210-69AE-11D9-BED3-505054503030}": 1,
         "{0CCE9214-69AE-11D9-BED3-505054503030}": 3, "{0CCE9249-69AE-11D9-BED3-505054503030}": 1,
         "{0CCE9247-69AE-11D9-BED3-505054503030}": 0, "{0CCE9243-69AE-11D9-BED3-505054503030}": 0,
         "{0CCE921C-69AE-11D9-BED3-505054503030}": 3, "{0CCE921B-69AE-11D9-BED3-505054503030}": 1},
}


# The 6-column `/get /r` layout (no Setting Value): settings read from the English text. Per fixture, the
# audited subcategories by GUID prefix (all end -69AE-11D9-BED3-505054503030), and how many rows there are
# (every other row is No Auditing).
# Mondoo's captures of Server 2016, 2019 and 2022 carry the same stock policy (only the machine name differs).
CNQUERY_STOCK = {"0CCE9212": 3, "0CCE9214": 3, "0CCE9210": 1, "0CCE9215": 3, "0CCE9216": 1, "0CCE9217": 1,
                 "0CCE921B": 1, "0CCE9243": 3, "0CCE922F": 1, "0CCE9230": 1, "0CCE9236": 1, "0CCE9237": 1,
                 "0CCE9235": 1, "0CCE923B": 1, "0CCE9240": 1, "0CCE9242": 1, "0CCE923F": 1}
AUDITPOL_TEXT = {
    "cnquery_ws2016": (CNQUERY_STOCK, 60),
    "cnquery_ws2019": (CNQUERY_STOCK, 60),
    "cnquery_ws2022": (CNQUERY_STOCK, 60),
}


def test_every_fixture_has_its_expectations():
    # Guards the tables: a fixture added without expected values would be parsed and checked for nothing.
    assert set(winprobes.cases("net_accounts")) == set(NET_ACCOUNTS)
    assert set(winprobes.cases("auditpol")) == set(AUDITPOL) | set(AUDITPOL_TEXT) | {"hardening_privilege_not_held",
                                                                                   GERMAN_2022}


# --- net accounts -------------------------------------------------------------------------------

@pytest.mark.parametrize("case", sorted(NET_ACCOUNTS))
def test_net_accounts_fixture_parses_to_its_values(case):
    fact = parse_net_accounts(winprobes.load("net_accounts", case))
    assert fact.state == "ok" and fact.reason is None
    assert fact.model_dump(include=set(NET_ACCOUNTS[case])) == NET_ACCOUNTS[case]


def test_lockout_enabled_follows_the_threshold():
    assert parse_net_accounts(winprobes.load("net_accounts", "windows_commandline_lockout")).lockout_enabled is True
    assert parse_net_accounts(winprobes.load("net_accounts", "mslearn_domain_controller")).lockout_enabled is False


@pytest.mark.parametrize("case", sorted(NET_ACCOUNTS))
def test_net_accounts_truncations_never_give_a_wrong_value(case):
    text = winprobes.load("net_accounts", case)
    full = parse_net_accounts(text)
    for cut in range(len(text)):
        fact = parse_net_accounts(text[:cut])
        if fact.state == "ok":
            # a cut output may be read only when every policy line came whole, so each value is the full one
            assert fact.model_dump(include=set(POLICY_FIELDS)) == full.model_dump(include=set(POLICY_FIELDS)), cut
            assert fact.computer_role in (None, full.computer_role), cut
        else:
            assert all(getattr(fact, f) is None for f in POLICY_FIELDS), cut


def test_a_cut_last_value_is_not_read():
    # "30" cut to "3" must not read as a 3-minute window
    text = winprobes.load("net_accounts", "mslearn_domain_controller")
    cut = text[: text.index("(minutes):                 30") + len("(minutes):                 3")]
    assert parse_net_accounts(cut).state == "unparsed"
    assert parse_net_accounts(cut).lockout_window_minutes is None


def test_labels_are_not_read_only_positions():
    # Constructed: the recorded domain controller output with every label replaced by another language's
    # words and a one-word "no limit" in that language; the values come out the same.
    text = winprobes.load("net_accounts", "mslearn_domain_controller")
    lines = text.splitlines()
    swapped = [f"Nhãn số {i} (bất kỳ) :   " + line.rpartition(":")[2].strip().replace("Never", "Không bao giờ")
               for i, line in enumerate(lines[:9], 1)] + ["Lệnh đã hoàn tất thành công."]
    fact = parse_net_accounts("\r\n".join(swapped) + "\r\n")
    expected = dict(NET_ACCOUNTS["mslearn_domain_controller"])
    assert fact.state == "ok"
    assert fact.model_dump(include=set(expected)) == expected


@pytest.mark.parametrize(("text", "reason", "line"), [
    ("", "empty", None),
    ("\r\n\r\n", "empty", None),
    ("System error 5 has occurred.\r\n\r\nAccess is denied.\r\n\r\n", "too_few_lines", None),
    # a net user listing: no colons where the policy lines are
    ("User name                    User01\n" * 12, "no_separator", 1),
    # a word where a number must be (minimum password age)
    ("a: Never\nb: soon\nc: 42\nd: 7\ne: 24\nf: Never\ng: 30\nh: 30\ni: PRIMARY\nok\n", "bad_value", 2),
    # a number with a unit, a negative, a decimal: refused, not read as their digits
    ("a: Never\nb: 0\nc: 42 days\nd: 7\ne: 24\nf: Never\ng: 30\nh: 30\ni: PRIMARY\nok\n", "bad_value", 3),
    ("a: Never\nb: 0\nc: 42\nd: -7\ne: 24\nf: Never\ng: 30\nh: 30\ni: PRIMARY\nok\n", "bad_value", 4),
    ("a: Never\nb: 0\nc: 42\nd: 7\ne: 24\nf: Never\ng: 1.5\nh: 30\ni: PRIMARY\nok\n", "bad_value", 7),
])
def test_net_accounts_refuses_other_shapes(text, reason, line):
    fact = parse_net_accounts(text)
    assert fact.state in ("empty", "unparsed")
    assert (fact.reason, fact.reason_line) == (reason, line)
    assert all(getattr(fact, f) is None for f in POLICY_FIELDS)


def test_net_accounts_hostile_input():
    text = winprobes.load("net_accounts", "mslearn_domain_controller")
    with_control = text.replace("Minimum password length:", "Minimum\x1b[2J password\x00 length:")
    fact = parse_net_accounts(with_control)
    assert fact.state == "unparsed" and fact.reason_line == 4 and fact.min_password_length is None
    junk = "\x00\x07<script>:;" * (5 * 1024 * 1024 // 12)
    assert (parse_net_accounts(junk).state, parse_net_accounts(junk).reason) == ("unparsed", "too_long")
    assert parse_net_accounts(text + "x" * 5_000_000).reason == "too_long"
    long_line = text.replace("Computer role:", "Computer role" + "x" * 50_000 + ":")
    assert parse_net_accounts(long_line).computer_role is None
    role = text.replace("PRIMARY", "<b>PRIMARY</b>")
    assert parse_net_accounts(role).computer_role is None  # the policy is still read; the odd role is not


# --- auditpol -----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", sorted(AUDITPOL))
def test_auditpol_fixture_parses_by_guid_and_value(case):
    fact = parse_auditpol(winprobes.load("auditpol", case))
    assert fact.state == "ok" and fact.english is True and fact.value_column is True
    assert {g: s.setting for g, s in fact.subcategories.items()} == AUDITPOL[case]
    assert {s.setting_from for s in fact.subcategories.values()} == {"value_column"}
    assert fact.skipped_rows == 0


def expected_text_settings(case: str) -> dict[str, int]:
    audited, rows = AUDITPOL_TEXT[case]
    text = winprobes.load("auditpol", case)
    guids = [line.split(",")[3] for line in text.splitlines()[1:]]
    assert len(guids) == rows
    return {g: audited.get(g[1:9], 0) for g in guids}


@pytest.mark.parametrize("case", sorted(AUDITPOL_TEXT))
def test_auditpol_six_column_fixture_parses_the_english_text(case):
    fact = parse_auditpol(winprobes.load("auditpol", case))
    assert fact.state == "ok" and fact.english is True and fact.value_column is False
    assert {g: s.setting for g, s in fact.subcategories.items()} == expected_text_settings(case)
    assert {s.setting_from for s in fact.subcategories.values()} == {"english_text"}
    assert fact.skipped_rows == 0


@pytest.mark.parametrize("case", sorted(AUDITPOL_TEXT))
def test_auditpol_six_column_truncations_never_give_a_wrong_value(case):
    text, expected = winprobes.load("auditpol", case), expected_text_settings(case)
    for cut in range(len(text)):
        for guid, sub in parse_auditpol(text[:cut]).subcategories.items():
            assert sub.setting in (None, expected[guid]), cut


def test_auditpol_names_are_kept_for_display_and_guids_match_any_case():
    fact = parse_auditpol(winprobes.load("auditpol", DC))
    assert fact.subcategories["{0CCE921B-69AE-11D9-BED3-505054503030}"].name == "Special Logon"
    assert fact.setting("0cce921b-69ae-11d9-bed3-505054503030") == 1
    assert fact.setting("{0cce9215-69ae-11d9-bed3-505054503030}") is None  # Logon: not in this excerpt


@pytest.mark.parametrize("case", sorted(AUDITPOL))
def test_auditpol_truncations_never_give_a_wrong_value(case):
    text = winprobes.load("auditpol", case)
    for cut in range(len(text)):
        fact = parse_auditpol(text[:cut])
        for guid, sub in fact.subcategories.items():
            assert sub.setting in (None, AUDITPOL[case][guid]), cut


def test_auditpol_privilege_not_held_is_unknown_with_the_code():
    fact = parse_auditpol(winprobes.load("auditpol", "hardening_privilege_not_held"))
    assert (fact.state, fact.reason, fact.detail) == ("access_denied", "privilege_not_held", "0x00000522")
    assert fact.subcategories == {}
    # Constructed: the English wording of the same error
    english = parse_auditpol("Error 0x00000522 occurred:\r\nA required privilege is not held by the client.\r\n")
    assert (english.state, english.reason) == ("access_denied", "privilege_not_held")


ENGLISH_6 = ("Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion Setting,Exclusion Setting\r\n"
             "SRV,System,Logon,{0CCE9215-69AE-11D9-BED3-505054503030},Success and Failure,\r\n"
             "SRV,System,Logoff,{0CCE9216-69AE-11D9-BED3-505054503030},Success,\r\n"
             "SRV,System,Account Lockout,{0CCE9217-69AE-11D9-BED3-505054503030},Failure,\r\n"
             "SRV,System,File Share,{0CCE9224-69AE-11D9-BED3-505054503030},No Auditing,\r\n")


def test_auditpol_without_value_column_maps_english_text():
    # Constructed in the 6-column layout the brief names for /get /r (no recording of it was found).
    fact = parse_auditpol(ENGLISH_6)
    assert fact.state == "ok" and fact.english is True and fact.value_column is False
    assert {g[1:9]: s.setting for g, s in fact.subcategories.items()} == \
        {"0CCE9215": 3, "0CCE9216": 1, "0CCE9217": 2, "0CCE9224": 0}
    assert {s.setting_from for s in fact.subcategories.values()} == {"english_text"}


def test_auditpol_translated_text_without_value_column_is_unknown():
    # Constructed: a translated header and translated settings, 6 columns. "Succès" is not read as anything.
    text = ("Nom de l'ordinateur,Cible de stratégie,Sous-catégorie,GUID de sous-catégorie,Paramètre d'inclusion,"
            "Paramètre d'exclusion\r\n"
            "SRV,Système,Ouvrir la session,{0CCE9215-69AE-11D9-BED3-505054503030},Succès et échec,\r\n"
            "SRV,Système,Fermer la session,{0CCE9216-69AE-11D9-BED3-505054503030},Success,\r\n")
    fact = parse_auditpol(text)
    assert fact.state == "ok" and fact.english is False
    assert [s.setting for s in fact.subcategories.values()] == [None, None]  # even the English-looking word


def test_recorded_german_2022_auditpol_is_read_by_guid_and_left_unknown_without_numbers():
    """A German Server 2022 (Mondoo's recording): every row is found by its GUID and keeps its German name, but
    /get /r prints the settings only as translated text, which is not guessed at: each is unknown."""
    text = winprobes.load("auditpol", GERMAN_2022)
    fact = parse_auditpol(text)
    assert (fact.state, fact.english, fact.value_column, fact.skipped_rows) == ("ok", False, False, 0)
    assert len(fact.subcategories) == 60 == len(text.strip().splitlines()) - 1
    assert fact.subcategories["{0CCE9215-69AE-11D9-BED3-505054503030}"].name == "Anmelden"
    assert fact.subcategories["{0CCE923F-69AE-11D9-BED3-505054503030}"].name == "Überprüfung der Anmeldeinformationen"
    assert {s.setting for s in fact.subcategories.values()} == {None}


def test_auditpol_translated_with_value_column_uses_the_numbers():
    text = ("Nom,Cible,Sous-catégorie,GUID,Inclusion,Exclusion,Valeur\r\n"
            "SRV,Système,Ouvrir la session,{0CCE9215-69AE-11D9-BED3-505054503030},Succès et échec,,3\r\n"
            "SRV,Système,Option:CrashOnAuditFail,,Désactivé,,0\r\n"
            "SRV,S-1-5-21-1,Système de fichiers,{0CCE921D-69AE-11D9-BED3-505054503030},Succès,Échec,9\r\n")
    fact = parse_auditpol(text)
    assert fact.english is False
    assert fact.setting("{0CCE9215-69AE-11D9-BED3-505054503030}") == 3
    assert fact.setting("{0CCE921D-69AE-11D9-BED3-505054503030}") is None  # 9: exclusion bits, not 0..3
    assert len(fact.subcategories) == 2  # the option row has no GUID


def test_auditpol_conflicting_duplicate_rows_are_unknown():
    row = "SRV,System,Logon,{0CCE9215-69AE-11D9-BED3-505054503030},Success,\r\n"
    fact = parse_auditpol(ENGLISH_6 + row)
    assert fact.setting("{0CCE9215-69AE-11D9-BED3-505054503030}") is None and fact.skipped_rows == 1


@pytest.mark.parametrize(("text", "state", "reason"), [
    ("", "empty", "empty"),
    ("The command was successfully executed.\r\n", "unparsed", "no_header"),
    ("Error 0x00000057 occurred:\r\nThe parameter is incorrect.\r\n", "unparsed", "no_header"),
    ("a,b,c,d,e,f\r\n1,2,3,4,5,6\r\n", "unparsed", "no_rows"),
])
def test_auditpol_refuses_other_shapes(text, state, reason):
    fact = parse_auditpol(text)
    assert (fact.state, fact.reason) == (state, reason) and fact.subcategories == {}


def test_auditpol_hostile_input():
    text = winprobes.load("auditpol", DC)
    hostile = text.replace("Special Logon,", "Special\x1b[31m <b>Logon</b>\x00,")
    fact = parse_auditpol(hostile)
    assert "{0CCE921B-69AE-11D9-BED3-505054503030}" not in fact.subcategories and fact.skipped_rows == 1
    assert len(fact.subcategories) == 9
    quoted = text.replace('DC,System,Group Membership,', 'DC,System,"Group, ""Membership""",')
    assert parse_auditpol(quoted).subcategories["{0CCE9249-69AE-11D9-BED3-505054503030}"].name == \
        'Group, "Membership"'
    junk = ("\x00\x07,\"{,}\r" * (5 * 1024 * 1024 // 10))
    assert (parse_auditpol(junk).state, parse_auditpol(junk).reason) == ("unparsed", "too_long")
    assert parse_auditpol(text * 50_000).reason == "too_long"
    # a field larger than the csv module's own limit (128 KiB), in an output under the size cap
    huge_field = text + "DC,System," + "x" * 200_000 + ",{0CCE9215-69AE-11D9-BED3-505054503030},Success,,1\n"
    fact = parse_auditpol(huge_field)
    assert fact.state == "ok" and "{0CCE9215-69AE-11D9-BED3-505054503030}" not in fact.subcategories
