"""Local users and Administrators group parser (scanner/winprobes/localaccounts.py).

Recorded outputs (tests/fixtures/winprobes/win_local_accounts_<section>/): Get-LocalUser JSON from Mondoo
cnquery's test data (verbatim; its built-in Administrator is renamed "chris") and the error record
Get-LocalGroupMember -SID S-1-5-32-544 raises on a member SID it cannot resolve (verbatim, from an issue of
fbprogmbh's AuditTAP). Win32_UserAccount and Win32_GroupUser outputs, the missing-cmdlet record of Server 2012 R2
and the domain controller role below are CONSTRUCTED: no published recording of them was found.
"""

from __future__ import annotations

import json

import pytest

from scanner.winprobes import ProbeOutput, SectionOutput
from scanner.winprobes.localaccounts import PROBES, parse_local_accounts
from tests.winprobe_outputs import (
    FIFTY_MB,
    assert_read_only,
    cases,
    cuts,
    denied,
    hostile_texts,
    missing,
    output,
    recorded,
)

DOMAIN = "S-1-5-21-2356735557-1575748656-448136971"
USERS = recorded("win_local_accounts", "users", "cnquery_getlocaluser")
UNRESOLVED = recorded("win_local_accounts", "admins", "atapauditor_unresolvable_member")
MEMBER_SERVER = json.dumps({"ProductType": 3})

# Constructed, in the shape the probe's Select-Object writes (SID as text, enums cast to text)
ADMINS = json.dumps([
    {"Name": "SRV01\\chris", "SID": f"{DOMAIN}-500", "ObjectClass": "User", "PrincipalSource": "Local"},
    {"Name": "CORP\\Domain Admins", "SID": "S-1-5-21-1-2-3-512", "ObjectClass": "Group",
     "PrincipalSource": "ActiveDirectory"}])
CIM_ADMINS = json.dumps([
    {"Name": "chris", "Domain": "SRV01", "SID": f"{DOMAIN}-500", "Class": "Win32_UserAccount"},
    {"Name": "Domain Admins", "Domain": "CORP", "SID": "S-1-5-21-1-2-3-512", "Class": "Win32_Group"}])
# Win32_UserAccount as a 2012 R2 host without the LocalAccounts module would give it
CIM_USERS = json.dumps([
    {"Name": "Admin2012", "SID": f"{DOMAIN}-500", "Disabled": False, "PasswordRequired": True,
     "PasswordExpires": False, "Lockout": False},
    {"Name": "Invité", "SID": f"{DOMAIN}-501", "Disabled": True, "PasswordRequired": False,
     "PasswordExpires": False, "Lockout": False}])


def test_fixtures_and_probe():
    assert cases("win_local_accounts", "users") == ["cnquery_getlocaluser"]
    assert cases("win_local_accounts", "admins") == ["atapauditor_unresolvable_member"]
    assert_read_only(PROBES)
    commands = {section.name: section.command for section in PROBES[0].sections}
    assert "-SID S-1-5-32-544" in commands["admins"]  # by SID, never by the translated name
    assert "'-50[01]$'" in commands["builtin"] and "SID LIKE '%-500'" in commands["cim_builtin"]


def test_recorded_users_flag_builtins_by_sid_not_name():
    fact = parse_local_accounts(output(role=MEMBER_SERVER, users=USERS, admins=ADMINS))
    assert (fact.status, fact.users_source, fact.domain_controller, fact.skipped) == ("ok", "get_localuser", False, 0)
    assert [u.name for u in fact.users] == ["chris", "DefaultAccount", "Guest", "sshd", "WDAGUtilityAccount"]
    admin, guest = fact.administrator, fact.guest
    assert (admin.name, admin.sid, admin.builtin, admin.enabled) == ("chris", f"{DOMAIN}-500", "administrator", True)
    assert (admin.password_required, admin.password_expires, admin.password_expires_at) == (True, True, 1590610319)
    assert (admin.password_last_set, admin.last_logon) == (1586981519, 1587041759)
    assert (guest.name, guest.builtin, guest.enabled, guest.password_expires) == ("Guest", "guest", False, False)
    assert [u.builtin for u in fact.users].count(None) == 3  # 503, 1000, 504 are no built-in this fact flags


def test_administrators_by_sid():
    fact = parse_local_accounts(output(role=MEMBER_SERVER, users=USERS, admins=ADMINS, cim_admins=CIM_ADMINS))
    assert (fact.administrators_status, fact.administrators_source) == ("ok", "get_localgroupmember")
    assert [(m.sid, m.kind, m.source) for m in fact.administrators] == [
        (f"{DOMAIN}-500", "user", "Local"), ("S-1-5-21-1-2-3-512", "group", "ActiveDirectory")]


def test_recorded_unresolvable_member_falls_back_to_win32_groupuser():
    fact = parse_local_accounts(output(users=USERS, admins=("error", UNRESOLVED), cim_admins=CIM_ADMINS))
    assert (fact.administrators_status, fact.administrators_source) == ("ok", "win32_groupuser")
    assert fact.administrators_reason == "unresolvable_member"
    assert [(m.name, m.kind) for m in fact.administrators] == [("SRV01\\chris", "user"), ("CORP\\Domain Admins", "group")]


def test_unresolvable_member_without_fallback_is_no_list():
    fact = parse_local_accounts(output(users=USERS, admins=("error", UNRESOLVED), cim_admins=denied("Get-CimInstance")))
    assert (fact.administrators_status, fact.administrators_reason, fact.administrators) == (
        "unavailable", "unresolvable_member", ())
    assert fact.administrators_source is None


def test_server_2012_r2_without_the_localaccounts_module():
    fact = parse_local_accounts(output(role=MEMBER_SERVER, users=missing("Get-LocalUser"), cim_users=CIM_USERS,
                                       admins=missing("Get-LocalGroupMember"), cim_admins=CIM_ADMINS))
    assert (fact.status, fact.users_source, fact.users_reason) == ("ok", "win32_useraccount", "cmdlet_missing")
    assert (fact.administrator.name, fact.administrator.enabled, fact.administrator.locked_out) == ("Admin2012", True,
                                                                                                    False)
    assert (fact.guest.name, fact.guest.enabled) == ("Invité", False)
    assert fact.administrators_source == "win32_groupuser"


def test_builtins_on_a_domain_controller_whose_whole_list_was_cut():
    # constructed: a domain controller lists every domain account (PSP-Inventory issue 26), so the whole list
    # can pass the output cap; the two-account read still names the built-ins
    two = json.dumps([u for u in json.loads(USERS) if u["SID"]["Value"].endswith(("-500", "-501"))])
    out = output(role=json.dumps({"ProductType": 2}), builtin=two, admins=ADMINS)
    out = ProbeOutput(sections=dict(out.sections) | {"users": SectionOutput(text=USERS[:900], truncated=True)})
    fact = parse_local_accounts(out)
    assert (fact.domain_controller, fact.status, fact.users, fact.users_source) == (True, "unparsed", (), None)
    assert (fact.administrator.name, fact.guest.name, fact.builtin_source) == ("chris", "Guest", "get_localuser")
    cim = parse_local_accounts(output(users=missing("Get-LocalUser"), cim_users="[", builtin=missing("Get-LocalUser"),
                                      cim_builtin=json.dumps([json.loads(CIM_USERS)[1]])))
    assert (cim.administrator, cim.guest.name, cim.builtin_source) == (None, "Invité", "win32_useraccount")
    whole = parse_local_accounts(output(users=USERS, builtin="[]"))
    assert whole.builtin_source == "get_localuser" and whole.administrator.name == "chris"


def test_domain_controller_is_recorded():
    fact = parse_local_accounts(output(role=json.dumps({"ProductType": 2}), users=USERS))
    assert fact.domain_controller is True
    assert parse_local_accounts(output(role=denied("Get-CimInstance"), users=USERS)).domain_controller is None
    assert parse_local_accounts(output(role='{"ProductType": 7}', users=USERS)).domain_controller is None


def test_nothing_readable():
    fact = parse_local_accounts(output(users=denied("Get-LocalUser"), cim_users=denied("Get-CimInstance")))
    assert (fact.status, fact.users, fact.administrator, fact.guest) == ("access_denied", (), None, None)
    empty = parse_local_accounts(output())
    assert (empty.status, empty.administrators_status) == ("empty", "empty")


def test_an_empty_group_read_cleanly_is_an_empty_list():
    fact = parse_local_accounts(output(users=USERS, admins=""))
    assert (fact.administrators_status, fact.administrators) == ("ok", ())


@pytest.mark.parametrize("sid", ["S-1-5-21-1-2-500", "s-1-5-21-1-2-3-500x", "S-1-5-32-500", "500", None, 500,
                                 {"Value": "S-1-5-21-1-2-3-5000"}])
def test_only_a_machine_sid_with_rid_500_is_the_builtin_administrator(sid):
    fact = parse_local_accounts(output(users=json.dumps([{"Name": "Administrator", "SID": sid, "Enabled": True},
                                                        {"Name": "x", "SID": f"{DOMAIN}-1001"}])))
    assert fact.administrator is None


def test_user_truncations_never_give_a_wrong_value():
    sections = {"role": MEMBER_SERVER, "users": USERS, "admins": ADMINS}
    full = parse_local_accounts(output(**sections))
    for name, cut, out in cuts(sections):
        fact = parse_local_accounts(out)
        assert fact.users in ((), full.users), (name, cut)
        assert fact.administrator in (None, full.administrator) and fact.guest in (None, full.guest), (name, cut)
        assert fact.administrators in ((), full.administrators), (name, cut)
        assert fact.domain_controller in (None, full.domain_controller), (name, cut)


def test_cut_error_records_never_give_members():
    for cut in range(len(UNRESOLVED)):
        fact = parse_local_accounts(output(users=USERS, admins=("error", UNRESOLVED[:cut])))
        assert fact.administrators == () and fact.administrators_status != "ok", cut


@pytest.mark.parametrize("text", [*hostile_texts(), "x" * FIFTY_MB])
def test_hostile_output_gives_no_account(text):
    fact = parse_local_accounts(output(role=text, users=text, cim_users=text, admins=text, cim_admins=text))
    assert fact.users == () and fact.administrators == () and fact.administrator is None
    assert fact.domain_controller is None and fact.status != "ok"


def test_markup_and_control_characters_in_names():
    evil = json.dumps([{"Name": "<img src=x onerror=alert(1)>\u202e\x1b[2J\x00", "SID": f"{DOMAIN}-500",
                        "Enabled": False, "Description": "d" * 10000}])
    admin = parse_local_accounts(output(users=evil)).administrator
    assert admin.name == "<img src=x onerror=alert(1)>[2J" and admin.enabled is False and len(admin.description) == 256
