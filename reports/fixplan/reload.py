"""Reloading a daemon the way its own tools do: its whole configuration tested first, then SIGHUP
to the process in its PID file (systemd's ExecReload for sshd, `nginx -s reload` for nginx)."""

from __future__ import annotations

import shlex

from .model import Handler, Step, Unsafe


def hup_reload(listen: str, daemon: str, test_argv: list[str], pidfile: str) -> tuple[Handler, ...]:
    """A handler: `test_argv` (the daemon's own test, failing the play on a bad configuration),
    then the signal. Names come from the catalog keys `<daemon>_check` and `<daemon>_reload`."""
    return (Handler(listen, (
        {"name": Step(f"{daemon}_check"), "ansible.builtin.command": {"argv": [Unsafe(a) for a in test_argv]},
         "changed_when": False},
        {"name": Step(f"{daemon}_reload", pidfile=pidfile), "ansible.builtin.shell":
            Unsafe(f'kill -HUP "$(cat {shlex.quote(pidfile)})"'), "changed_when": True},
    )),)
