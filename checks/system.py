"""What the host is: OS identity and kernel, for section I's application/service list."""

from __future__ import annotations

from checks.registry import HostContext, Verdict, check, verdict
from scanner.facts.system import Kernel, OsRelease
from scanner.model import Severity, Status


@check("system.identity", items=["I"], severity=Severity.INFO, reads=(OsRelease, Kernel))
def identity(ctx: HostContext) -> Verdict:
    os_release, kernel = ctx.facts(OsRelease), ctx.facts(Kernel)
    if not os_release.id:
        return verdict(Status.UNKNOWN, "no_os_release")
    return verdict(Status.INFO, "identified", os=os_release.pretty_name or os_release.id,
                   kernel=kernel.release or "?",
                   evidence={"os_id": os_release.id, "version_id": os_release.version_id,
                             "pretty_name": os_release.pretty_name, "kernel": kernel.release,
                             "hostname": kernel.hostname, "machine": kernel.machine})
