"""The house reads bottom-up: every import of the product's packages (scanner, checks, reports)
goes to the same floor or a lower one, as the README's "How it works" lists them. Imports inside
functions count too: a lazy import is still an arrow."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.paths import ROOT

# Bottom to top. A module belongs to the floor of its longest listed prefix.
FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("models and transport", ("scanner", "scanner.model", "scanner.i18n", "scanner.yamlsafe", "scanner.validation",
                              "scanner.inventory", "scanner.waivers", "scanner.survey", "scanner.thresholds",
                              "scanner.memory", "scanner.transport")),
    ("facts and probes", ("scanner.facts", "scanner.hostprobes", "scanner.winprobes", "scanner.summary",
                          "scanner.reachability", "scanner.scanfile", "scanner.diff", "scanner.history")),
    ("collectors", ("scanner.collectors", "scanner.connect")),
    ("checks", ("checks",)),
    ("reports", ("reports",)),
    ("orchestration", ("scanner.app", "scanner.__main__")),
)
# Within a floor, generic layers import no domain model: these arrows are refused as well.
REFUSED = (
    ("scanner.facts", "scanner.hostprobes"),  # facts are what probes produce, not the other way
    ("scanner.facts", "scanner.winprobes"),
    ("scanner.hostprobes.frames", "scanner.facts"),  # the frame reader serves every probe alike
    ("scanner.transport", "scanner.inventory"),  # a transport moves bytes; it knows no inventory
    ("scanner.collectors.base", "scanner.facts"),
    ("checks.registry", "checks."),  # the registry knows no area
    ("checks", "scanner.collectors"),  # checks judge facts, whoever gathered them
    ("checks", "scanner.hostprobes"),
    ("checks", "scanner.winprobes"),
    ("checks", "scanner.transport"),
    # a report renders the scan file alone: old scans render as they were recorded
    ("reports", "checks"),
    ("reports", "scanner.collectors"),
    ("reports", "scanner.facts"),
    ("reports", "scanner.hostprobes"),
    ("reports", "scanner.winprobes"),
)
PACKAGES = ("scanner", "checks", "reports")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def imports(path: Path, known: set[str]) -> set[str]:
    """The product modules a file imports (`from a import b` counts `a.b` when it is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {n for n in names if n in known}
    return found


def floor_of(module: str) -> int:
    best, best_len = None, -1
    for index, (_, prefixes) in enumerate(FLOORS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    assert best is not None, f"{module} is on no floor: add it to FLOORS (and to the README)"
    return best


def arrows() -> list[tuple[str, str]]:
    mods = modules()
    return sorted((source, target) for source, path in mods.items()
                  for target in imports(path, set(mods)) if target != source)


def test_every_module_is_on_a_floor():
    for module in modules():
        floor_of(module)


def test_no_import_runs_up_a_floor():
    upward = [f"{s} ({FLOORS[floor_of(s)][0]}) imports {t} ({FLOORS[floor_of(t)][0]})"
              for s, t in arrows() if floor_of(t) > floor_of(s)]
    assert upward == []


def test_generic_layers_import_no_domain_model():
    def under(name: str, prefix: str) -> bool:
        return name.startswith(prefix) if prefix.endswith(".") else name == prefix or name.startswith(prefix + ".")

    refused = [f"{s} imports {t}" for s, t in arrows() for low, high in REFUSED
               if under(s, low) and under(t, high)]
    assert refused == []


def test_the_analysis_sees_the_arrows_it_must():
    """The table is not vacuous: known arrows are found, and a planted upward one would be."""
    found = set(arrows())
    assert ("scanner.app.engine", "checks.registry") in found
    assert ("reports.html", "scanner.scanfile") in found
    assert floor_of("scanner.collectors.tls") < floor_of("checks.tls") < floor_of("reports.html")
    assert floor_of("scanner.facts.host") > floor_of("scanner.model")
    assert floor_of("scanner.app.engine") == len(FLOORS) - 1
    assert not any(t.startswith("scanner.app") for s, t in found if not s.startswith(("scanner.app", "scanner.__main__")))
