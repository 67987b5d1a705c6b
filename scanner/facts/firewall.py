"""Facts about the host firewall and intrusion prevention (host collector): nftables, iptables,
firewalld, ufw and fail2ban, as each tool reports its *loaded* state (root needed for most)."""

from __future__ import annotations

from typing import ClassVar, Literal

from scanner.facts.host import HostFact
from scanner.model import Frozen


class ToolRun(Frozen):
    """How asking one tool went: absent, refused (needs root), failed, or answered."""

    present: bool = False
    rc: int | None = None
    permission_denied: bool = False
    note: str | None = None  # the tool's own words when it did not answer (capped)

    @property
    def answered(self) -> bool:
        return self.present and self.rc == 0 and not self.permission_denied


class InputChain(Frozen):
    """A base chain on the input hook (nftables) or the built-in INPUT chain (iptables)."""

    tool: Literal["nft", "iptables", "ip6tables", "iptables-legacy", "ip6tables-legacy"]
    family: str  # inet | ip | ip6 (nft); ip / ip6 for iptables
    table: str
    chain: str
    policy: str | None = None  # accept | drop
    rules: int = 0
    last_rule: str | None = None
    final_drop: bool = False  # the last rule drops or rejects every packet that reaches it

    @property
    def default_deny(self) -> bool:
        return self.policy == "drop" or self.final_drop

    @property
    def families(self) -> set[str]:
        return {"ip", "ip6"} if self.family == "inet" else {self.family}


class FirewalldZone(Frozen):
    name: str
    active: bool = False
    target: str | None = None  # default (= reject) | ACCEPT | DROP | REJECT | %%REJECT%%
    interfaces: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    ports: tuple[str, ...] = ()


class Firewall(HostFact):
    PART: ClassVar[str] = "firewall"
    as_root: bool = False
    ipv6_addresses: int | None = None  # non-loopback IPv6 addresses (/proc/net/if_inet6)
    nft: ToolRun = ToolRun()
    iptables: ToolRun = ToolRun()
    ip6tables: ToolRun = ToolRun()
    iptables_variant: str | None = None  # "nf_tables" | "legacy" (iptables -V)
    chains: tuple[InputChain, ...] = ()
    firewalld: ToolRun = ToolRun()
    firewalld_state: str | None = None  # running | not running
    firewalld_zones: tuple[FirewalldZone, ...] = ()
    ufw: ToolRun = ToolRun()
    ufw_active: bool | None = None
    ufw_default_incoming: str | None = None  # deny | reject | allow
    ufw_rules: int | None = None
    ufw_config_enabled: bool | None = None  # /etc/ufw/ufw.conf ENABLED= (readable without root)
    ufw_config_input_policy: str | None = None  # /etc/default/ufw DEFAULT_INPUT_POLICY
    fail2ban: ToolRun = ToolRun()
    fail2ban_jails: tuple[str, ...] | None = None
    unparsed: tuple[str, ...] = ()
