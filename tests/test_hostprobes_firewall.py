"""Firewall probe: real `nft list ruleset` / `iptables -S` outputs recorded in private network
namespaces (tests/fixtures/hostprobes/firewall/, headers say how), ufw / firewalld / fail2ban
formats, refusal without root; the firewall.* checks from facts, pass, fail and unknown."""

from __future__ import annotations

import pytest

from scanner.facts.firewall import Firewall, FirewalldZone, ToolRun
from scanner.hostprobes.firewall import (
    PROBES,
    final_drop_nft,
    parse_firewall,
    parse_firewalld_zones,
    parse_iptables_s,
    parse_nft_ruleset,
    parse_ufw_status,
)
from scanner.model import Severity, Status
from tests.fixtures.hostprobes import assert_rendered, load, one, run_probes
from tests.test_hostprobes_logging import judge_facts, procs


def chains(case: str) -> dict[tuple[str, str], tuple[str | None, bool]]:
    fw = parse_firewall(load("firewall", case))
    return {(c.tool, c.family): (c.policy, c.final_drop) for c in fw.chains}


def test_debian_default_nftables_accepts_everything():
    fw = parse_firewall(load("firewall", "nft_debian_default"))
    assert fw.as_root and fw.nft.answered and fw.iptables_variant == "nf_tables" and fw.ipv6_addresses == 1
    assert chains("nft_debian_default") == {("nft", "inet"): ("accept", False), ("iptables", "ip"): ("accept", False),
                                            ("ip6tables", "ip6"): ("accept", False)}
    assert not fw.ufw.present and not fw.firewalld.present and not fw.fail2ban.present


def test_policy_drop_and_final_reject_are_default_deny():
    assert chains("nft_policy_drop")[("nft", "inet")] == ("drop", False)
    assert chains("nft_firewalld_style")[("nft", "inet")] == ("accept", True)
    c7 = chains("iptables_centos7_style")
    assert c7[("iptables", "ip")] == ("accept", True) and c7[("nft", "ip")] == ("accept", True)
    assert c7[("ip6tables", "ip6")] == ("accept", False)


def test_a_set_inside_a_table_does_not_confuse_the_chain_reader():
    fw = parse_firewall(load("firewall", "nft_firewalld_style"))
    chain = next(c for c in fw.chains if c.tool == "nft")
    assert chain.chain == "filter_INPUT" and chain.rules == 6 and chain.last_rule == "reject with icmpx admin-prohibited"
    assert fw.unparsed == ()


def test_without_root_the_tools_refuse_and_nothing_is_guessed():
    fw = parse_firewall(load("firewall", "nonroot"))
    assert not fw.as_root and fw.chains == ()
    assert fw.nft.permission_denied and fw.iptables.permission_denied and fw.ip6tables.permission_denied
    assert "must be root" in fw.nft.note


@pytest.mark.parametrize("rule,final", [
    ("drop", True), ("counter packets 12 bytes 720 drop", True), ('log prefix "in: " counter reject', True),
    ("reject with icmpx admin-prohibited", True), ('counter drop comment "end"', True),
    ("tcp dport 22 drop", False), ("ct state invalid drop", False), ("accept", False), ("jump x", False),
])
def test_final_rule_must_be_unconditional(rule, final):
    assert final_drop_nft(rule) is final


def test_iptables_legacy_and_malformed_lines():
    found, junk = parse_iptables_s("-P INPUT DROP\n-A INPUT -m comment --comment \"x y\" -j REJECT\nwhat\n",
                                   "iptables-legacy")
    assert found[0].policy == "drop" and found[0].final_drop and junk == ["3: what"]
    assert parse_iptables_s("", "iptables") == ([], [])


def test_truncated_ruleset_keeps_what_was_complete():
    text = load("firewall", "nft_policy_drop")
    cut = text[: text.index("chain forward")]
    found, _ = parse_nft_ruleset(cut.split("@@cmd nft\n", 1)[1])
    assert [(c.chain, c.policy) for c in found] == [("input", "drop")]


# ufw's own format strings (ufw 0.36.2 backend_iptables.py get_status: "Status: active\n%(log)s\n%(pol)s\n..."
# with "Default: %(in)s (incoming), %(out)s (outgoing), %(routed)s (routed)"), as it prints them:
UFW_ACTIVE = """Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), disabled (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
22/tcp                     ALLOW IN    Anywhere
443/tcp                    ALLOW IN    Anywhere
22/tcp (v6)                ALLOW IN    Anywhere (v6)
"""


def test_ufw_status_formats():
    assert parse_ufw_status(UFW_ACTIVE) == (True, "deny", 3)
    assert parse_ufw_status("Status: inactive\n") == (False, None, None)
    assert parse_ufw_status("ERROR: You need to be root to run this script\n") == (None, None, None)


# firewall-cmd --list-all-zones block format (firewalld 1.x): zone name, "(active)", indented key: value lines
FIREWALLD_ZONES = """block
  target: %%REJECT%%
  interfaces:
public (active)
  target: default
  icmp-block-inversion: no
  interfaces: eth0
  sources:
  services: cockpit dhcpv6-client ssh
  ports: 8080/tcp
trusted
  target: ACCEPT
"""


def test_firewalld_zones():
    zones = {z.name: z for z in parse_firewalld_zones(FIREWALLD_ZONES)}
    assert zones["public"].active and zones["public"].target == "default" and zones["public"].ports == ("8080/tcp",)
    assert not zones["trusted"].active and zones["trusted"].target == "ACCEPT"


# fail2ban-client status (fail2ban 1.0.2 beautifier: "Status\n|- Number of jail:\t2\n`- Jail list:\tsshd, nginx")
F2B = "@@uid 0\n\n@@cmd fail2ban\nStatus\n|- Number of jail:\t2\n`- Jail list:\tsshd, nginx-http-auth\n\n@@rc fail2ban 0\n"


def test_fail2ban_jails():
    assert parse_firewall(F2B).fail2ban_jails == ("sshd", "nginx-http-auth")
    refused = parse_firewall("@@uid 1000\n\n@@cmd fail2ban\nERROR  Permission denied to socket: "
                             "/var/run/fail2ban/fail2ban.sock, (you must be root)\n\n@@rc fail2ban 255\n")
    assert refused.fail2ban_jails is None and refused.fail2ban.permission_denied


# -- checks --------------------------------------------------------------------------------------------------------

def deny(case: str):
    return {r.target: r for r in judge_facts("firewall.default_deny", parse_firewall(load("firewall", case)))}


def test_default_deny_per_family(catalog):
    open_ = deny("nft_debian_default")
    assert open_["ipv4"].status == open_["ipv6"].status == Status.FAIL
    drop = deny("nft_policy_drop")
    assert drop["ipv4"].status == drop["ipv6"].status == Status.PASS  # inet covers both
    assert drop["ipv4"].message.params["how"] == "policy drop"
    mixed = deny("iptables_v4_drop_v6_open")
    assert (mixed["ipv4"].status, mixed["ipv6"].status) == (Status.PASS, Status.FAIL)
    c7 = deny("iptables_centos7_style")
    assert c7["ipv4"].status == Status.PASS and "final rule" in c7["ipv4"].message.params["how"]
    nobody = deny("nonroot")
    assert nobody["ipv4"].status == nobody["ipv6"].status == Status.UNKNOWN
    assert nobody["ipv4"].message.key == "needs_root"
    assert_rendered(catalog, [*open_.values(), *drop.values(), *mixed.values(), *c7.values(), *nobody.values()])


def v4(results):
    return one([r for r in results if r.target == "ipv4"], "firewall.default_deny")


def test_default_deny_from_ufw_firewalld_and_no_tool(catalog):
    ufw = Firewall(as_root=True, ipv6_addresses=0, ufw=ToolRun(present=True, rc=0), ufw_active=True,
                   ufw_default_incoming="deny")
    r = {x.target: x for x in judge_facts("firewall.default_deny", ufw)}
    assert r["ipv4"].status == Status.PASS and r["ipv6"].status == Status.NOT_APPLICABLE
    fwd = Firewall(as_root=False, firewalld=ToolRun(present=True, rc=0), firewalld_state="running",
                   firewalld_zones=(FirewalldZone(name="public", active=True, target="default"),), ipv6_addresses=0)
    assert v4(judge_facts("firewall.default_deny", fwd)).status == Status.PASS
    trusting = fwd.model_copy(update={"firewalld_zones": (FirewalldZone(name="trusted", active=True, target="ACCEPT"),)})
    assert v4(judge_facts("firewall.default_deny", trusting)).status == Status.FAIL
    bare = v4(judge_facts("firewall.default_deny", Firewall(as_root=True, ipv6_addresses=0)))
    assert bare.status == Status.UNKNOWN and bare.message.key == "no_tool"
    assert_rendered(catalog, [*r.values(), bare])


def test_intrusion_prevention(catalog):
    f2b = parse_firewall(F2B)
    ok = one(judge_facts("firewall.intrusion_prevention", procs("fail2ban-server"), f2b), "firewall.intrusion_prevention")
    assert ok.status == Status.PASS and ok.message.params["jails"] == "sshd, nginx-http-auth"
    no_root = parse_firewall(load("firewall", "nonroot"))
    unk = one(judge_facts("firewall.intrusion_prevention", procs("fail2ban-server"), no_root),
              "firewall.intrusion_prevention")
    assert unk.status == Status.UNKNOWN and unk.message.key == "fail2ban_needs_root"
    empty = f2b.model_copy(update={"fail2ban_jails": ()})
    nojail = one(judge_facts("firewall.intrusion_prevention", procs("fail2ban-server"), empty),
                 "firewall.intrusion_prevention")
    bouncer = one(judge_facts("firewall.intrusion_prevention", procs("crowdsec", "crowdsec-firewall-bouncer"), empty),
                  "firewall.intrusion_prevention")
    none = one(judge_facts("firewall.intrusion_prevention", procs("sshd"), empty), "firewall.intrusion_prevention")
    assert (nojail.status, bouncer.status, none.status) == (Status.FAIL, Status.PASS, Status.FAIL)
    assert none.severity == Severity.MEDIUM
    assert_rendered(catalog, [ok, unk, nojail, bouncer, none])


def test_real_run_on_this_host():
    fw = parse_firewall(run_probes(PROBES)["firewall"])
    assert fw.ipv6_addresses is not None
    if fw.nft.present and fw.as_root:
        assert fw.nft.answered
    results = judge_facts("firewall.default_deny", fw)
    assert {r.target for r in results} <= {"ipv4", "ipv6"} and all(r.status != Status.ERROR for r in results)


def test_the_evidence_sentence_names_the_deciding_policy_or_rule_and_the_chains():
    from reports import Texts
    texts = Texts.for_lang("vi")
    drop = deny("nft_policy_drop")["ipv4"]
    assert drop.evidence["deny_policy"] == "drop" and "chính sách mặc định drop" in texts.evidence(drop)
    c7 = deny("iptables_centos7_style")["ipv4"]
    assert c7.evidence["deny_rule"] and c7.evidence["deny_rule"] in texts.evidence(c7)
    assert "final rule" not in texts.message(c7)
    open_ = deny("nft_debian_default")["ipv4"]
    assert "(policy accept)" in open_.evidence["input_chains"][0]
    assert "các chuỗi input là" in texts.evidence(open_)
