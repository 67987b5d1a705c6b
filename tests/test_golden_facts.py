"""Every recorded host-probe output parses to the fact its golden file holds
(tests/fixtures/hostprobes/<probe>/<case>.txt beside <case>.json; see golden.py there for how the
golden files are written and reviewed). A recording without a golden file, or a golden file
without its recording, fails: nothing lies in the folder unchecked. This test never writes."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.hostprobes.golden import (
    difference,
    fact_json,
    golden_path,
    goldens,
    parse,
    recorded,
    recording_path,
)

CASES = sorted(set(recorded()) | set(goldens()))
WRITE = "python -m tests.fixtures.hostprobes.golden --write"


def test_the_fixture_folder_has_recordings():
    # Guards the glob itself: an empty parametrization would pass while checking nothing.
    assert len(recorded()) >= 70


@pytest.mark.parametrize("case_id", CASES)
def test_recorded_output_parses_to_its_golden_fact(case_id):
    if not recording_path(case_id).is_file():
        pytest.fail(f"{case_id}.json has no recording {case_id}.txt beside it: remove the golden file "
                    f"or restore the recording", pytrace=False)
    try:
        model, unmatched = parse(case_id), ""
    except LookupError as e:  # the folder names no probe
        model, unmatched = None, str(e)
    if model is None:
        pytest.fail(unmatched, pytrace=False)
    if not golden_path(case_id).is_file():
        pytest.fail(f"{case_id}.txt has no golden fact: run `{WRITE} {case_id}`, review the file, commit it",
                    pytrace=False)
    actual = fact_json(model)
    expected = json.loads(golden_path(case_id).read_text(encoding="utf-8"))
    if expected != actual:
        pytest.fail(f"{case_id}: the parser's fact differs from the golden file. If the change is intended, "
                    f"run `{WRITE} {case_id}` and review the diff.\n{difference(case_id, expected, actual)}",
                    pytrace=False)
    # The golden file is also a valid fact of its model: a scan file holding it would read back equal.
    assert type(model).model_validate(expected) == model
