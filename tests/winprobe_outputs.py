"""Building a probe's framed output (ProbeOutput) for the Windows parser tests, from recorded section
texts or error records, and the inputs every parser must survive."""

from __future__ import annotations

import re
from collections.abc import Iterator

from scanner.winprobes import ProbeOutput, SectionOutput
from tests.fixtures import winprobes

FIFTY_MB = 50 * 1024 * 1024

# Constructed error records in the shape Windows PowerShell 5.1 prints them (`$_ | Out-String`); the
# FullyQualifiedErrorId values are PowerShell's own names for these failures.
ACCESS_DENIED = ("{cmd} : Access denied\r\nAt line:1 char:1\r\n+ {cmd}\r\n+ ~~~~~~~~~~~~\r\n"
                 "    + CategoryInfo          : PermissionDenied: (:) [{cmd}], CimException\r\n"
                 "    + FullyQualifiedErrorId : HRESULT 0x80041003,{cmd}\r\n")
NOT_RECOGNIZED = ("{cmd} : The term '{cmd}' is not recognized as the name of a cmdlet, function, script file, "
                  "or operable program. Check the spelling of the name, or if a path was included, verify that "
                  "the path is correct and try again.\r\nAt line:1 char:1\r\n+ {cmd}\r\n+ ~~~~~~~~~~~~~\r\n"
                  "    + CategoryInfo          : ObjectNotFound: ({cmd}:String) [], CommandNotFoundException\r\n"
                  "    + FullyQualifiedErrorId : CommandNotFoundException\r\n")


def recorded(probe: str, section: str, case: str) -> str:
    """A recorded section output: tests/fixtures/winprobes/<probe>_<section>/<case>.txt."""
    return winprobes.load(f"{probe}_{section}", case)


def cases(probe: str, section: str) -> list[str]:
    return winprobes.cases(f"{probe}_{section}")


def output(**sections: str | tuple[str, str]) -> ProbeOutput:
    """A probe output: each section a text, or ("error", record) for a section that threw."""
    framed = {}
    for name, value in sections.items():
        if isinstance(value, tuple):
            framed[name] = SectionOutput(error=value[1])
        else:
            framed[name] = SectionOutput(text=value)
    return ProbeOutput(sections=framed)


def denied(cmd: str) -> tuple[str, str]:
    return ("error", ACCESS_DENIED.format(cmd=cmd))


def missing(cmd: str) -> tuple[str, str]:
    return ("error", NOT_RECOGNIZED.format(cmd=cmd))


def cuts(sections: dict[str, str]) -> Iterator[tuple[str, int, ProbeOutput]]:
    """Every prefix of every section, the other sections whole: what a cut-off output gives."""
    for name, text in sections.items():
        for cut in range(len(text)):
            yield name, cut, output(**(sections | {name: text[:cut]}))


def hostile_texts() -> list[str]:
    """Outputs no parser may read a value from (each section gets each of them)."""
    return [
        "[" * 100000 + "]" * 100000, "<html><body>Enabled: true</body></html>", "42", "null", '"true"', "[1, 2]",
        "NaN", '{"$ne": 1}', "Access is denied.\r\n", "\x00\x1b[2J\x07" * 1000, "{" + '"a": 1,' * 700000 + '"b": 2}',
    ]


READ_ONLY_VERBS = {"Get", "Select", "Where", "ForEach", "Sort"}
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_COMMAND = re.compile(r"(?<![\w\\-])([A-Za-z]+)-([A-Z][A-Za-z]+)(?![\w-])")


def commands_used(command: str) -> set[str]:
    """The Verb-Noun names a section command calls (quoted paths and filters left out)."""
    return {f"{verb}-{noun}" for verb, noun in _COMMAND.findall(_QUOTED.sub("''", command))}


def assert_read_only(probes) -> None:
    """Every section calls only read-only cmdlets and no script invocation."""
    for probe in probes:
        for section in probe.sections:
            used = commands_used(section.command)
            assert used and {c.split("-")[0] for c in used} <= READ_ONLY_VERBS, (probe.name, section.name, used)
            lowered = section.command.lower()
            assert not any(bad in lowered for bad in ("invoke", "iex", "&", "out-file", "secedit", "w32tm",
                                                      "start-", "set-", "new-", "remove-")), section.command
