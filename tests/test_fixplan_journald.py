"""journald in the fix plan (issue 17), from the recorded lab scan (tests/labscan.py): weakssh-01's
only logger is systemd-journald with Storage=volatile, so its logging.daemon and logging.retention
fixes keep the journal on disk and the required days, as lines of one drop-in that both write alike;
the cases a line of ours would not decide are left by hand. tests/test_fixplan_lab.py applies the
same plan to the lab's real journald and re-scans it."""

from __future__ import annotations

import copy

from reports.fixplan import build_plan, playbook_text
from reports.fixplan.journald import DROPIN
from scanner.model import Message
from scanner.scanfile import ScanFile
from tests.labscan import recorded_lab_scan
from tests.test_fixplan import blocks, plays

HOST = "weakssh-01"


def lines_written(block: dict) -> list[str]:
    return [t["ansible.builtin.lineinfile"]["line"] for t in block["block"] if "ansible.builtin.lineinfile" in t]


def test_a_volatile_journal_is_kept_on_disk_for_the_required_days_by_one_drop_in():
    scan = recorded_lab_scan()
    results = {r.check_id: r for r in scan.hosts[HOST].results}
    assert results["logging.daemon"].message.key == "journald_volatile"
    assert results["logging.retention"].evidence["stores"][0]["store"] == "journald"
    required = results["logging.retention"].evidence["required_days"]
    text = playbook_text(build_plan(scan, lang="en"))
    fixes = blocks(text, HOST)

    assert lines_written(fixes["logging.daemon"]) == ["[Journal]", "Storage=persistent"]
    # a journal file, deleted whole once its first entry is older than MaxRetentionSec, spans up to MaxFileSec
    # (unset here: 1 month, 30.44 days): the required days plus 31
    assert lines_written(fixes["logging.retention"]) == ["[Journal]", "Storage=persistent",
                                                          f"MaxRetentionSec={required + 31}d"]
    for check_id in ("logging.daemon", "logging.retention"):
        block = fixes[check_id]
        assert "restart" in block["tags"] and set(results[check_id].survey_items) <= set(block["tags"])
        edits = [t for t in block["block"] if "ansible.builtin.lineinfile" in t]
        assert {t["ansible.builtin.lineinfile"]["path"] for t in edits} == {DROPIN}
        # a key's own line is replaced wherever it is in the file, so a second run finds it and changes nothing
        assert all(t["notify"] == "restart journald" for t in edits[1:])
    # the step says what the size limit still does: the recorded journald.conf sets no SystemMaxUse
    assert "default size limit" in fixes["logging.retention"]["block"][-1]["name"]

    play = next(p for p in plays(text) if p["hosts"] == HOST)
    handler = [h for h in play["handlers"] if h["listen"] == "restart journald"]
    assert [next(k for k in h if k.startswith("ansible.")) for h in handler] == [
        "ansible.builtin.service", "ansible.builtin.command"]
    assert handler[0]["ansible.builtin.service"] == {"name": "systemd-journald", "state": "restarted"}
    assert handler[1]["ansible.builtin.command"]["argv"] == ["journalctl", "--flush"]


def with_journald(change) -> ScanFile:
    """The recorded lab scan with weakssh-01's journald facts changed by `change(facts)`."""
    scan = recorded_lab_scan().model_copy(deep=True)
    record = scan.hosts[HOST]
    data = copy.deepcopy(record.observations["host"].data)
    change(data["parsed"]["journald"])
    record.observations["host"] = record.observations["host"].model_copy(update={"data": data})
    return scan


def manual_why(scan: ScanFile, check_id: str) -> str | None:
    plan = build_plan(scan, lang="en", checks=["logging.*"])
    return next((m.why for m in plan.manual if (m.host, m.check_id) == (HOST, check_id)), None)


def with_file_span(days) -> ScanFile:
    """The recorded lab scan with the span of one journal file, as weakssh-01's retention result
    records it for its journald store, set to `days`."""
    scan = recorded_lab_scan().model_copy(deep=True)
    results = scan.hosts[HOST].results
    index = next(i for i, r in enumerate(results) if r.check_id == "logging.retention")
    evidence = copy.deepcopy(results[index].evidence)
    evidence["stores"][0]["files"][0]["file_span_days"] = days
    results[index] = results[index].model_copy(update={"evidence": evidence})
    return scan


def test_the_retention_adds_the_span_of_one_journal_file_and_bounds_it_where_it_is_not():
    def retention_lines(scan):
        return lines_written(blocks(playbook_text(build_plan(scan, lang="en")), HOST)["logging.retention"])[2:]

    # the check records the span: MaxFileSec, or its default (1 month: 30.44 days)
    store = next(r for r in recorded_lab_scan().hosts[HOST].results if r.check_id == "logging.retention")
    assert store.evidence["stores"][0]["files"][0]["file_span_days"] == 30.44
    assert retention_lines(with_file_span(7.0)) == ["MaxRetentionSec=97d"]
    # MaxFileSec=0 (size-based rotation only: no span) or a scan file that does not say: one month, written
    for days in (None, 0, "soon"):
        assert retention_lines(with_file_span(days)) == ["MaxFileSec=1month", "MaxRetentionSec=121d"]


def test_a_drop_in_journald_reads_after_ours_leaves_the_fix_by_hand():
    later = "/usr/lib/systemd/journald.conf.d/99-vendor.conf"
    earlier = "/etc/systemd/journald.conf.d/10-local.conf"

    def storage_from(path):
        return lambda facts: facts["sources"].update(Storage=path)

    assert manual_why(with_journald(storage_from(later)), "logging.daemon") == (
        f"Storage is set in {later}, which journald reads after this plan's file: it needs a change there")
    assert manual_why(with_journald(storage_from(later)), "logging.retention") is not None
    # an earlier drop-in, or journald.conf itself, is overridden by ours: fixed
    for path in (earlier, "/etc/systemd/journald.conf"):
        assert manual_why(with_journald(storage_from(path)), "logging.daemon") is None


def test_no_logger_at_all_and_a_fixable_logrotate_are_not_journald_fixes():
    scan = recorded_lab_scan().model_copy(deep=True)
    results = scan.hosts[HOST].results
    daemon = next(r for r in results if r.check_id == "logging.daemon")
    results[results.index(daemon)] = daemon.model_copy(update={"message": Message(key="none", params={})})
    assert manual_why(scan, "logging.daemon") == ("no logging daemon runs on the host: one must be chosen, "
                                                  "installed and configured (rsyslog, or journald kept on disk)")
    # legacy-01 keeps 28 days in logrotate'd files and runs no journald: its fix stays logrotate's
    legacy = blocks(playbook_text(build_plan(recorded_lab_scan(), lang="en")), "legacy-01")["logging.retention"]
    assert [next(k for k in t if k.startswith("ansible.")) for t in legacy["block"]] == ["ansible.builtin.replace"]
    assert "none" in legacy["tags"]
