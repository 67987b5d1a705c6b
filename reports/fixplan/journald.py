"""journald fixes: a journal kept on disk (logging.daemon) and kept the required days
(logging.retention), as lines of one drop-in file. Each fix sets only its own keys, line by line,
so two fixes on one host write the same file alike and a second run changes nothing.

journald reads its configuration only when it starts, so a handler restarts it, then asks it to
move what it holds in /run to /var/log/journal (`journalctl --flush`, what
systemd-journal-flush.service does at boot): a restarted journald does not do that by itself."""

from __future__ import annotations

import math
import posixpath
import re
from typing import Any

from scanner.model import Result

from .facts import HostFacts, NotAutomatic
from .model import Handler, Step

DROPIN_DIR = "/etc/systemd/journald.conf.d"
# journald applies drop-ins in the order of their file names, whatever their folder: a later
# name that sets the same key wins over this one (checked in `_applies`).
DROPIN = f"{DROPIN_DIR}/90-readyscan.conf"
RESTART = "restart journald"


def _applies(facts: HostFacts, keys: list[str]) -> None:
    """Refuse when a drop-in applied after ours sets one of `keys`: our line would change nothing."""
    sources = facts.part("journald").get("sources") or {}
    for key in keys:
        source = str(sources.get(key) or "")
        if posixpath.basename(source) > posixpath.basename(DROPIN) and not source.endswith("/journald.conf"):
            raise NotAutomatic("journald_overridden", setting=key, path=source)


def _settings(facts: HostFacts, settings: dict[str, tuple[str, Step]]) -> tuple[list[dict[str, Any]], tuple[Handler, ...]]:
    """Each key = value, with the step that names it, as its own line under [Journal]."""
    _applies(facts, list(settings))
    # every line may create the file: in check mode the earlier tasks have not made it
    new_file = {"path": DROPIN, "create": True, "owner": "root", "group": "root", "mode": "0644"}
    tasks: list[dict[str, Any]] = [
        {"name": Step("journald_dropin_dir", path=DROPIN_DIR), "ansible.builtin.file": {
            "path": DROPIN_DIR, "state": "directory", "owner": "root", "group": "root", "mode": "0755"}},
        {"name": Step("journald_section", path=DROPIN), "ansible.builtin.lineinfile": {
            **new_file, "line": "[Journal]", "insertbefore": "BOF"}}]
    tasks += [{"name": step, "ansible.builtin.lineinfile": {
                   **new_file, "regexp": rf"^\s*{re.escape(key)}\s*=", "line": f"{key}={value}",
                   "insertafter": r"^\[Journal\]"},
               "notify": RESTART} for key, (value, step) in settings.items()]
    return tasks, HANDLERS


ON_DISK = {"Storage": ("persistent", Step("journald_persistent", path=DROPIN))}
HANDLERS = (Handler(RESTART, (
    {"name": Step("journald_restart"), "ansible.builtin.service": {"name": "systemd-journald", "state": "restarted"}},
    {"name": Step("journald_flush"), "ansible.builtin.command": {"argv": ["journalctl", "--flush"]},
     "changed_when": True},
), disruption="restart"),)


MONTH_DAYS = 31  # MaxFileSec's default, 1month, is 30.44 days (systemd.time(7)), rounded up


def kept_for(facts: HostFacts, days: int, store: dict[str, Any]) -> tuple[list[dict[str, Any]], tuple[Handler, ...]]:
    """On disk, with no entry younger than `days` removed for its age. journald deletes a journal
    file whole once its first entry is older than MaxRetentionSec, and a file spans up to
    MaxFileSec (the result's journald `store` says how long): MaxRetentionSec is `days` plus that
    span, MaxFileSec set to its default, 1 month, where the span is unbounded or unknown. Its
    size limits still apply, which the step says."""
    seen = (store.get("files") or [{}])[0]
    settings = dict(ON_DISK)
    span = seen.get("file_span_days")
    if not isinstance(span, (int, float)) or span <= 0:
        span = MONTH_DAYS
        settings["MaxFileSec"] = ("1month", Step("journald_file_span", path=DROPIN))
    retention = days + math.ceil(span)
    max_use = str(seen.get("SystemMaxUse") or "")
    step = (Step("journald_retention", days=days, retention=retention, path=DROPIN, max_use=max_use) if max_use
            else Step("journald_retention_default", days=days, retention=retention, path=DROPIN))
    return _settings(facts, {**settings, "MaxRetentionSec": (f"{retention}d", step)})


def storage(r: Result, facts: HostFacts) -> tuple[list[dict[str, Any]], tuple[Handler, ...]]:
    """logging.daemon: the only logger is journald, keeping its journal in memory: keep it on disk
    (Storage=persistent; journald makes /var/log/journal itself when it flushes). The result says
    so only where journald runs. With no logger at all, installing one is a person's choice."""
    if r.message is None or r.message.key != "journald_volatile":
        raise NotAutomatic("no_logger")
    return _settings(facts, ON_DISK)
