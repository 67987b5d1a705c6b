"""Fixes in the OS's own files: password ageing (login.defs and each account), log retention (the
logrotate stanza that keeps too little, else journald), forwarding to the central log server."""

from __future__ import annotations

import math
import re
from typing import Any

from scanner.model import Result

from . import journald
from .facts import SAFE_PATH, HostFacts, NotAutomatic
from .model import Handler, Step, Unsafe

_ACCOUNT = re.compile(r"[a-z_][a-z0-9_.-]{0,31}\$?")
PERIOD_DAYS = {"daily": 1, "weekly": 7, "monthly": 30, "yearly": 365}


def password_ageing(r: Result, facts: HostFacts) -> list[dict[str, Any]]:
    limit = r.evidence.get("limit_days")
    if not isinstance(limit, int) or limit <= 0:
        raise NotAutomatic("values_unknown")
    tasks: list[dict[str, Any]] = [
        {"name": Step("login_defs", days=limit), "ansible.builtin.lineinfile": {
            "path": "/etc/login.defs", "regexp": r"^\s*PASS_MAX_DAYS\s", "line": f"PASS_MAX_DAYS\t{limit}",
            # where the file is a bind mount (a container's, say) it cannot be replaced whole:
            # Ansible then writes it in place instead of failing
            "unsafe_writes": True}}]
    names = [str(n) for n in r.evidence.get("over_limit") or []]
    if not all(_ACCOUNT.fullmatch(n) for n in names):
        raise NotAutomatic("values_unknown")
    tasks += [{"name": Step("account_max_days", account=name, days=limit), "ansible.builtin.user": {"name": Unsafe(name), "password_expire_max": limit}} for name in names]
    return tasks


def retention(r: Result, facts: HostFacts) -> tuple[list[dict[str, Any]], tuple[Handler, ...]]:
    """The result passes once one store keeps the required days: the logrotate stanzas of the files
    kept too briefly where they can be fixed, else journald (where it runs, the result lists it)."""
    required = r.evidence.get("required_days")
    if not isinstance(required, int) or required <= 0:
        raise NotAutomatic("values_unknown")
    stores = [s for s in r.evidence.get("stores") or [] if isinstance(s, dict)]
    try:
        return logrotate_retention(stores, required, facts), ()
    except NotAutomatic:
        journal = next((s for s in stores if s.get("store") == "journald"), None)
        if journal is None:
            raise
    return journald.kept_for(facts, required, journal)


def logrotate_retention(stores: list[dict[str, Any]], required: int, facts: HostFacts) -> list[dict[str, Any]]:
    """Each logrotate stanza that keeps a logged file fewer days than required keeps `rotate` ×
    its period ≥ the requirement. The stanza is found by its first path, the line changed is its
    own `rotate`."""
    short = {str(f.get("file")) for s in stores if s.get("store") == "files"
             for f in s.get("files") or [] if isinstance(f.get("days"), (int, float)) and f["days"] < required}
    if not short:
        raise NotAutomatic("not_logrotate")
    stanzas = facts.part("logrotate").get("stanzas") or []
    tasks = []
    for stanza in stanzas:
        paths, policy = stanza.get("paths") or [], stanza.get("policy") or {}
        if not short & set(paths):
            continue
        period = PERIOD_DAYS.get(str(policy.get("frequency")))
        where = str(policy.get("source") or "")
        if period is None or policy.get("maxage") or policy.get("size") or ":" not in where or not paths:
            raise NotAutomatic("rotation_by_size")
        path = where.rsplit(":", 1)[0]
        if not SAFE_PATH.fullmatch(path):
            raise NotAutomatic("values_unknown")
        count = math.ceil(required / period)
        tasks.append({"name": Step("logrotate", days=required, logs=", ".join(paths), count=count,
                                           frequency=str(policy.get("frequency")), path=path),
                      "ansible.builtin.replace": {
                          "path": Unsafe(path), "after": Unsafe(re.escape(paths[0])), "before": r"\}",
                          "regexp": r"(?m)^(\s*)rotate\s+\d+\s*$", "replace": f"\\g<1>rotate {count}"}})
        short -= set(paths)
    if short:
        raise NotAutomatic("rotation_by_size")
    return tasks


RESTART_RSYSLOG = "restart rsyslog"


def remote_forwarding(r: Result, facts: HostFacts) -> tuple[list[dict[str, Any]], tuple[Handler, ...]]:
    """All of syslog to the log server the inventory declares, by rsyslog's omfwd action (with a
    queue, so an outage of the server neither blocks local logging nor loses messages), in a
    marked block of the main configuration file, checked with `rsyslogd -N1` before it is
    written; rsyslog reads its configuration only when it starts, so it is restarted."""
    server = facts.log_server
    if server is None:
        raise NotAutomatic("no_log_server")
    if r.message is None or r.message.key != "none":
        raise NotAutomatic("forwarding_state")
    rsyslog = facts.part("rsyslog")
    files = [str(f) for f in rsyslog.get("files") or []]
    procs = facts.part("processes").get("items") or []
    if not rsyslog.get("present") or not files or not any(p.get("name") == "rsyslogd" for p in procs):
        raise NotAutomatic("rsyslog_not_running")
    binary = str(rsyslog.get("binary") or "rsyslogd")  # found on root's PATH when the facts name none
    # both go into the validate command, which Ansible splits on spaces
    if not (SAFE_PATH.fullmatch(files[0]) and (binary == "rsyslogd" or SAFE_PATH.fullmatch(binary))):
        raise NotAutomatic("values_unknown")
    action = (f'*.* action(type="omfwd" target="{server["address"]}" port="{server["port"]}" '
              f'protocol="{server["protocol"]}"\n'
              '           queue.type="LinkedList" queue.size="10000" action.resumeRetryCount="-1")')
    return ([{"name": Step("rsyslog_forward", server=f'{server["address"]}:{server["port"]}/{server["protocol"]}',
                           path=files[0]),
              "ansible.builtin.blockinfile": {
                  "path": Unsafe(files[0]), "block": Unsafe(action),
                  "marker": "# {mark} readyscan: syslog to the central log server (XI.3.3.2)",
                  "validate": Unsafe(f"{binary} -N1 -f %s"),
                  # the main file may be a bind mount (a container's): written in place then
                  "unsafe_writes": True},
              "notify": RESTART_RSYSLOG}],
            (Handler(RESTART_RSYSLOG, ({"name": Step("rsyslog_restart"),
                                        "ansible.builtin.service": {"name": "rsyslog", "state": "restarted"}},)),))
