"""One read-only PowerShell script per Windows host, and the reader of what it prints (pure).

The script runs each probe in a PowerShell runspace of its own, waits for it at most the probe's
time limit, and stops it after. Every line it prints starts with the scan's random tag, except
the body lines that follow a section marker; a body is one line of ASCII: JSON from
`ConvertTo-Json -Compress` with every character outside printable ASCII written as `\\uXXXX`. So
the output survives any console code page, and nothing a target prints (a service name, an event
log path) can start a line of its own or forge a marker.

    @@TAG@@ HOST {"language": ..., "admin": ..., "now": ..., "ps": ..., "policy": ...}
    @@TAG@@ BEGIN <probe>
    @@TAG@@ S <section> json|text|error
    <body>
    @@TAG@@ CUT                       (the probe's output cap was reached: the body above is cut)
    @@TAG@@ END <probe> done|timeout|failed <milliseconds>

The script arrives on standard input (SSH and WinRS both carry it), read by a fixed bootstrap
given as `-EncodedCommand`, so no command line ever holds more than the bootstrap: cmd.exe, the
default shell of Windows' OpenSSH and of WinRS, takes at most 8191 characters.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field

from scanner.facts.host import WindowsSession
from scanner.winprobes import SectionOutput, WinProbe

# Runs the script read from standard input in the session's own scope. Fixed text: nothing of the
# inventory or the target is in it.
BOOTSTRAP = "$rsIn = [Console]::In.ReadToEnd(); & ([scriptblock]::Create($rsIn))"
POWERSHELL = ("powershell.exe", "-NoLogo", "-NoProfile", "-NonInteractive")


def bootstrap_argv() -> list[str]:
    """The command a transport runs: Windows PowerShell with the bootstrap, encoded as it expects
    (base64 of UTF-16LE), so no character of it needs quoting by cmd.exe or a POSIX shell."""
    encoded = base64.b64encode(BOOTSTRAP.encode("utf-16-le")).decode("ascii")
    return [*POWERSHELL, "-EncodedCommand", encoded]


# What every probe's runspace starts with: the section runner. A section's objects become one
# JSON value (one object alone, several as a list, as `| ConvertTo-Json` writes them); a text
# section's output becomes one JSON string; an error becomes the JSON string of its record as
# PowerShell formats it.
_RUNSPACE_PRELUDE = r"""$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
function rsAscii([string]$s) {
  [regex]::Replace($s, '[^\x20-\x7e]', { param($m) '\u{0:x4}' -f [int][char]$m.Value })
}
function rsSection([string]$name, [string]$kind, [int]$depth, [scriptblock]$block) {
  try {
    $out = @(& $block)
    if ($kind -eq 'text') { $body = ConvertTo-Json -InputObject ([string]($out | Out-String)) -Compress }
    elseif ($out.Count -eq 0) { $body = '' }
    elseif ($out.Count -eq 1) { $body = ConvertTo-Json -InputObject $out[0] -Depth $depth -Compress }
    else { $body = ConvertTo-Json -InputObject $out -Depth $depth -Compress }
    "$rsTag S $name $kind"
  } catch {
    $body = ConvertTo-Json -InputObject ([string]($_ | Out-String)) -Compress
    "$rsTag S $name error"
  }
  rsAscii $body
}
"""

# The driver: host facts first, then each probe in its own runspace with its own time limit. In
# ConstrainedLanguage mode (AppLocker, WDAC) runspaces cannot be made: the script says so in the
# HOST line and runs nothing, and preflight tells the user.
_DRIVER = r"""$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$rsLang = [string]$ExecutionContext.SessionState.LanguageMode
$rsAdmin = $null
$rsPolicy = $null
try {
  $rsId = [Security.Principal.WindowsIdentity]::GetCurrent()
  $rsAdmin = ([Security.Principal.WindowsPrincipal]$rsId).IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
  $rsPolicy = [string](Get-ExecutionPolicy)
} catch { }
$rsNow = [int64](([DateTime]::UtcNow - [DateTime]'1970-01-01').TotalSeconds)
$rsHost = @{ language = $rsLang; admin = $rsAdmin; now = $rsNow; ps = [string]$PSVersionTable.PSVersion; policy = $rsPolicy }
"$rsTag HOST " + (ConvertTo-Json -InputObject $rsHost -Compress)
if ($rsLang -ne 'FullLanguage') { return }
foreach ($rsP in $rsProbes) {
  "$rsTag BEGIN $($rsP.name)"
  $rsWatch = [Diagnostics.Stopwatch]::StartNew()
  $rsState = 'done'
  $rsLines = @()
  $rsPs = [PowerShell]::Create()
  try {
    [void]$rsPs.AddScript($rsPrelude + $rsP.body)
    $rsH = $rsPs.BeginInvoke()
    if ($rsH.AsyncWaitHandle.WaitOne([int]$rsP.ms)) {
      $rsLines = @($rsPs.EndInvoke($rsH))
      $rsPs.Dispose()
    } else {
      $rsState = 'timeout'
      [void]$rsPs.BeginStop($null, $null)
    }
  } catch {
    $rsState = 'failed'
    $rsLines = @("$rsTag S probe error", (ConvertTo-Json -InputObject ([string]($_ | Out-String)) -Compress))
  }
  $rsLeft = [int]$rsP.cap
  foreach ($rsL in $rsLines) {
    $rsL = [string]$rsL
    if ($rsL.Length -gt $rsLeft) {
      $rsL.Substring(0, $rsLeft)
      "$rsTag CUT"
      break
    }
    $rsLeft -= $rsL.Length
    $rsL
  }
  "$rsTag END $($rsP.name) $rsState $($rsWatch.ElapsedMilliseconds)"
}
"""

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _probe_body(probe: WinProbe) -> str:
    lines = []
    for section in probe.sections:
        lines.append(f"rsSection '{section.name}' '{section.kind}' {section.depth} {{\n{section.command}\n}}")
    return "\n".join(lines) + "\n"


def build_script(probes: list[WinProbe], nonce: str) -> str:
    """The script for `probes`, its markers carrying `nonce` (hex). Pure; ASCII only, since the
    bootstrap reads it in the console's code page."""
    if not re.fullmatch(r"[0-9a-f]{8,64}", nonce):
        raise ValueError("the nonce must be hex")
    tag = f"@@{nonce}@@"
    entries = []
    for probe in probes:
        if not _NAME.match(probe.name) or not all(_NAME.match(s.name) for s in probe.sections):
            raise ValueError(f"probe {probe.name}: names must be lower-case words")
        body = _probe_body(probe)
        if "\n'@" in body or "'@\n" in body:
            raise ValueError(f"probe {probe.name}: a line starting with '@ would end its here-string")
        entries.append(f"@{{ name = '{probe.name}'; ms = {probe.timeout * 1000}; cap = {probe.output_cap}; "
                       f"body = @'\n{body}'@ }}")
    prelude = f"$rsTag = '{tag}'\n{_RUNSPACE_PRELUDE}"
    script = (f"$rsTag = '{tag}'\n$rsPrelude = @'\n{prelude}'@\n$rsProbes = @(\n" + ",\n".join(entries)
              + "\n)\n" + _DRIVER)
    if not script.isascii():
        raise ValueError("the script must be ASCII")
    return script


# -- the reader ----------------------------------------------------------------------------------


@dataclass
class ProbeRun:
    name: str
    state: str | None = None  # done, timeout, failed; None: its END never came (cut off)
    milliseconds: int | None = None
    sections: dict[str, SectionOutput] = field(default_factory=dict)
    cut: bool = False  # the probe's output cap cut it
    lines: list[str] = field(default_factory=list)  # its framed output, as evidence


@dataclass
class ScriptOutput:
    host: WindowsSession | None = None
    runs: dict[str, ProbeRun] = field(default_factory=dict)
    stray: int = 0  # lines outside any frame (a profile's banner, an error PowerShell printed)


def _host_info(text: str) -> WindowsSession:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return WindowsSession()
    if not isinstance(data, dict):
        return WindowsSession()

    def text_of(key: str) -> str | None:
        value = data.get(key)
        return value[:100] if isinstance(value, str) and value.isprintable() else None

    now = data.get("now")
    admin = data.get("admin")
    return WindowsSession(language=text_of("language"), admin=admin if isinstance(admin, bool) else None,
                          now=now if isinstance(now, int) and not isinstance(now, bool) and now > 0 else None,
                          ps_version=text_of("ps"), execution_policy=text_of("policy"))


def _section_output(kind: str, body: str) -> SectionOutput:
    if kind == "json":
        return SectionOutput(text=body)
    try:
        decoded = json.loads(body) if body else ""
    except (ValueError, RecursionError):
        decoded = None
    if not isinstance(decoded, str):
        # A text or error body is one JSON string; anything else was cut (or forged): kept as is,
        # so the parser sees an output it cannot read rather than nothing.
        decoded = body
    return SectionOutput(text=decoded) if kind == "text" else SectionOutput(error=decoded or "error")


def split_output(text: str, nonce: str) -> ScriptOutput:
    """Cut the script's output back into the host line and one run per probe (pure; never raises)."""
    tag = f"@@{nonce}@@ "
    out = ScriptOutput()
    run: ProbeRun | None = None
    pending: tuple[str, str] | None = None  # a section marker waiting for its body line
    for raw in text.split("\n"):
        line = raw.removesuffix("\r")
        if pending is not None:
            name, kind = pending
            pending = None
            if not line.startswith(tag):
                if run is not None:
                    run.sections[name] = _section_output(kind, line)
                    run.lines.append(line)
                continue
            if run is not None:  # the output ended the body early: an empty body
                run.sections[name] = _section_output(kind, "")
        if not line.startswith(tag):
            if line.strip():
                out.stray += 1
            continue
        kind, _, rest = line[len(tag):].partition(" ")
        if kind == "HOST" and out.host is None:
            out.host = _host_info(rest)
        elif kind == "BEGIN" and _NAME.match(rest):
            run = out.runs[rest] = ProbeRun(name=rest, lines=[line])
        elif run is None:
            out.stray += 1
        elif kind == "S":
            name, _, section_kind = rest.partition(" ")
            if _NAME.match(name) and section_kind in ("json", "text", "error"):
                pending = (name, section_kind)
                run.lines.append(line)
        elif kind == "CUT":
            run.cut = True
            run.lines.append(line)
            last = next(reversed(run.sections), None)
            if last is not None:
                run.sections[last] = SectionOutput(text=run.sections[last].text, error=run.sections[last].error,
                                                   truncated=True)
        elif kind == "END":
            words = rest.split(" ")
            if len(words) == 3 and words[0] == run.name and words[1] in ("done", "timeout", "failed"):
                run.state = words[1]
                run.milliseconds = int(words[2]) if words[2].isdigit() else None
                run.lines.append(line)
                run = None
    if pending is not None and run is not None:
        run.sections[pending[0]] = _section_output(pending[1], "")
    return out
