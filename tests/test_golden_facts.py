"""Every recorded raw output with a pure parser parses to what its golden file holds: host-probe
outputs (tests/fixtures/hostprobes/<probe>/<case>.txt beside <case>.json) and nmap XML
(tests/fixtures/nmap/<name>.xml beside <name>.parsed.json); tests/fixtures/golden.py says how the
golden files are written and reviewed. A recording without a golden file, a golden file without
its recording, or a host-probe folder that names no probe fails: nothing lies there unchecked.
This test never writes."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.golden import (
    FAMILIES,
    difference,
    dump,
    golden_path,
    goldens,
    load_back,
    parse,
    recorded,
    recording_path,
)

CASES = sorted(set(recorded()) | set(goldens()))
WRITE = "python -m tests.fixtures.golden --write"


@pytest.mark.parametrize("family", [f.folder for f in FAMILIES])
def test_every_family_has_recordings(family):
    # Guards the globs themselves: an empty parametrization would pass while checking nothing.
    assert [c for c in recorded() if c.startswith(f"{family}/")]


@pytest.mark.parametrize("case_id", CASES)
def test_recorded_output_parses_to_its_golden_file(case_id):
    golden, recording = golden_path(case_id), recording_path(case_id)
    if not recording.is_file():
        pytest.fail(f"{golden.name} has no recording {recording.name} beside it: remove the golden file "
                    f"or restore the recording", pytrace=False)
    try:
        parsed, unmatched = parse(case_id), ""
    except LookupError as e:  # a host-probe folder that names no probe
        parsed, unmatched = None, str(e)
    if parsed is None:
        pytest.fail(unmatched, pytrace=False)
    if not golden.is_file():
        pytest.fail(f"{recording.name} has no golden file: run `{WRITE} {case_id}`, review {golden.name}, "
                    f"commit it", pytrace=False)
    actual = dump(parsed)
    expected = json.loads(golden.read_text(encoding="utf-8"))
    if expected != actual:
        pytest.fail(f"{case_id}: the parser's output differs from the golden file. If the change is intended, "
                    f"run `{WRITE} {case_id}` and review the diff.\n{difference(case_id, expected, actual)}",
                    pytrace=False)
    # The golden file is also a valid value of the parsed type: a scan file holding it reads back equal.
    assert load_back(parsed, expected) == parsed
