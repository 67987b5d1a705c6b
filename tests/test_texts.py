"""The catalog guards: a text with a placeholder nobody fills, a message key with no text or a
stale fixture fails here, not on an inspector's desk."""

from __future__ import annotations

import ast
import inspect
import re

import pytest

from reports import Texts
from scanner.i18n import LANGS, Catalog, TextError, default_catalog, placeholders, render_value
from scanner.model import Message, Result, Severity, Status
from scanner.scanfile import ScanFile
from tests.labscan import recorded_lab_scan
from tests.paths import ROOT

SCANS = ROOT / "tests" / "fixtures" / "scans"
STATIC_PARTS = ("title", "finding", "rationale", "remediation")
VERDICT_CALLS = {"passed": 0, "failed": 0, "verdict": 1, "Verdict": 1}


def test_every_template_parses_and_names_plain_fields():
    for key, entry in default_catalog().entries.items():
        for lang, template in entry.items():
            names = placeholders(template)  # raises on an unbalanced brace
            assert all(n.isidentifier() for n in names), (key, lang, names)


@pytest.mark.parametrize("lang", LANGS)
def test_static_texts_of_every_check_render_without_values(registry, lang):
    catalog = default_catalog()
    for check in registry:
        for part in STATIC_PARTS:
            assert catalog.text(f"{check.id}.{part}", lang).strip(), (check.id, part)


def _constant_message_keys(module) -> set[str]:
    keys = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in VERDICT_CALLS:
            at = VERDICT_CALLS[node.func.id]
            arg = node.args[at] if len(node.args) > at else next(
                (k.value for k in node.keywords if k.arg == "message"), None)
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                keys.add(arg.value)
    return keys


def test_every_message_key_in_the_checks_code_has_text(registry):
    catalog = default_catalog()
    by_module: dict[object, list[str]] = {}
    for check in registry:
        # a check's platform variants (checks/windows.py) speak with the check's own messages
        for fn in (check.fn, *(v.fn for _, v in check.variants)):
            by_module.setdefault(inspect.getmodule(fn), []).append(check.id)
    missing = []
    for module, check_ids in by_module.items():
        for key in sorted(_constant_message_keys(module)):
            where = [Catalog.message_key(c, key) for c in check_ids]
            if not any(catalog.has(w) for w in where):
                missing.append(f"{module.__name__}: {key!r} (looked at {where[0]} …)")
    assert not missing, "\n".join(missing)


def _scans() -> dict[str, ScanFile]:
    out = {p.stem: ScanFile.model_validate_json(p.read_text(encoding="utf-8")) for p in sorted(SCANS.glob("*.json"))}
    out["lab (recorded facts, judged now)"] = recorded_lab_scan()
    return out


@pytest.mark.parametrize("lang", LANGS)
def test_every_result_of_the_fixtures_and_the_lab_renders_whole(lang):
    texts = Texts.for_lang(lang)
    failures = []
    for name, scan in _scans().items():
        for r in scan.all_results():
            try:
                texts.message(r), texts.evidence(r), texts.fix(r)
            except TextError as exc:
                failures.append(f"{name}: {r.host} {r.check_id}: {exc}")
    assert not failures, "\n".join(failures[:40])


def test_a_stale_message_fails_loudly_instead_of_printing_its_placeholder():
    texts = Texts.for_lang("vi")
    stale_params = Result(check_id="malware.signatures_fresh", host="web-01", status=Status.FAIL,
                          severity=Severity.LOW, survey_items=("XI.3.5",),
                          message=Message(key="stale", params={"days": 12, "max_days": 3}))
    with pytest.raises(TextError, match="limit, product"):
        texts.message(stale_params)
    stale_key = stale_params.model_copy(update={"message": Message(key="valid_for", params={"days": 3})})
    with pytest.raises(TextError, match="malware.signatures_fresh.messages.valid_for"):
        texts.message(stale_key)


def test_a_foreign_check_is_shown_as_data_not_refused():
    # A scan file from a newer readyscan may hold checks this one has no words for.
    r = Result(check_id="future.check", host="h", status=Status.FAIL, severity=Severity.LOW, survey_items=("XI.2",),
               message=Message(key="odd", params={"port": 8080}))
    assert Texts.for_lang("vi").message(r) == "odd (port=8080)"


def test_values_are_written_the_way_the_language_writes_them():
    assert render_value("2026-07-11", "vi") == "11/07/2026" and render_value("2026-07-11", "en") == "2026-07-11"
    assert render_value(28.0) == "28" and render_value(28.5) == "28.5"
    assert render_value(["TLS 1.0", "TLS 1.1"]) == "TLS 1.0, TLS 1.1"
    many = [f"pkg{i}" for i in range(40)]
    assert render_value(many, "vi").endswith("pkg7, và 32 mục khác") and "pkg8" not in render_value(many, "vi")
    assert render_value("2026-07-11T10:00:00", "vi") == "2026-07-11T10:00:00"  # only a bare day is a day


def test_evidence_and_fix_pick_the_first_variant_whose_values_exist():
    catalog = Catalog({
        "c.x.title": {"vi": "t", "en": "t"},
        "c.x.fix.debian": {"vi": "apt-get install fail2ban ({os_debian})", "en": "apt-get install fail2ban ({os_debian})"},
        "c.x.fix.rhel": {"vi": "dnf install fail2ban ({os_rhel})", "en": "dnf install fail2ban ({os_rhel})"},
        "c.x.fix.any": {"vi": "cài fail2ban", "en": "install fail2ban"},
        "c.x.evidence.file": {"vi": "Đọc {file} dòng {line}", "en": "Read {file} line {line}"},
        "c.x.evidence.none": {"vi": "Không có tệp", "en": "No file"},
    })
    texts = Texts("vi", catalog)
    r = Result(check_id="c.x", host="h", status=Status.FAIL, severity=Severity.LOW, survey_items=("XI.2",),
               evidence={"file": "/etc/ssh/sshd_config", "line": 12})
    assert texts.evidence(r) == "Đọc /etc/ssh/sshd_config dòng 12"
    assert texts.evidence(r.model_copy(update={"evidence": {"file": "/etc/x", "line": None}})) == "Không có tệp"
    assert texts.fix(r, {"os": "Rocky 9", "os_rhel": "Rocky 9"}) == "dnf install fail2ban (Rocky 9)"
    assert texts.fix(r, {"os": "Debian 12", "os_debian": "Debian 12"}) == "apt-get install fail2ban (Debian 12)"
    assert texts.fix(r) == "cài fail2ban"


def test_no_unfilled_field_survives_in_a_rendered_message():
    leftover = re.compile(r"\{[a-z_]+\}")
    for lang in LANGS:
        texts = Texts.for_lang(lang)
        for r in recorded_lab_scan().all_results():
            assert not leftover.search(texts.message(r)), (r.check_id, texts.message(r))


@pytest.mark.parametrize("lang", LANGS)
def test_every_check_names_its_requirement_its_finding_and_how_it_was_seen(registry, lang):
    """Issue 13 item 1: a list of what holds reads the title (the requirement), a list of gaps the
    finding; item 2: every check says how and where it looked."""
    catalog = default_catalog()
    problems = []
    for check in registry:
        title = catalog.text(f"{check.id}.title", lang) if catalog.has(f"{check.id}.title") else ""
        finding = catalog.text(f"{check.id}.finding", lang) if catalog.has(f"{check.id}.finding") else ""
        if not (title and finding) or title == finding:
            problems.append(f"{check.id}: title {title!r}, finding {finding!r}")
        if not catalog.has(f"{check.id}.rationale"):
            problems.append(f"{check.id}: no rationale")
        # the common sentences, and each non-Linux platform's own (a Windows host reads only those)
        wanted = [f"{check.id}.evidence"] if check.platform in (None, "linux") else []
        wanted += [f"{check.id}.evidence.{p}" for p in check.platforms if p != "linux"]
        for prefix in wanted:
            if not catalog.variants(prefix):
                problems.append(f"{check.id}: no evidence sentence under {prefix}")
    assert not problems, "\n".join(problems)


def test_no_unsourced_legal_claim_in_any_text():
    """Issue 13 item 6: a standard number and year nobody read at the source (TCVN 14423) is not
    cited, and Điều 6 of TT 46/2022/TT-BCA is told as it reads: the system must *meet* level 3."""
    for key, entry in default_catalog().entries.items():
        for lang, text in entry.items():
            assert "14423" not in text and "116/2025" not in text, (key, lang)
            if "46/2022" in text and lang == "vi":
                assert "phê duyệt cấp độ an toàn" not in text, key
