"""Declared items: a declaration is judged from the unit's declaration file, and its evidence
sentence says so, naming the document and its date and that the scan did not verify it."""

from __future__ import annotations

import datetime as dt

from checks.declared import judge_declaration
from reports import Texts
from scanner.inventory import Declaration
from scanner.model import Message, Result, Severity, Status


def as_result(check_id: str, v) -> Result:
    return Result(check_id=check_id, host="", status=v.status, severity=v.severity or Severity.MEDIUM,
                  survey_items=("XI.2.1.1",), message=Message(key=v.message, params=dict(v.params)),
                  evidence=dict(v.evidence))


def test_the_section_of_the_declaration_file_is_in_the_evidence_even_when_nothing_is_declared():
    assert judge_declaration(None, "policies.network").evidence == {"field": "policies.network"}
    no = judge_declaration(Declaration(status="no"), "policies.network")
    assert no.status == Status.FAIL and no.evidence["field"] == "policies.network"
    sentence = Texts.for_lang("vi").evidence(as_result("declared.policy.network", no))
    assert sentence == ("Kết quả dựa trên mục policies.network trong tệp khai báo của đơn vị, không dựa trên quan sát "
                        "của đợt quét.")


def test_a_declared_document_is_named_with_its_date_and_shown_as_not_verified():
    yes = judge_declaration(Declaration(status="yes", document="QĐ 45/QĐ-STTTT", date=dt.date(2025, 5, 10)),
                            "policies.network")
    assert yes.status == Status.PASS
    vi = Texts.for_lang("vi").evidence(as_result("declared.policy.network", yes))
    assert "tệp khai báo" in vi and "QĐ 45/QĐ-STTTT ban hành ngày 10/05/2025" in vi and "không kiểm tra" in vi
    en = Texts.for_lang("en").evidence(as_result("declared.policy.network", yes))
    assert "QĐ 45/QĐ-STTTT of 2025-05-10" in en and "did not verify" in en


def test_a_declared_product_is_named_as_a_product_not_as_a_document():
    siem = judge_declaration(Declaration(status="yes", product="Wazuh"), "solutions.siem_soc")
    vi = Texts.for_lang("vi").evidence(as_result("declared.solution.siem_soc", siem))
    assert "sản phẩm Wazuh" in vi and "văn bản" not in vi
