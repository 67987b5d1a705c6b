"""What lab/expected.yaml demands of a scan's results, shared by the live lab test and the offline
test over recorded lab facts."""

from __future__ import annotations

from collections.abc import Iterable

from checks.registry import Registry
from lab.inventory import MACHINE_WIDE
from scanner.model import Result, Status


def by_check(results: Iterable[Result]) -> dict[str, list[Result]]:
    out: dict[str, list[Result]] = {}
    for result in results:
        out.setdefault(result.check_id, []).append(result)
    return out


def selected(results: dict[str, list[Result]], key: str) -> tuple[str, list[Result]]:
    """(check id, its results) for an expectation key: `check.id`, or `check.id@8080/tcp` for the
    results of one target only."""
    check_id, at, target = key.partition("@")
    got = results.get(check_id, [])
    return check_id, [r for r in got if r.target == target] if at else got


def expectation_problems(results_by_host: dict[str, list[Result]], expected: dict,
                         registry: Registry) -> tuple[list[str], set[str]]:
    """(problems, expected check ids not registered yet) for every host of expected.yaml."""
    problems, missing = [], set()
    for host, spec in expected.items():
        results = by_check(results_by_host.get(host, []))
        for key in spec.get("fail") or []:
            check_id, got = selected(results, key)
            if check_id not in registry:
                missing.add(check_id)
            elif Status.FAIL not in [r.status for r in got]:
                problems.append(f"{host}: {key} should fail, got {[r.status.value for r in got]}")
        for key in spec.get("pass") or []:
            check_id, got = selected(results, key)
            if check_id not in registry:
                missing.add(check_id)
                continue
            if not got or any(r.status not in (Status.PASS, Status.NOT_APPLICABLE) for r in got):
                problems.append(f"{host}: {key} should pass, got "
                                f"{[(r.status.value, r.target, r.message.key if r.message else '') for r in got]}")
    return problems, missing


# Verdicts that come from the machine's own packages, which every lab host shares (sshd is the
# machine's openssh-server): the day Debian publishes an openssh fix the machine lacks, the
# hardened host rightly fails, and that is the machine's state, not a seed of the profile.
MACHINE_WIDE_MESSAGES = {("sshd.version.outdated", "pending_security_update")}


def hardened_problems(results_by_host: dict[str, list[Result]], expected: dict) -> list[str]:
    """Failures on hardened hosts other than machine-wide facts waived in lab/inventory.waivers.yaml."""
    problems = []
    for host in (h for h, spec in expected.items() if spec.get("profile") == "hard"):
        results = results_by_host.get(host, [])
        problems += [f"{host}: {r.check_id} {r.target} fails" for r in results
                     if r.status == Status.FAIL and r.waiver is None
                     and (r.check_id, r.message.key if r.message else "") not in MACHINE_WIDE_MESSAGES]
        problems += [f"{host}: {r.check_id} waived but not machine-wide" for r in results
                     if r.waiver is not None and r.check_id not in MACHINE_WIDE]
    return problems
