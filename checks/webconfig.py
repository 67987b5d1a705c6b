"""Which web server configuration serves an endpoint: the nginx server blocks listening on its
port, when the host's nginx facts were gathered (a login the scan had), so a finding seen from the
network names the block to change."""

from __future__ import annotations

from typing import Any

from checks.registry import HostContext
from scanner.facts.nginx import NginxConfig

MAY_READ = (NginxConfig,)


def served_by(ctx: HostContext, port: int) -> dict[str, Any]:
    """{"nginx_servers": ["path:line", …]} of the running nginx's server blocks on `port`; empty
    when nginx is not running there or its facts were not gathered."""
    cfg = ctx.facts_or_none(NginxConfig)
    if cfg is None or cfg.master_pid is None:
        return {}
    blocks = [s.location for s in cfg.servers if any(lst.port == port for lst in s.listens)]
    return {"nginx_servers": blocks} if blocks else {}
