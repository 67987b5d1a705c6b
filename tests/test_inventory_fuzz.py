"""Inventory fuzzing: random and mutated inventories are valid, or refused with file:line
messages; never a traceback, and an alias bomb is refused."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.inventory import Inventory, InventoryError, parse_inventory
from tests.paths import ROOT

EXAMPLE = (ROOT / "inventories" / "example.yaml").read_text(encoding="utf-8")
EXAMPLE_LINES = EXAMPLE.splitlines(keepends=True)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome_is_clean(text: str) -> None:
    try:
        result = parse_inventory(text, "fuzz.yaml")
    except InventoryError as exc:
        assert exc.issues
        total_lines = text.count("\n") + 2
        for issue in exc.issues:
            assert issue.file == "fuzz.yaml" and 0 <= issue.line <= total_lines and issue.message
        return
    assert isinstance(result, Inventory)


scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
                    st.floats(allow_nan=True), st.text(max_size=40))
trees = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                     max_leaves=20)


@FUZZ
@given(trees)
def test_random_documents(tree):
    outcome_is_clean(yaml.safe_dump(tree, allow_unicode=True))


@FUZZ
@given(st.dictionaries(st.sampled_from(["organization", "hosts", "scan", "policies", "systems", "defaults",
                                        "solutions", "zones", "inspection_date", "schema"]), trees, max_size=6))
def test_random_sections(doc):
    outcome_is_clean(yaml.safe_dump(doc, allow_unicode=True))


@FUZZ
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=len(EXAMPLE_LINES) - 1),
                          st.sampled_from(["delete", "tab", "dup", "garbage", "truncate", "unicode"]),
                          st.text(max_size=20)), min_size=1, max_size=4))
def test_mutated_example(mutations):
    lines = list(EXAMPLE_LINES)
    for index, kind, text in mutations:
        index = min(index, len(lines) - 1)
        if not lines:
            break
        if kind == "delete":
            del lines[index]
        elif kind == "tab":
            lines[index] = "\t" + lines[index]
        elif kind == "dup":
            lines.insert(index, lines[index])
        elif kind == "garbage":
            lines[index] = lines[index].rstrip("\n") + text + "\n"
        elif kind == "truncate":
            lines = lines[:index]
        elif kind == "unicode":
            lines[index] = lines[index].replace("a", "\u0430").replace(":", "\uff1a", 1)
    outcome_is_clean("".join(lines))


def test_huge_numbers_and_deep_nesting_are_refused_cleanly():
    outcome_is_clean("organization: {name: A}\nhosts: [{name: h, address: 127.0.0.1, zone: z, "
                     "services: [{port: 99999999999999999999999, kind: ssh}]}]\n")
    outcome_is_clean("a: " + "[" * 5000 + "]" * 5000 + "\n")
    outcome_is_clean("a: &x [*x]\n")
