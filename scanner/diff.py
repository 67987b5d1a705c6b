"""What changed between two scans: findings matched by their stable key (host, check_id, target, and
the zone for a finding seen from one zone of a scan from several).

Pure: two scan files in, a ScanDiff out. A finding only counts as fixed when the new scan really
looked again (the host is still there and the check ran on it); a finding that can no longer be
decided is listed as such, never as fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

from scanner.model import Result, Status
from scanner.scanfile import ScanFile
from scanner.survey import NEUTRAL_STATUSES, ORG, UNDETERMINED_STATUSES

Key = tuple[str, ...]  # Result.key: (host, check_id, target[, zone]); host "" for organisation-level results


@dataclass(frozen=True)
class Change:
    key: Key
    before: Result | None
    after: Result | None

    @property
    def host(self) -> str:
        return self.key[0]

    @property
    def check_id(self) -> str:
        return self.key[1]

    @property
    def target(self) -> str:
        return self.key[2]

    @property
    def vantage(self) -> str | None:
        """The zone the finding was seen from, in a scan from several zones."""
        return self.key[3] if len(self.key) > 3 else None

    @property
    def result(self) -> Result:
        """The newest result there is for this key (the old one for a finding that went away)."""
        return self.after or self.before  # type: ignore[return-value]


@dataclass(frozen=True)
class ScanDiff:
    fixed: tuple[Change, ...]  # failed before; passes now, or its finding is gone though the check ran
    new: tuple[Change, ...]  # fails now; did not exist before, or could not be decided before
    regressed: tuple[Change, ...]  # passed before, fails now
    still_failing: tuple[Change, ...]
    unverified: tuple[Change, ...]  # decided before (pass or fail), cannot be decided now
    hosts_added: tuple[str, ...]
    hosts_gone: tuple[str, ...]
    inventory_changed: bool

    @property
    def empty(self) -> bool:
        return not (self.fixed or self.new or self.regressed or self.unverified or self.hosts_added
                    or self.hosts_gone)


def _by_key(scan: ScanFile) -> dict[Key, Result]:
    return {r.key: r for r in scan.all_results()}


def _checks_run(scan: ScanFile) -> set[tuple[str, str]]:
    """(host, check_id) pairs the scan judged: a finding missing from these was not looked for."""
    return {(r.host, r.check_id) for r in scan.all_results()}


def diff_scans(previous: ScanFile, current: ScanFile) -> ScanDiff:
    before, after = _by_key(previous), _by_key(current)
    ran_now = _checks_run(current)
    hosts_before, hosts_after = set(previous.hosts), set(current.hosts)
    fixed, new, regressed, still, unverified = [], [], [], [], []
    for key in sorted(set(before) | set(after)):
        old, cur = before.get(key), after.get(key)
        was = old.status if old else None
        now = cur.status if cur else None
        change = Change(key, old, cur)
        if now == Status.FAIL:
            if was == Status.FAIL:
                still.append(change)
            elif was == Status.PASS:
                regressed.append(change)
            else:  # absent, undetermined or not applicable before: a finding the last scan did not have
                new.append(change)
        elif was == Status.FAIL:
            if now == Status.PASS or now in NEUTRAL_STATUSES:
                fixed.append(change)
            elif now is None and (key[0], key[1]) in ran_now:
                fixed.append(change)  # the check ran and no longer reports this target
            elif now in UNDETERMINED_STATUSES or (now is None and (key[0] == ORG or key[0] in hosts_after)):
                unverified.append(change)  # still there, but not decided (or not looked for) this time
        elif was == Status.PASS and now in UNDETERMINED_STATUSES:
            unverified.append(change)
    return ScanDiff(
        fixed=tuple(fixed), new=tuple(new), regressed=tuple(regressed), still_failing=tuple(still),
        unverified=tuple(unverified),
        hosts_added=tuple(sorted(hosts_after - hosts_before)), hosts_gone=tuple(sorted(hosts_before - hosts_after)),
        inventory_changed=previous.inventory.digest != current.inventory.digest,
    )
