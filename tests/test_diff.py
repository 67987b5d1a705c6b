"""What changed between two scans, on the hand-made pair province_prev.json → province.json.

The previous scan (a month earlier) had mail-01 and no backup-01; since then on web-01 root login
was fixed, telnet (23/tcp) closed, MySQL (3306/tcp) opened, log forwarding broke, and db-01's
firewall could no longer be read.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.diff import diff_scans
from scanner.model import Status
from scanner.scanfile import load

SCANS = Path(__file__).resolve().parent / "fixtures" / "scans"


@pytest.fixture(scope="module")
def prev():
    return load(SCANS / "province_prev.json")


@pytest.fixture(scope="module")
def cur():
    return load(SCANS / "province.json")


def keys(changes):
    return {c.key for c in changes}


def test_changes_between_the_two_scans(prev, cur):
    d = diff_scans(prev, cur)
    assert keys(d.fixed) == {("web-01", "ssh.config.root_login", ""), ("web-01", "ports.undeclared_open", "23/tcp")}
    assert keys(d.new) == {("web-01", "ports.undeclared_open", "3306/tcp")}
    assert keys(d.regressed) == {("web-01", "logging.remote_forwarding", "")}
    assert keys(d.unverified) == {("db-01", "firewall.default_deny", "")}
    assert ("web-01", "patch.security_updates", "") in keys(d.still_failing)
    assert ("", "declared.policy.data", "") in keys(d.still_failing)
    assert all(c.before.status == Status.FAIL and c.after.status == Status.FAIL for c in d.still_failing)
    assert d.hosts_added == ("backup-01",) and d.hosts_gone == ("mail-01",)
    assert d.inventory_changed and not d.empty


def test_a_finding_that_went_away_is_fixed_only_where_the_check_ran_again(prev, cur):
    d = diff_scans(prev, cur)
    gone = next(c for c in d.fixed if c.target == "23/tcp")
    assert gone.after is None and gone.result is gone.before
    # mail-01 is gone: its open telnet is not "fixed", the host is listed as gone instead.
    assert not any(c.host == "mail-01" for c in d.fixed + d.unverified)
    # backup-01 is new and could not be reached: its errors are neither new findings nor fixes.
    assert not any(c.host == "backup-01" for c in d.new + d.fixed)


def test_a_finding_whose_check_did_not_run_is_not_fixed(prev, cur):
    web = cur.hosts["web-01"]
    without = web.model_copy(update={"results": [r for r in web.results if r.check_id != "ports.undeclared_open"]})
    narrowed = cur.model_copy(update={"hosts": {**cur.hosts, "web-01": without}})
    d = diff_scans(prev, narrowed)
    assert ("web-01", "ports.undeclared_open", "23/tcp") not in keys(d.fixed)
    assert ("web-01", "ports.undeclared_open", "23/tcp") in keys(d.unverified)


def test_reverse_direction_swaps_the_lists(prev, cur):
    d = diff_scans(cur, prev)
    assert ("web-01", "ssh.config.root_login", "") in keys(d.regressed)
    assert ("web-01", "logging.remote_forwarding", "") in keys(d.fixed)
    assert ("web-01", "ports.undeclared_open", "23/tcp") in keys(d.new)
    assert d.hosts_added == ("mail-01",) and d.hosts_gone == ("backup-01",)


def test_a_scan_against_itself_changes_nothing(cur):
    d = diff_scans(cur, cur)
    assert d.empty and not d.inventory_changed
    assert len(d.still_failing) == sum(r.status == Status.FAIL for r in cur.all_results())
