"""Firewall probe: the loaded rules of nftables and iptables, firewalld's and ufw's own view,
and fail2ban's jails. Listing rules needs root; without it each tool's refusal is recorded so
the checks answer `unknown`, never a guess.

iptables in legacy mode loads kernel modules when it lists tables that are not loaded yet, so
it runs only when /proc/net/ip_tables_names shows legacy tables exist (read-only rule).
"""

from __future__ import annotations

import re
import shlex

from scanner.facts.firewall import Firewall, FirewalldZone, InputChain, ToolRun
from scanner.hostprobes import Probe
from scanner.hostprobes.frames import (
    MAX_UNPARSED,
    CommandFrame,
    Frames,
    as_int,
    cap,
    permission_refused,
    shell,
    split_frames,
)

FIREWALL_SCRIPT = shell("""\
[ -r /proc/net/if_inet6 ] && printf '@@kv ipv6_addrs %s\\n' "$(grep -cv ' lo$' /proc/net/if_inet6)"
run nft nft list ruleset
legacy() {  # $1 tool, $2 /proc table list: run only when legacy tables are already loaded
  if [ -r "$2" ] && [ -z "$(cat "$2" 2>/dev/null)" ]; then printf '@@kv %s_note no legacy tables loaded\\n' "$1"
  else run "$1" "$1" -S; fi
}
if command -v iptables >/dev/null 2>&1; then
  v=$(iptables -V 2>&1 | head -n 1); printf '@@kv iptables_version %s\\n' "$v"
  case "$v" in
    *legacy*) legacy iptables /proc/net/ip_tables_names; legacy ip6tables /proc/net/ip6_tables_names;;
    *) run iptables iptables -S; run ip6tables ip6tables -S
       if command -v iptables-legacy >/dev/null 2>&1 && [ -n "$(cat /proc/net/ip_tables_names 2>/dev/null)" ]; then
         run iptables-legacy iptables-legacy -S; fi
       if command -v ip6tables-legacy >/dev/null 2>&1 && [ -n "$(cat /proc/net/ip6_tables_names 2>/dev/null)" ]; then
         run ip6tables-legacy ip6tables-legacy -S; fi;;
  esac
else
  printf '\\n@@missing iptables\\n'
fi
run firewalld_state firewall-cmd --state
if [ "$(firewall-cmd --state 2>/dev/null)" = running ]; then run firewalld_zones firewall-cmd --list-all-zones; fi
run ufw ufw status verbose
dump /etc/ufw/ufw.conf /etc/default/ufw
run fail2ban fail2ban-client status
""")


def _tool(frames: Frames, name: str) -> tuple[ToolRun, CommandFrame | None]:
    if name in frames.missing:
        return ToolRun(present=False), None
    cmd = frames.commands.get(name)
    if cmd is None:
        return ToolRun(present=False), None
    denied = permission_refused(cmd.output) and cmd.rc != 0 or (not frames.as_root and cmd.rc != 0)
    note = None if cmd.ok and not denied else cap(cmd.output, 200) or None
    return ToolRun(present=True, rc=cmd.rc, permission_denied=denied, note=note), cmd


_COUNTER = re.compile(r"^(counter(\s+packets\s+\d+\s+bytes\s+\d+)?\s*|log(\s+prefix\s+\"[^\"]*\")?(\s+level\s+\w+)?\s*|"
                      r"limit\s+rate\s+\S+(\s+\S+)?\s*)")
_DROP = re.compile(r"^(drop|reject(\s+with\s+.+)?)$")


def final_drop_nft(rule: str) -> bool:
    """An nft rule that drops or rejects everything reaching it: no match before the verdict
    (counters and log statements are not matches)."""
    rest = rule.strip()
    while True:
        m = _COUNTER.match(rest)
        if not m or not m.group(0):
            break
        rest = rest[m.end():]
    rest = re.sub(r"\s*comment\s+\"[^\"]*\"\s*$", "", rest)
    return bool(_DROP.match(rest))


def parse_nft_ruleset(text: str) -> tuple[list[InputChain], list[str]]:
    """Input-hook base chains from `nft list ruleset`, with their policy and last rule."""
    chains: list[InputChain] = []
    junk: list[str] = []
    family = table = chain = None
    hook = policy = None
    rules: list[str] = []
    depth = 0
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        opens, closes = line.count("{"), line.count("}")
        if depth == 0:
            m = re.match(r"^table\s+(\w+)\s+(\S+)\s*\{$", line)
            if m:
                family, table, depth = m.group(1), m.group(2), 1
            else:
                junk.append(f"{number}: {cap(line, 120)}")
            continue
        if depth == 1:
            m = re.match(r"^chain\s+(\S+)\s*\{$", line)
            if m:
                chain, hook, policy, rules, depth = m.group(1), None, None, [], 2
                continue
            depth += opens - closes  # a set, map, flowtable or the table's end
            continue
        if depth == 2 and chain is not None:
            if line == "}":
                if hook == "input":
                    last = rules[-1] if rules else None
                    chains.append(InputChain(tool="nft", family=family or "?", table=table or "?", chain=chain,
                                             policy=policy, rules=len(rules), last_rule=cap(last, 200) if last else None,
                                             final_drop=bool(last and final_drop_nft(last))))
                chain, depth = None, 1
                continue
            m = re.match(r"^type\s+\w+\s+hook\s+(\w+)\b.*?;(?:\s*policy\s+(\w+)\s*;)?", line)
            if m:
                hook, policy = m.group(1), (m.group(2) or "accept")
                continue
            if line.startswith("policy "):
                policy = line.split()[1].rstrip(";")
                continue
            rules.append(line)
            depth += opens - closes
            continue
        depth += opens - closes  # inside a multi-line rule or set body
    return chains, junk


_IPT_REJECT = re.compile(r"^-j\s+(DROP|REJECT)(\s+--reject-with\s+\S+)?$")


def parse_iptables_s(text: str, tool: str) -> tuple[list[InputChain], list[str]]:
    """The filter table's INPUT chain from `iptables -S`: policy and last rule."""
    policy = None
    rules: list[str] = []
    junk: list[str] = []
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-P INPUT "):
            policy = line.split()[2].lower()
        elif line.startswith("-A INPUT "):
            rules.append(line[len("-A INPUT "):])
        elif not line.startswith(("-P ", "-N ", "-A ")):
            junk.append(f"{number}: {cap(line, 120)}")
    if policy is None and not rules:
        return [], junk
    last = rules[-1] if rules else None
    bare = re.sub(r'-m\s+comment\s+--comment\s+("[^"]*"|\S+)\s*', "", last or "").strip()
    family = "ip6" if tool.startswith("ip6") else "ip"
    return [InputChain(tool=tool, family=family, table="filter", chain="INPUT", policy=policy, rules=len(rules),
                       last_rule=cap(last, 200) if last else None, final_drop=bool(_IPT_REJECT.match(bare)))], junk


def parse_firewalld_zones(text: str) -> list[FirewalldZone]:
    zones: list[FirewalldZone] = []
    current: dict | None = None
    for raw in text.split("\n"):
        if raw and not raw[0].isspace():
            if current:
                zones.append(FirewalldZone(**current))
            m = re.match(r"^(\S+)(\s+\(([^)]*)\))?", raw.strip())
            current = {"name": m.group(1), "active": "active" in (m.group(3) or "")} if m else None
            continue
        if current is None or ":" not in raw:
            continue
        key, _, value = raw.strip().partition(":")
        value = value.strip()
        if key == "target":
            current["target"] = value
        elif key in ("interfaces", "sources", "services", "ports"):
            current[key] = tuple(value.split())
    if current:
        zones.append(FirewalldZone(**current))
    return zones


def parse_ufw_status(text: str) -> tuple[bool | None, str | None, int | None]:
    m = re.search(r"^Status:\s*(\w+)", text, re.M)
    if not m:
        return None, None, None
    active = m.group(1) == "active"
    default = re.search(r"^Default:\s*(\w+)\s*\(incoming\)", text, re.M)
    rules = None
    if active:
        lines = text.split("\n")
        header = next((i for i, ln in enumerate(lines) if re.match(r"^\s*-+\s+-+\s+-+", ln)), None)
        rules = len([ln for ln in lines[header + 1:] if ln.strip()]) if header is not None else 0
    return active, default.group(1) if default else None, rules


def parse_firewall(text: str) -> Firewall:
    frames = split_frames(text)
    chains: list[InputChain] = []
    junk: list[str] = []
    nft, nft_cmd = _tool(frames, "nft")
    if nft.answered and nft_cmd:
        found, bad = parse_nft_ruleset(nft_cmd.output)
        chains += found
        junk += [f"nft {b}" for b in bad]
    runs = {}
    for name in ("iptables", "ip6tables", "iptables-legacy", "ip6tables-legacy"):
        run, cmd = _tool(frames, name)
        runs[name] = run
        if run.answered and cmd:
            found, bad = parse_iptables_s(cmd.output, name)
            chains += found
            junk += [f"{name} {b}" for b in bad]
    if "iptables" in frames.missing:
        runs["iptables"] = runs["ip6tables"] = ToolRun(present=False)
    version = frames.value("iptables_version") or ""
    variant = "nf_tables" if "nf_tables" in version else ("legacy" if "legacy" in version else None)
    if variant == "legacy":
        for name in ("iptables", "ip6tables"):
            note = frames.value(f"{name}_note")
            if note:  # no legacy tables loaded: nothing filters on this path
                runs[name] = ToolRun(present=True, rc=0, note=note)
    fwd, fwd_cmd = _tool(frames, "firewalld_state")
    state = fwd_cmd.output.strip().split("\n")[-1] if fwd_cmd and fwd_cmd.output.strip() else None
    if fwd.present and state in ("running", "not running"):
        fwd = ToolRun(present=True, rc=fwd.rc, note=None)  # --state answers without root
    zones_cmd = frames.commands.get("firewalld_zones")
    zones = parse_firewalld_zones(zones_cmd.output) if zones_cmd and zones_cmd.ok else []
    ufw, ufw_cmd = _tool(frames, "ufw")
    active = default_in = rules = None
    if ufw.answered and ufw_cmd:
        active, default_in, rules = parse_ufw_status(ufw_cmd.output)
    conf = frames.files.get("/etc/ufw/ufw.conf")
    defaults = frames.files.get("/etc/default/ufw")
    f2b, f2b_cmd = _tool(frames, "fail2ban")
    jails = None
    if f2b.answered and f2b_cmd:
        m = re.search(r"Jail list:\s*(.*)$", f2b_cmd.output, re.M)
        jails = tuple(j.strip() for j in m.group(1).split(",") if j.strip()) if m else ()
    return Firewall(as_root=frames.as_root, ipv6_addresses=as_int(frames.value("ipv6_addrs"), signed=False),
                    nft=nft, iptables=runs["iptables"], ip6tables=runs["ip6tables"], iptables_variant=variant,
                    chains=tuple(chains), firewalld=fwd, firewalld_state=state, firewalld_zones=tuple(zones),
                    ufw=ufw, ufw_active=active, ufw_default_incoming=default_in, ufw_rules=rules,
                    ufw_config_enabled=_conf_bool(conf.text if conf else None, "ENABLED"),
                    ufw_config_input_policy=_conf_value(defaults.text if defaults else None, "DEFAULT_INPUT_POLICY"),
                    fail2ban=f2b, fail2ban_jails=jails, unparsed=tuple(junk[:MAX_UNPARSED]))


def _conf_value(text: str | None, key: str) -> str | None:
    if text is None:
        return None
    m = re.search(rf"^\s*{key}\s*=\s*(.*)$", text, re.M)
    if not m:
        return None
    value = m.group(1).strip()
    try:
        value = " ".join(shlex.split(value))
    except ValueError:
        pass
    return value or None


def _conf_bool(text: str | None, key: str) -> bool | None:
    value = _conf_value(text, key)
    return None if value is None else value.lower() == "yes"


PROBES = [Probe("firewall", FIREWALL_SCRIPT, parse_firewall, root=True)]
