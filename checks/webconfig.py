"""Which web server configuration serves an endpoint: the nginx server blocks or Apache virtual
hosts on its port, when the host's facts were gathered (a login the scan had), so a finding seen
from the network names the block to change."""

from __future__ import annotations

from typing import Any

from checks.registry import HostContext
from scanner.facts.apache import ApacheConfig
from scanner.facts.nginx import NginxConfig

MAY_READ = (NginxConfig, ApacheConfig)


def served_by(ctx: HostContext, port: int) -> dict[str, Any]:
    """{"nginx_servers": ["path:line", …]} of the running nginx's server blocks on `port`, else
    {"apache_vhosts": […]} of the running Apache's virtual hosts there; empty when neither runs
    there or their facts were not gathered."""
    nginx = ctx.facts_or_none(NginxConfig)
    if nginx is not None and nginx.master_pid is not None:
        blocks = [s.location for s in nginx.servers if any(lst.port == port for lst in s.listens)]
        if blocks:
            return {"nginx_servers": blocks}
    apache = ctx.facts_or_none(ApacheConfig)
    if apache is not None and apache.master_pid is not None:
        hosts = [v.location for v in apache.on_port(port)]
        if hosts:
            return {"apache_vhosts": hosts}
    return {}
