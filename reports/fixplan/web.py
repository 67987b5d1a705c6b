"""A web endpoint's fix goes to the server that serves its port: nginx when one of its server
blocks listens there, else Apache when one of its virtual hosts does. Where neither does, the
reason given is nginx's (no server, or not running)."""

from __future__ import annotations

from collections.abc import Callable

from scanner.model import Result

from . import apache, nginx
from .facts import HostFacts, NotAutomatic
from .webedit import Made

NOT_SERVED = {"nginx": ("nginx_not_running", "nginx_no_server", "no_facts"),
              "apache": ("apache_not_running", "apache_no_server", "no_facts")}
WebFix = Callable[[Result, HostFacts], Made]


def either(by_nginx: WebFix, by_apache: WebFix) -> WebFix:
    def make(r: Result, facts: HostFacts) -> Made:
        try:
            return by_nginx(r, facts)
        except NotAutomatic as first:
            if first.why not in NOT_SERVED["nginx"]:
                raise
            try:
                return by_apache(r, facts)
            except NotAutomatic as second:
                raise (first if second.why in NOT_SERVED["apache"] else second) from None
    return make


header = either(nginx.header, apache.header)
server_tokens = either(nginx.server_tokens, apache.server_tokens)
protocols = either(nginx.protocols, apache.protocols)
trace = either(nginx.trace, apache.trace)


def ciphers(suites: tuple[str, ...]) -> WebFix:
    return either(lambda r, facts: nginx.ciphers(r, facts, suites), lambda r, facts: apache.ciphers(r, facts, suites))
