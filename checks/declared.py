"""Declared items: what the unit states in the inventory for XI.1, XI.2 and XI.3.6, and the
security level of systems that connect to the population database (sections II and IX).

A declaration is shown as declared, never as verified; `pass` here means "declared yes, with the
document or details an inspector will ask for".
"""

from __future__ import annotations

from checks.registry import OrgContext, Verdict, check, failed, passed, verdict
from scanner.inventory import Declaration
from scanner.model import Severity, Status

# (field in the inventory section, survey item, severity when declared "no")
POLICIES = (
    ("network", "XI.2.1.1", Severity.MEDIUM),
    ("servers", "XI.2.1.2", Severity.MEDIUM),
    ("data", "XI.2.1.3", Severity.MEDIUM),
    ("endpoints", "XI.2.1.4", Severity.MEDIUM),
    ("datacenter_access", "XI.2.1.5", Severity.MEDIUM),
    ("accounts", "XI.2.1.6", Severity.MEDIUM),
    ("monitoring", "XI.2.2", Severity.MEDIUM),
    ("incident_response", "XI.2.3", Severity.MEDIUM),
    ("other", "XI.2.4", Severity.INFO),
)
SOLUTIONS = (
    ("siem_soc", "XI.3.6.1", Severity.MEDIUM),
    ("jump_host", "XI.3.6.2", Severity.MEDIUM),
    ("dlp", "XI.3.6.3", Severity.LOW),
    ("db_firewall", "XI.3.6.4", Severity.MEDIUM),
    ("pam", "XI.3.6.5", Severity.MEDIUM),
    ("other", "XI.3.6.6", Severity.INFO),
)


def judge_declaration(decl: Declaration | None, field: str, optional: bool = False) -> Verdict:
    """`field`: where the declaration lives in the declaration file (`policies.network`), so the
    evidence sentence and the fix can name it."""
    if decl is None:
        return verdict(Status.MANUAL, "_not_declared", evidence={"field": field})
    evidence = {"basis": "declared", "field": field,
                **decl.model_dump(mode="json", exclude_none=True, exclude_defaults=True),
                "status": "yes" if decl.status else "no"}
    if not decl.status:
        if optional:
            return verdict(Status.NOT_APPLICABLE, "_declared_no", evidence=evidence)
        return failed("_declared_no", evidence=evidence)
    if not (decl.document or decl.details or decl.product):
        return failed("_no_document", evidence=evidence, severity=Severity.LOW)
    what = decl.document or decl.product or decl.details or ""
    if decl.date:
        return passed("_declared", evidence=evidence, document=what, date=str(decl.date))
    return passed("_declared_undated", evidence=evidence, document=what)



@check("declared.security_unit", items=["XI.1"], severity=Severity.HIGH, scope="org")
def security_unit(ctx: OrgContext) -> Verdict:
    return judge_declaration(ctx.inventory.organization.security_unit, "organization.security_unit")

def declaration_check(section: str, field_name: str, item: str, severity: Severity):
    """The check of one declared policy or solution: `declared.policy.network` and the like."""
    part = "policies" if section == "policy" else "solutions"

    @check(f"declared.{section}.{field_name}", items=[item], severity=severity, scope="org")
    def judge(ctx: OrgContext) -> Verdict:
        return judge_declaration(getattr(getattr(ctx.inventory, part), field_name), f"{part}.{field_name}",
                                 optional=field_name == "other")
    return judge


DECLARATION_CHECKS = tuple(declaration_check(section, field_name, item, severity)
                           for section, table in (("policy", POLICIES), ("solution", SOLUTIONS))
                           for field_name, item, severity in table)



@check("declared.population_db_level", items=["II", "IX"], severity=Severity.CRITICAL, scope="org")
def population_db_level(ctx: OrgContext) -> list[Verdict]:
    minimum = ctx.settings.population_db_min_level
    out = []
    for system in ctx.inventory.systems:
        if not system.connects_to_population_db:
            continue
        evidence = {"system": system.name, "security_level": system.security_level, "minimum": minimum}
        if system.security_level < minimum:
            out.append(failed("below_minimum", target=system.name, evidence=evidence,
                              system=system.name, level=system.security_level, minimum=minimum))
        else:
            out.append(passed("level_ok", target=system.name, evidence=evidence,
                              system=system.name, level=system.security_level))
    return out or [verdict(Status.NOT_APPLICABLE, "no_connecting_system")]
