"""Checks that judge each declared endpoint of a host on its own (TLS and HTTP areas).

The facts model lists endpoints; each has a `target` ("443/tcp") and an `error` (None, or a
reason and detail: scanner/facts/endpoint.py). An endpoint with an error is `error` for every check, except a service that
refused STARTTLS in its own protocol: that is a fact (it talks in clear text), judged by the one
check registered with `judges_refusal` and `not_applicable` for the others. A host without
endpoints is `not_applicable`. Where the host's nginx facts were gathered, each result names the
server blocks that serve its port (checks/webconfig.py). Each check's texts need the messages `endpoint_error`
({reason}, {detail}) and `no_endpoint`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from checks.registry import HostContext, Verdict, check, verdict
from checks.webconfig import MAY_READ, served_by
from scanner.facts.endpoint import EndpointErrorReason
from scanner.model import Severity, Status

Judge = Callable[[Any, HostContext], Verdict]
REFUSED_TLS: EndpointErrorReason = "starttls_rejected"  # the endpoint error reason of a service that refused STARTTLS


def judge_each(ctx: HostContext, facts_model: type, judge: Judge,
               identity: Callable[[Any], dict[str, Any]], judges_refusal: bool = False) -> list[Verdict]:
    endpoints = ctx.facts(facts_model).endpoints
    if not endpoints:
        return [verdict(Status.NOT_APPLICABLE, "no_endpoint")]
    out = []
    for endpoint in endpoints:
        error = endpoint.error
        refused = error is not None and error.reason == REFUSED_TLS
        if refused and not judges_refusal:
            v = verdict(Status.NOT_APPLICABLE, "_starttls_refused", evidence={"error": error.model_dump()},
                        port=endpoint.port, reply=error.detail)
        elif error is not None and not refused:
            v = verdict(Status.ERROR, "endpoint_error", evidence={"error": error.model_dump()},
                        reason=error.reason, detail=error.detail)
        else:
            v = judge(endpoint, ctx)
        evidence = {**identity(endpoint), **served_by(ctx, endpoint.port), **v.evidence}
        out.append(dataclasses.replace(v, target=endpoint.target, evidence=evidence))
    return out


def endpoint_checks(facts_model: type, default_items: tuple[str, ...], identity: Callable[[Any], dict[str, Any]]):
    """A decorator factory: `@endpoint_check(id, severity)` marks `judge(endpoint, ctx) -> Verdict`
    as a host check over every endpoint of `facts_model` (the function stays the judge of one
    endpoint, importable and testable by name)."""
    def endpoint_check(check_id: str, severity: Severity, items: tuple[str, ...] | None = None,
                       judges_refusal: bool = False):
        def over_endpoints(judge: Judge):
            return lambda ctx: judge_each(ctx, facts_model, judge, identity, judges_refusal)
        return check(check_id, items=items or default_items, severity=severity, reads=(facts_model,),
                     may_read=MAY_READ, judge=over_endpoints)
    return endpoint_check
