"""Host firewall and intrusion prevention (XI.3.4, XI.2.1.1, XI.3.1): the loaded rules deny
incoming traffic by default, and something blocks repeated attacks (fail2ban, a CrowdSec
bouncer, or an IPS agent from checks/data/products.yaml)."""

from __future__ import annotations

from checks.monitoring import AGENT_MAY_READ, AGENT_READS, process_view, product_states
from checks.registry import HostContext, Verdict, check, failed, passed, verdict
from scanner.facts.agents import Processes
from scanner.facts.firewall import Firewall
from scanner.model import Severity, Status

FAMILIES = {"ip": "ipv4", "ip6": "ipv6"}


def _chain_evidence(fw: Firewall, family: str) -> list[dict]:
    return [{"tool": c.tool, "table": f"{c.family} {c.table}", "chain": c.chain, "policy": c.policy,
             "rules": c.rules, "last_rule": c.last_rule, "default_deny": c.default_deny}
            for c in fw.chains if family in c.families]


def judge_family(fw: Firewall, family: str) -> Verdict:
    target = FAMILIES[family]
    chains = [c for c in fw.chains if family in c.families]
    deny = [c for c in chains if c.default_deny]
    # flat, for the evidence sentence: each input chain with its policy as the tool prints it
    evidence = {"chains": _chain_evidence(fw, family), "as_root": fw.as_root,
                "input_chains": [f"{c.tool} {c.family} {c.table} {c.chain} (policy {c.policy})" for c in chains][:20]}
    if deny:
        c = deny[0]
        how = f"policy {c.policy}" if c.policy == "drop" else f"final rule: {c.last_rule}"
        evidence |= {"deny_policy": c.policy} if c.policy == "drop" else {"deny_rule": c.last_rule}
        return passed("deny", target=target, tool=c.tool, chain=f"{c.family} {c.table} {c.chain}", how=how,
                      evidence=evidence)
    if fw.ufw_active and fw.ufw_default_incoming in ("deny", "reject"):
        return passed("ufw_deny", target=target, policy=fw.ufw_default_incoming,
                      evidence={**evidence, "ufw": "Status: active", "default_incoming": fw.ufw_default_incoming})
    active_zones = [z for z in fw.firewalld_zones if z.active]
    if fw.firewalld_state == "running" and active_zones and all(
            (z.target or "default").upper() != "ACCEPT" for z in active_zones):
        zones = ", ".join(f"{z.name} ({z.target})" for z in active_zones)
        return passed("firewalld_deny", target=target, zones=zones, evidence={**evidence, "zones": zones})
    readable = fw.nft.answered or (fw.iptables.answered if family == "ip" else fw.ip6tables.answered) or \
        fw.ufw.answered or bool(active_zones)
    if not readable:
        tools = {name: run.model_dump() for name, run in (("nft", fw.nft), ("iptables", fw.iptables),
                                                          ("ip6tables", fw.ip6tables), ("ufw", fw.ufw))
                 if run.present}
        if not tools:
            return verdict(Status.UNKNOWN, "no_tool", target=target, evidence=evidence)
        return verdict(Status.UNKNOWN, "needs_root", target=target, evidence={**evidence, "tools": tools})
    if fw.ufw_config_enabled and fw.ufw_active is None:
        evidence["ufw_config"] = {"ENABLED": fw.ufw_config_enabled, "DEFAULT_INPUT_POLICY": fw.ufw_config_input_policy}
    return failed("open", target=target, evidence=evidence)



@check("firewall.default_deny", items=["XI.3.4", "XI.2.1.1", "XI.3.1"], severity=Severity.HIGH,
       reads=(Firewall,))
def default_deny(ctx: HostContext) -> list[Verdict]:
    fw = ctx.facts(Firewall)
    out = [judge_family(fw, "ip")]
    if fw.ipv6_addresses == 0:
        out.append(verdict(Status.NOT_APPLICABLE, "no_ipv6", target="ipv6"))
    else:
        out.append(judge_family(fw, "ip6"))
    return out


@check("firewall.intrusion_prevention", items=["XI.3.4", "XI.2.1.1"], severity=Severity.MEDIUM,
       reads=(Firewall, *AGENT_READS), may_read=AGENT_MAY_READ)
def intrusion_prevention(ctx: HostContext) -> Verdict:
    fw = ctx.facts(Firewall)
    states = product_states(ctx, ("ips",))
    view = process_view(ctx)
    running = [s for s in states if s.running]
    fail2ban = next((s for s in running if s.product.id == "fail2ban"), None)
    others = [s for s in running if s.product.id != "fail2ban"]
    if others:
        return passed("running", products=", ".join(s.product.name for s in others),
                      evidence={**view, "running": [s.evidence() for s in others]})
    if fail2ban:
        jails = list(fw.fail2ban_jails) if fw.fail2ban_jails is not None else None
        evidence = {**view, "running": [fail2ban.evidence()], "jails": jails}
        if fw.fail2ban_jails:
            return passed("fail2ban_jails", jails=", ".join(fw.fail2ban_jails), evidence=evidence)
        if fw.fail2ban_jails is not None:
            return failed("fail2ban_no_jails", evidence=evidence)
        return verdict(Status.UNKNOWN, "fail2ban_needs_root", evidence={**evidence, "fail2ban": fw.fail2ban.model_dump()})
    installed = [s for s in states if s.installed]
    if installed:
        return failed("installed_not_running", products=", ".join(s.product.name for s in installed),
                      evidence={**view, "installed": [s.evidence() for s in installed]})
    if not ctx.facts(Processes).complete:
        return verdict(Status.UNKNOWN, "process_view_limited", evidence=view)
    return failed("none", evidence=view)
