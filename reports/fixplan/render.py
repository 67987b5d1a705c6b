"""The plan as Ansible files: a playbook (one play per host, one task block per fix, handlers for
reloads) whose header says it was generated, must be reviewed and runs in check mode unless
`-e apply=true`, and lists what is left to do by hand; and an inventory of the scan's hosts.
YAML is written by PyYAML's safe dumper only; every value from the scan file carries `!unsafe`,
and names are made inert (model.inert)."""

from __future__ import annotations

import re
import textwrap
from typing import Any

import yaml

from scanner import __version__

from .. import Texts
from .model import CONTROL_CHARS, Fix, HostPlan, Plan, Unsafe, inert

CHECK_MODE = "{{ not (apply | default(false) | bool) }}"
_SURVEY_ITEM = re.compile(r"[A-Z]+(\.\d+)+")


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # lists indented under their key, as yamllint (and so ansible-lint) wants them
        super().increase_indent(flow, False)


_Dumper.add_representer(Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value)))


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120, default_flow_style=False)


def comment(text: str, indent: str = "") -> list[str]:
    """Text as comment lines, wrapped, with nothing that could end the comment (a line break from
    the scan file becomes a space). `indent` starts the first line ("  -" for a list item); the
    next ones line up under its text."""
    flat = CONTROL_CHARS.sub(" ", text).strip()
    lines = textwrap.wrap(flat, 100) or [""]
    return [f"#{indent if i == 0 else ' ' * len(indent)} {line}".rstrip() for i, line in enumerate(lines)]


def _block(fix: Fix, host: str) -> dict[str, Any]:
    items = [i for i in fix.survey_items if _SURVEY_ITEM.fullmatch(i)]
    name = f"[{fix.check_id}] {fix.finding}" + (f" ({host}, {fix.target})" if fix.target else f" ({host})")
    block = {"name": inert(name), "tags": [fix.check_id, *items, fix.disruption, host],
             "block": [dict(t) for t in fix.tasks]}
    return block | ({"rescue": [dict(t) for t in fix.rescue]} if fix.rescue else {})


def _play(host: HostPlan, texts: Texts) -> dict[str, Any]:
    handlers: dict[str, list[dict[str, Any]]] = {}
    for fix in host.fixes:
        for h in fix.handlers:
            handlers.setdefault(h.listen, [{**t, "listen": h.listen} for t in h.tasks])
    play: dict[str, Any] = {
        "name": inert(texts.t("fixplan.play", host=host.name)),
        "hosts": host.name,  # a plain name: plan.HOST_NAME
        "become": True,
        "gather_facts": False,
        "check_mode": CHECK_MODE,
        "diff": True,
        "tasks": [_block(f, host.name) for f in host.fixes],
    }
    if handlers:
        play["handlers"] = [t for tasks in handlers.values() for t in tasks]
    return play


def header(plan: Plan, texts: Texts) -> list[str]:
    t = texts.t
    lines = ["---"]
    for key in ("generated", "review", "check_mode", "apply", "tags"):
        lines += comment(t(f"fixplan.header.{key}", version=__version__, scan=plan.scan_file,
                           started=plan.scan_started, organization=plan.organization))
    lines.append("#")
    counts = dict(fixes=sum(len(h.fixes) for h in plan.hosts), hosts=len(plan.hosts), manual=len(plan.manual),
                  covered=len(plan.covered), waived=plan.waived)
    lines += comment(t("fixplan.header.counts", **counts))
    if plan.covered:
        lines += ["#"] + comment(t("fixplan.header.covered"))
        for c in plan.covered:
            where = ", ".join(x for x in (c.host, c.target) if x)
            lines += comment(f"[{c.check_id}] {c.finding} ({where}): {t('fixplan.header.covered_by', check=c.by)}",
                             "  -")
    if plan.manual:
        lines += ["#"] + comment(t("fixplan.header.manual"))
        for m in plan.manual:
            where = ", ".join(x for x in (m.host, m.target) if x)
            lines += comment(f"[{m.check_id}] {m.finding} ({where})" if where else f"[{m.check_id}] {m.finding}", "  -")
            if m.fix:
                lines += comment(f"{t('fixplan.header.fix')}: {m.fix}", "   ")
            lines += comment(f"{t('fixplan.header.why')}: {m.why}", "   ")
    return lines


def playbook_text(plan: Plan) -> str:
    texts = Texts.for_lang(plan.lang)
    plays = [_play(h, texts) for h in plan.hosts]
    body = dump(plays) if plays else "[]\n"
    return "\n".join(header(plan, texts)) + "\n" + body


def inventory_text(plan: Plan) -> str:
    """The hosts the playbook names, at the addresses the scan reached them on. Who connects, and
    how they become root, is the operator's: `-u`, `--private-key`, `--ask-become-pass`."""
    hosts: dict[str, Any] = {}
    for h in plan.hosts:
        entry: dict[str, Any] = {"ansible_host": h.address}  # plain, as plan.ADDRESS checked it
        if h.port:
            entry["ansible_port"] = h.port
        hosts[h.name] = entry
    return "---\n" + dump({"all": {"hosts": hosts}})
