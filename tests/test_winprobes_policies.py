"""Windows Update policy, Event Forwarding and Windows Time parsers (scanner/winprobes/policies.py).

Recorded outputs (tests/fixtures/winprobes/<probe>_<section>/, all REBUILT as the probe's registry JSON, each
header saying from what): two published .reg exports of WSUS client policies, Microsoft's Defender for Identity
SubscriptionManager example, and the documented W32Time\\Parameters defaults. Service outputs and the other
inputs written here are CONSTRUCTED; the Get-Service JSON form (Status and StartType as numbers) is the one
Mondoo cnquery's recorded services/testdata/windows2019.json shows.
"""

from __future__ import annotations

import json

import pytest

from scanner.winprobes.policies import (
    PROBES,
    parse_collector,
    parse_event_forwarding,
    parse_time,
    parse_update_policy,
)
from tests.winprobe_outputs import (
    FIFTY_MB,
    assert_read_only,
    cases,
    cuts,
    denied,
    hostile_texts,
    output,
    recorded,
)

ABSENT = json.dumps({"Present": False, "Values": None})


def key(values) -> str:
    return json.dumps({"Present": True, "Values": values})


def test_fixtures_and_probes():
    assert cases("win_update_policy", "windows_update") == sorted(UPDATE) == cases("win_update_policy", "au")
    assert cases("win_event_forwarding", "subscription_manager") == ["mdi_docs_example"]
    assert cases("win_time", "parameters") == sorted(TIME)
    assert [p.name for p in PROBES] == ["win_update_policy", "win_event_forwarding", "win_time"]
    assert not any(p.admin for p in PROBES)
    assert_read_only(PROBES)


# --- Windows Update policy -------------------------------------------------------------------------

UPDATE = {
    "pastebin_wsus_targetgroup": dict(configured=True, wu_server="http://DummyWSUS:8530", target_group="Dummy-tg1",
                                      target_group_enabled=True, use_wu_server=True, wsus=True, no_auto_update=None,
                                      au_options=4, au_option="auto_download_scheduled_install",
                                      scheduled_install_day=0, scheduled_install_time=22),
    "gist_wsus_set": dict(configured=True, wu_server="http://192.168.8.53:8530", target_group=None,
                          target_group_enabled=None, use_wu_server=True, wsus=True, no_auto_update=False,
                          au_options=3, au_option="auto_download_notify_install", scheduled_install_day=0,
                          scheduled_install_time=15),
}


def update_sections(case: str) -> dict[str, str]:
    return {"windows_update": recorded("win_update_policy", "windows_update", case),
            "au": recorded("win_update_policy", "au", case)}


@pytest.mark.parametrize("case", sorted(UPDATE))
def test_recorded_update_policies(case):
    fact = parse_update_policy(output(**update_sections(case)))
    assert fact.status == "ok" and fact.sections == {"windows_update": "ok", "au": "ok"}
    assert fact.model_dump(include=set(UPDATE[case])) == UPDATE[case]


def test_no_policy_is_a_known_state_not_an_unknown_one():
    fact = parse_update_policy(output(windows_update=ABSENT, au=ABSENT))
    assert (fact.status, fact.configured, fact.wsus, fact.no_auto_update, fact.au_option) == ("ok", False, False,
                                                                                            None, None)


@pytest.mark.parametrize(("au", "wu", "wsus"), [
    ({"UseWUServer": 0}, {"WUServer": "http://wsus:8530"}, False),  # a server named but not used
    ({"UseWUServer": 1}, {"WUServer": None}, False),  # used but none named
    ({"UseWUServer": 1}, None, None),  # the WindowsUpdate key was not read: the server is unknown
    ({"UseWUServer": "yes"}, {"WUServer": "http://wsus:8530"}, None),
])
def test_wsus_needs_both_the_switch_and_a_server(au, wu, wsus):
    fact = parse_update_policy(output(au=key(au), windows_update=key(wu) if wu is not None else denied("Get-Item")))
    assert fact.wsus is wsus


def test_update_values_outside_the_documented_ones():
    fact = parse_update_policy(output(windows_update=ABSENT, au=key({"AUOptions": 7, "NoAutoUpdate": 1,
                                                                     "ScheduledInstallDay": 8,
                                                                     "ScheduledInstallTime": 24})))
    assert (fact.au_options, fact.au_option, fact.no_auto_update) == (7, None, True)
    assert (fact.scheduled_install_day, fact.scheduled_install_time) == (None, None)
    assert parse_update_policy(output(windows_update=ABSENT, au=key({"AUOptions": 5}))).au_option == \
        "local_admin_chooses"


def test_update_policy_unread():
    fact = parse_update_policy(output(windows_update=denied("Get-Item"), au=denied("Get-Item")))
    assert (fact.status, fact.configured, fact.wsus) == ("access_denied", None, None)
    one = parse_update_policy(output(windows_update=ABSENT, au="{\"Present\": tr"))
    assert (one.status, one.configured, one.wsus, one.sections["au"]) == ("ok", None, None, "unparsed")


@pytest.mark.parametrize("case", sorted(UPDATE))
def test_update_truncations_never_give_a_wrong_value(case):
    sections = update_sections(case)
    full = parse_update_policy(output(**sections)).model_dump(include=set(UPDATE[case]))
    for name, cut, out in cuts(sections):
        got = parse_update_policy(out).model_dump(include=set(UPDATE[case]))
        assert all(v is None or v == full[k] for k, v in got.items()), (name, cut, got)


def test_a_long_server_url_is_refused_whole_not_cut():
    url = "http://wsus.example.test:8530/" + "a" * 3000
    fact = parse_update_policy(output(windows_update=key({"WUServer": url}), au=key({"UseWUServer": 1})))
    assert fact.wu_server is None and fact.wsus is None


# --- Event forwarding -------------------------------------------------------------------------------

WINRM_RUNNING = json.dumps({"Name": "WinRM", "Status": 4, "StartType": 2})


def test_recorded_subscription_manager():
    fact = parse_event_forwarding(output(
        subscription_manager=recorded("win_event_forwarding", "subscription_manager", "mdi_docs_example"),
        winrm_service=WINRM_RUNNING))
    assert (fact.status, fact.policy, fact.configured, fact.unreadable) == ("ok", "ok", True, 0)
    (collector,) = fact.collectors
    assert collector.model_dump(exclude={"raw"}) == {
        "scheme": "http", "host": "atpsensor9.contoso.com", "port": 5985,
        "path": "/wsman/SubscriptionManager/WEC", "refresh_seconds": 10, "issuer_ca": False}
    assert (fact.winrm_service, fact.winrm_state, fact.winrm_start_type) == ("ok", "running", "auto")


@pytest.mark.parametrize(("value", "expected"), [
    ("Server=https://wec.corp.example:5986/wsman/SubscriptionManager/WEC,Refresh=60,IssuerCA=" + "AB" * 20,
     ("https", "wec.corp.example", 5986, 60, True)),
    ("Server=HTTP://10.1.2.3/wsman/SubscriptionManager/WEC", ("http", "10.1.2.3", None, None, False)),
    ("Server=http://[fd00::5]:5985/wsman/SubscriptionManager/WEC,Refresh=x",
     ("http", "[fd00::5]", 5985, None, False)),
    ("Server=https://<cribl-name>:5986/wsman/SubscriptionManager/WEC,Refresh=10",  # a template left unfilled
     (None, None, None, 10, False)),
    ("Server=ftp://wec/x,Refresh=60", (None, None, None, 60, False)),
    ("Server=http://wec:99999/x", (None, None, None, None, False)),
    ("Refresh=60", (None, None, None, None, False)),
])
def test_collector_forms(value, expected):
    c = parse_collector(value)
    assert (c.scheme, c.host, c.port, c.refresh_seconds, c.issuer_ca) == expected


def test_collector_hosts_stay_text():
    # a name is kept as written: never resolved, never normalised into an address
    c = parse_collector("Server=http://wec-01.corp.example.test:5985/wsman/SubscriptionManager/WEC")
    assert c.host == "wec-01.corp.example.test"
    evil = parse_collector("Server=http://wec<script>.x:5985/w,Refresh=1\x1b[2J")
    assert evil.host is None and "\x1b" not in evil.raw and evil.refresh_seconds is None  # "1[2J" is no number


def test_no_policy_and_unread_policy():
    none = parse_event_forwarding(output(subscription_manager=ABSENT, winrm_service=WINRM_RUNNING))
    assert (none.status, none.configured, none.collectors) == ("ok", False, ())
    unread = parse_event_forwarding(output(subscription_manager=denied("Get-Item")))
    assert (unread.status, unread.configured, unread.collectors, unread.winrm_service) == ("access_denied", None, (),
                                                                                         "empty")


def test_values_that_are_not_targets_are_counted():
    fact = parse_event_forwarding(output(subscription_manager=key({"1": 5, "2": "junk", "10": "Server=http://a:1/w",
                                                                  "3": None})))
    assert fact.unreadable == 3 and [c.host for c in fact.collectors] == [None, "a"]
    assert [c.raw for c in fact.collectors] == ["junk", "Server=http://a:1/w"]  # "1" (a number) and "3" are no text


@pytest.mark.parametrize(("service", "state", "start", "status"), [
    (json.dumps({"Name": "WinRM", "Status": 1, "StartType": 4}), "stopped", "disabled", "ok"),
    (json.dumps({"Name": "WinRM", "Status": "Running", "StartType": "Manual"}), "running", "manual", "ok"),
    (json.dumps({"Name": "WinRM", "Status": 9, "StartType": True}), None, None, "ok"),
    (json.dumps({"Name": "Spooler", "Status": 4, "StartType": 2}), None, None, "unparsed"),  # another service
    (("error", "Get-Service : Cannot find any service with service name 'WinRM'.\r\n    + FullyQualifiedErrorId : "
               "NoServiceFoundForGivenName,Microsoft.PowerShell.Commands.GetServiceCommand\r\n"), None, None, "absent"),
])
def test_winrm_service_forms(service, state, start, status):
    fact = parse_event_forwarding(output(subscription_manager=ABSENT, winrm_service=service))
    assert (fact.winrm_service, fact.winrm_state, fact.winrm_start_type) == (status, state, start)


def test_forwarding_truncations_never_give_a_wrong_value():
    sections = {"subscription_manager": recorded("win_event_forwarding", "subscription_manager", "mdi_docs_example"),
                "winrm_service": WINRM_RUNNING}
    full = parse_event_forwarding(output(**sections))
    for name, cut, out in cuts(sections):
        fact = parse_event_forwarding(out)
        assert fact.collectors in ((), full.collectors) and fact.configured in (None, True), (name, cut)
        assert fact.winrm_state in (None, "running") and fact.winrm_start_type in (None, "auto"), (name, cut)


# --- Windows Time -----------------------------------------------------------------------------------

TIME = {"documented_standalone_default": ("NTP", "ntp", (("time.windows.com", 1),)),
        "documented_domain_member_default": ("NT5DS", "domain", ())}


@pytest.mark.parametrize("case", sorted(TIME))
def test_recorded_time_parameters(case):
    fact = parse_time(output(parameters=recorded("win_time", "parameters", case),
                             service=json.dumps({"Name": "W32Time", "Status": 4, "StartType": 3})))
    assert fact.status == "ok"
    assert (fact.type, fact.sync_from, tuple((p.host, p.flags) for p in fact.ntp_servers)) == TIME[case]
    assert (fact.service, fact.service_state, fact.service_start_type) == ("ok", "running", "manual")


def test_time_types_and_peer_lists():
    fact = parse_time(output(parameters=key({"Type": "AllSync",
                                             "NtpServer": "a.example,0x9 10.0.0.1 b.example,0xZZ ,0x1 c,0x8"})))
    assert fact.sync_from == "all"
    assert [(p.host, p.flags) for p in fact.ntp_servers] == [("a.example", 9), ("10.0.0.1", None),
                                                              ("b.example", None), ("c", 8)]
    assert parse_time(output(parameters=key({"Type": "NoSync"}))).sync_from == "none"
    assert parse_time(output(parameters=key({"Type": "Sometimes"}))).sync_from is None
    unread = parse_time(output(parameters=denied("Get-Item"), service=denied("Get-Service")))
    assert (unread.status, unread.type, unread.service) == ("access_denied", None, "access_denied")


@pytest.mark.parametrize("case", sorted(TIME))
def test_time_truncations_never_give_a_wrong_value(case):
    sections = {"parameters": recorded("win_time", "parameters", case),
                "service": json.dumps({"Name": "W32Time", "Status": 4, "StartType": 3})}
    full = parse_time(output(**sections))
    for name, cut, out in cuts(sections):
        fact = parse_time(out)
        assert fact.type in (None, full.type) and fact.ntp_servers in ((), full.ntp_servers), (name, cut)
        assert fact.service_state in (None, "running"), (name, cut)


# --- hostile input ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [*hostile_texts(), "x" * FIFTY_MB])
def test_hostile_output_gives_no_value(text):
    update = parse_update_policy(output(windows_update=text, au=text))
    assert update.configured is None and update.wsus is None and update.au_options is None
    forwarding = parse_event_forwarding(output(subscription_manager=text, winrm_service=text))
    assert forwarding.collectors == () and forwarding.configured is None and forwarding.winrm_state is None
    time = parse_time(output(parameters=text, service=text))
    assert time.type is None and time.ntp_servers == () and time.service_state is None
