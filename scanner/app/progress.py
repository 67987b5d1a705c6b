"""Scan progress on a terminal (rich, on stderr); silent in CI and when piped."""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from scanner.model import Observation, Outcome


class ConsoleProgress:
    def __init__(self, console: Console, enabled: bool):
        self.enabled = enabled
        self._lock = threading.Lock()
        self._tasks: dict[str, int] = {}
        self._bar = Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[problems]}"), TimeElapsedColumn(),
                             console=console, transient=False) if enabled else None

    def __enter__(self) -> ConsoleProgress:
        if self._bar:
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar:
            self._bar.stop()

    def collector_started(self, name: str, hosts: int) -> None:
        if self._bar:
            with self._lock:
                self._tasks[name] = self._bar.add_task(name, total=hosts, problems="")

    def observed(self, collector: str, host: str, obs: Observation) -> None:
        if not self._bar or collector not in self._tasks:
            return
        with self._lock:
            task = self._tasks[collector]
            problems = self._bar.tasks[task].fields.get("problems", "")
            if obs.outcome != Outcome.OK:
                count = int(problems.split()[0]) + 1 if problems else 1
                problems = f"{count} ✗"
            self._bar.update(task, advance=1, problems=problems)

    def collector_finished(self, name: str) -> None:
        pass
