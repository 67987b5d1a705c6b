"""The survey's items, the check ↔ item mapping, and the answers derived from results."""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass

import pytest

import checks
from checks.registry import Registry
from scanner.model import Result, Severity, Status
from scanner.scanfile import load
from scanner.survey import (
    ORG,
    Answer,
    Readiness,
    answer_items,
    derive_answer,
    fix_first,
    load_survey,
    missing_solutions,
    readiness,
    retention_answer,
    validate_mapping,
)
from tests.paths import ROOT, survey_seed

SCANS = ROOT / "tests" / "fixtures" / "scans"
# The XI ids of shared/docs/survey.md: the backbone of every report; they never change.
XI_IDS = ["XI.1", "XI.2.1.1", "XI.2.1.2", "XI.2.1.3", "XI.2.1.4", "XI.2.1.5", "XI.2.1.6", "XI.2.2", "XI.2.3",
          "XI.2.4", "XI.3.1", "XI.3.3.1", "XI.3.3.2", "XI.3.3.3", "XI.3.4", "XI.3.5", "XI.3.6.1", "XI.3.6.2",
          "XI.3.6.3", "XI.3.6.4", "XI.3.6.5", "XI.3.6.6", "XI.4"]


@pytest.fixture(scope="module")
def survey():
    return load_survey()


def R(check_id: str, host: str, status: str, items=("XI.3.4",), severity="high", target="", evidence=None) -> Result:
    return Result(check_id=check_id, host=host, target=target, status=Status(status), severity=Severity(severity),
                  survey_items=tuple(items), evidence=evidence or {})


# -- the survey file -------------------------------------------------------------------------------
def test_xi_items_are_the_documented_ids_in_the_forms_order(survey):
    assert [i.id for i in survey.xi_items] == XI_IDS
    orders = [i.order for i in survey.items]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)
    assert survey.item("XI.3.3.3").options == ("03 tháng", "06 tháng", "Khác")
    assert survey.item("XI.4").answered == "generated"
    assert {i.area for i in survey.items} <= set(survey.areas)


def test_vietnamese_labels_are_the_forms_own_words(survey):
    form = re.sub(r"\s+", " ", survey_seed().read_text(encoding="utf-8"))
    labels = [i.vi for i in survey.items] + [g.vi for g in survey.groups] + [
        r.vi for i in survey.items for r in i.rows] + [o for i in survey.items for o in i.options]
    missing = [label for label in labels if re.sub(r"\s+", " ", label) not in form]
    assert missing == []


def test_the_form_check_rejects_a_label_that_is_not_in_the_form(survey):
    # The check above must be able to fail: a paraphrase is not the form's wording.
    assert "Chính sách hạ tầng mạng" not in survey_seed().read_text(encoding="utf-8")


# -- the mapping -----------------------------------------------------------------------------------
def _all_areas_registry() -> Registry:
    """Every area module of the check catalog found in the tree, registered or not yet wired."""
    registry = Registry()
    for info in pkgutil.iter_modules(checks.__path__):
        if info.name in ("registry", "settings"):
            continue
        registry.add_area(importlib.import_module(f"checks.{info.name}"))
    return registry


def test_every_registered_check_maps_to_items_the_survey_has(survey, registry):
    assert len(registry) > 0
    assert [p for p in validate_mapping(survey, registry) if "is not in the survey" in p] == []


def test_every_item_has_checks_or_is_manual_or_generated(survey):
    registry = _all_areas_registry()
    assert validate_mapping(survey, registry) == []


@dataclass(frozen=True)
class FakeCheck:
    id: str
    survey_items: tuple[str, ...]


def test_validation_names_each_kind_of_problem(survey):
    covering = [FakeCheck(f"x.{i.id.lower().replace('.', '_')}", (i.id,)) for i in survey.items]
    assert validate_mapping(survey, covering + [FakeCheck("logging.retention", ("XI.3.3.3",))]) == []
    problems = validate_mapping(survey, [FakeCheck("tls.typo", ("XI.9.9",))])
    assert "check tls.typo: survey item XI.9.9 is not in the survey" in problems
    assert "survey item XI.3.5 has no check and is not marked manual or generated" in problems
    assert not any(p.startswith("survey item XI.4 ") for p in problems)  # generated
    assert not any(p.startswith("survey item X ") for p in problems)  # manual
    assert any("options_from names check logging.retention" in p for p in problems)


# -- answers ---------------------------------------------------------------------------------------
def test_yes_only_when_every_result_passes_on_every_host(survey):
    item = survey.item("XI.3.4")
    a = derive_answer(item, [R("firewall.default_deny", "web-01", "pass"), R("firewall.default_deny", "db-01", "pass"),
                             R("firewall.intrusion_prevention", "db-01", "pass")])
    assert a.answer == Answer.YES
    assert a.passing_hosts == ("db-01", "web-01") and a.failing_hosts == ()


def test_no_when_a_failure_exists_and_no_host_holds(survey):
    item = survey.item("XI.3.4")
    a = derive_answer(item, [R("firewall.default_deny", "web-01", "fail"), R("firewall.default_deny", "db-01", "fail"),
                             R("firewall.intrusion_prevention", "db-01", "pass")])
    assert a.answer == Answer.NO
    assert a.failing_hosts == ("db-01", "web-01")


def test_partly_when_hosts_disagree(survey):
    item = survey.item("XI.3.4")
    a = derive_answer(item, [R("firewall.default_deny", "web-01", "fail"), R("firewall.default_deny", "db-01", "pass")])
    assert a.answer == Answer.PARTLY
    assert (a.failing_hosts, a.passing_hosts) == (("web-01",), ("db-01",))


@pytest.mark.parametrize("statuses", [["error"], ["unknown"], ["manual"], ["error", "unknown", "manual"]])
def test_not_determined_when_results_could_not_decide(survey, statuses):
    item = survey.item("XI.3.5")
    a = derive_answer(item, [R("malware.installed", f"h{i}", s, items=("XI.3.5",)) for i, s in enumerate(statuses)])
    assert a.answer == Answer.UNDETERMINED
    assert a.passing_hosts == ()


def test_an_error_is_never_folded_into_a_pass(survey):
    item = survey.item("XI.3.3.1")
    results = [R("logging.daemon", "web-01", "pass", items=("XI.3.3.1",)),
               R("logging.daemon", "backup-01", "error", items=("XI.3.3.1",))]
    a = derive_answer(item, results)
    assert a.answer == Answer.UNDETERMINED
    assert a.undetermined_hosts == ("backup-01",) and a.passing_hosts == ("web-01",)


def test_no_result_at_all_is_not_determined_and_only_not_applicable_is_not_applicable(survey):
    item = survey.item("XI.3.5")
    assert derive_answer(item, []).answer == Answer.UNDETERMINED
    assert derive_answer(item, [R("x.y", "web-01", "pass", items=("XI.3.4",))]).answer == Answer.UNDETERMINED
    na = [R("malware.running", "web-01", "not_applicable", items=("XI.3.5",)),
          R("malware.size", "web-01", "info", items=("XI.3.5",))]
    # Evidence checks that found nothing to judge do not answer the item either way...
    assert derive_answer(item, na).answer == Answer.UNDETERMINED
    # ...only a declaration can make an item not applicable.
    other = [R("declared.solution.other", ORG, "not_applicable", items=("XI.3.6.6",), severity="info")]
    assert derive_answer(survey.item("XI.3.6.6"), other).answer == Answer.NOT_APPLICABLE
    # Neutral results neither help nor hurt a decided item.
    assert derive_answer(item, na + [R("malware.installed", "web-01", "pass", items=("XI.3.5",))]).answer == Answer.YES


def test_a_declared_no_is_a_no_even_where_hosts_pass(survey):
    item = survey.item("XI.2.1.1")
    results = [R("declared.policy.network", ORG, "fail", items=("XI.2.1.1",), evidence={"basis": "declared", "status": "no"}),
               R("firewall.default_deny", "web-01", "pass", items=("XI.2.1.1",))]
    assert derive_answer(item, results).answer == Answer.NO
    # A declaration that stands, contradicted by evidence on one host of two: partly.
    results[0] = R("declared.policy.network", ORG, "pass", items=("XI.2.1.1",),
                   evidence={"basis": "declared", "status": "yes", "document": "QĐ 45"})
    results.append(R("firewall.default_deny", "db-01", "fail", items=("XI.2.1.1",)))
    a = derive_answer(item, results)
    assert a.answer == Answer.PARTLY
    assert [d.check_id for d in a.declarations] == ["declared.policy.network"]


def test_province_fixture_answers(survey):
    scan = load(SCANS / "province.json")
    answers = {a.item.id: a for a in answer_items(survey, scan.all_results())}
    assert "XI.4" not in answers  # generated, not derived
    assert answers["XI.1"].answer == Answer.YES
    assert answers["XI.2.1.3"].answer == Answer.NO  # declared No
    assert answers["XI.3.3.2"].answer == Answer.PARTLY  # web-01 forwards nothing, the others do
    assert answers["XI.3.3.1"].answer == Answer.UNDETERMINED  # backup-01 unreachable: never a yes
    assert answers["XI.3.6.1"].answer == Answer.YES
    assert answers["XI.3.6.6"].answer == Answer.NOT_APPLICABLE
    missing = [a.item.id for a in missing_solutions(answers.values())]
    assert "XI.2.1.3" in missing and "XI.3.3.2" in missing and "XI.1" not in missing
    assert missing == sorted(missing, key=lambda i: survey.item(i).order)


# -- XI.3.3.3 --------------------------------------------------------------------------------------
def _retention(host, status="pass", bucket=None, days=None):
    evidence = {k: v for k, v in (("survey_bucket", bucket), ("days", days)) if v is not None}
    return R("logging.retention", host, status, items=("XI.3.3.3",), evidence=evidence)


def test_retention_ticks_the_box_of_the_weakest_host(survey):
    item = survey.item("XI.3.3.3")
    ans = retention_answer(item, [_retention("web-01", bucket="06 tháng", days=182),
                                  _retention("app-01", "fail", bucket="Khác: 28 ngày", days=28),
                                  _retention("db-01", bucket="03 tháng", days=91)])
    assert (ans.option, ans.days, ans.unmeasured) == ("Khác", 28, ())
    assert {h.host: h.option for h in ans.hosts} == {"web-01": "06 tháng", "app-01": "Khác", "db-01": "03 tháng"}
    ans = retention_answer(item, [_retention("web-01", bucket="06 tháng", days=182),
                                  _retention("db-01", bucket="03 tháng", days=91)])
    assert (ans.option, ans.days) == ("03 tháng", 91)
    # "Khác" of a long retention is not the weakest.
    ans = retention_answer(item, [_retention("a", bucket="Khác", days=365), _retention("b", bucket="06 tháng", days=190)])
    assert (ans.option, ans.days) == ("06 tháng", 190)


def test_retention_without_a_bucket_is_not_determined(survey):
    item = survey.item("XI.3.3.3")
    ans = retention_answer(item, [_retention("web-01", bucket="06 tháng", days=182), _retention("db-01", "unknown")])
    assert ans.option is None and ans.unmeasured == ("db-01",)
    assert retention_answer(item, []).option is None
    assert retention_answer(item, [_retention("x", bucket="<script>", days=1)]).option is None
    # Without days, only a unanimous box can be ticked.
    assert retention_answer(item, [_retention("a", bucket="03 tháng"), _retention("b", bucket="03 tháng")]).option == "03 tháng"
    assert retention_answer(item, [_retention("a", bucket="03 tháng"), _retention("b", bucket="Khác")]).option is None
    assert retention_answer(survey.item("XI.3.4"), []) is None  # an item without boxes


# -- readiness and priorities ----------------------------------------------------------------------
def test_readiness(survey):
    ok = [R("firewall.default_deny", "h", "pass")]
    answers = answer_items(survey, ok)
    # Most XI items have no result here: not determined, so not ready to claim.
    assert readiness(answers, ok, complete=True) == Readiness.UNCONFIRMED
    all_yes = [R(f"c.{i.id.replace('.', '_').lower()}", "h", "pass", items=(i.id,)) for i in survey.xi_items]
    assert readiness(answer_items(survey, all_yes), all_yes, complete=True) == Readiness.READY
    assert readiness(answer_items(survey, all_yes), all_yes, complete=False) == Readiness.UNCONFIRMED
    critical = all_yes + [R("declared.population_db_level", ORG, "fail", items=("II",), severity="critical")]
    assert readiness(answer_items(survey, critical), critical, complete=True) == Readiness.NOT_READY
    low_outside_xi = all_yes + [R("capacity.disk_usage", "h", "fail", items=("VIII",), severity="low")]
    assert readiness(answer_items(survey, low_outside_xi), low_outside_xi, complete=True) == Readiness.READY


def test_fix_first_orders_by_severity_then_host_count():
    results = [R("a.low", "h1", "fail", severity="low"),
               R("b.high_one", "h1", "fail", severity="high"),
               R("c.high_two", "h1", "fail", severity="high"), R("c.high_two", "h2", "fail", severity="high"),
               R("d.critical", "", "fail", severity="critical"),
               R("e.pass", "h1", "pass", severity="critical"), R("f.error", "h1", "error", severity="critical")]
    order = [p.check_id for p in fix_first(results)]
    assert order == ["d.critical", "c.high_two", "b.high_one", "a.low"]
    assert fix_first(results)[1].hosts == ["h1", "h2"]
