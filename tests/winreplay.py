"""A recorded Windows host for tests: answers readyscan's PowerShell script from recorded outputs.

PowerShell cannot run on these machines, so the transport tests (a real sshd, ForceCommand'ed to
this program) and the end-to-end scans of a Windows host need something that reads the script the
collector sent and answers as the script's driver would print (scanner/winprobes/script.py): the
HOST line, then each probe's sections framed with the script's own tag, each body one line of
ASCII JSON. The answers are recorded outputs published for real Windows servers
(tests/fixtures/winprobes), put together per host in tests/fixtures/winhosts/*.yaml; a section
with no recording answers an empty body, as a command that printed nothing does.

What this proves: the bytes readyscan sends reach the host whole (the bootstrap command line and
the script on stdin), the reader cuts the answer back into sections, and the parsers, checks and
reports work on them. What it cannot prove: that PowerShell runs the script as written.

    python -m tests.winreplay HOSTFILE   (stdin: the script; SSH_ORIGINAL_COMMAND: the command)
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from scanner.transport.base import windows_command
from scanner.winprobes.script import bootstrap_argv
from tests.fixtures.winprobes import load

HOSTS = Path(__file__).resolve().parent / "fixtures" / "winhosts"
_TAG = re.compile(r"^\$rsTag = '@@([0-9a-f]+)@@'$", re.M)
_PROBE = re.compile(r"^@\{ name = '([a-z0-9_]+)'; ms = (\d+); cap = (\d+); body = @'\n(.*?)^'@ \}", re.M | re.S)
_SECTION = re.compile(r"^rsSection '([a-z0-9_]+)' '(json|text)' \d+ \{$", re.M)


@dataclass(frozen=True)
class AskedProbe:
    name: str
    sections: tuple[tuple[str, str], ...]  # (name, kind)


def read_script(script: str) -> tuple[str, list[AskedProbe]]:
    """The script's nonce and the probes it runs, in order (what the driver would loop over)."""
    tag = _TAG.search(script)
    if tag is None:
        raise ValueError("no $rsTag line: not a readyscan script")
    probes = [AskedProbe(m.group(1), tuple(_SECTION.findall(m.group(4)))) for m in _PROBE.finditer(script)]
    return tag.group(1), probes


def _ascii_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def body_of(kind: str, text: str) -> str:
    """One section's body line as the driver prints it: a json section's value compressed, a text
    section's (or an error's) text as one JSON string."""
    if kind != "json":
        return _ascii_json(text)
    if not text.strip():
        return ""
    try:
        return _ascii_json(json.loads(text.lstrip("\ufeff")))
    except ValueError:
        # A recording that is not JSON (an error text printed where the JSON would be) goes as an
        # error record, which is how the driver reports a command that threw.
        raise ValueError("a json section's recording must be JSON; record errors with `error:`") from None


def answer(script: str, host: dict, now: int) -> str:
    """The whole output the script would print on the recorded host."""
    nonce, probes = read_script(script)
    tag = f"@@{nonce}@@"
    session = {"language": "FullLanguage", "admin": True, "now": now, "ps": "5.1", "policy": "RemoteSigned"}
    session |= host.get("session", {})
    lines = [f"{tag} HOST {_ascii_json(session)}"]
    if session["language"] != "FullLanguage":
        return "\n".join(lines) + "\n"
    recorded = host.get("probes", {})
    for probe in probes:
        lines.append(f"{tag} BEGIN {probe.name}")
        answers = recorded.get(probe.name, {})
        for name, kind in probe.sections:
            given = answers.get(name, {})
            if "error" in given:
                lines += [f"{tag} S {name} error", _ascii_json(given["error"])]
                continue
            text = load(*given["fixture"].split("/", 1)) if "fixture" in given else given.get("text", "")
            lines += [f"{tag} S {name} {kind}", body_of(kind, text)]
        lines.append(f"{tag} END {probe.name} {answers.get('_state', 'done')} 12")
    return "\n".join(lines) + "\n"


def load_host(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def main(argv: list[str]) -> int:
    expected = windows_command(bootstrap_argv())
    got = os.environ.get("SSH_ORIGINAL_COMMAND")
    if got is not None and got != expected:
        print(f"winreplay: unexpected command: {got[:200]!r}", file=sys.stderr)
        return 1
    script = sys.stdin.buffer.read().decode("ascii")
    import time

    sys.stdout.write(answer(script, load_host(Path(argv[1])), int(time.time())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
