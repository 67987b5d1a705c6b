"""`readyscan fix-plan`: a reviewable Ansible playbook that fixes the failing results that have a
safe automatic fix, and lists the others with their fix by hand. The scanner writes plans; it
never applies them."""

from __future__ import annotations

from pathlib import Path

from scanner.scanfile import write_atomic

from .plan import FIXERS, build_plan
from .render import inventory_text, playbook_text

PLAYBOOK = "fix-plan.yml"
INVENTORY = "inventory.yml"

__all__ = ["FIXERS", "INVENTORY", "PLAYBOOK", "build_plan", "inventory_text", "playbook_text", "write_plan"]


def write_plan(plan, folder: Path) -> tuple[Path, Path]:
    """The playbook and its inventory in `folder`, each written whole or not at all."""
    playbook, inventory = folder / PLAYBOOK, folder / INVENTORY
    write_atomic(playbook, playbook_text(plan).encode(), mode=0o644)
    write_atomic(inventory, inventory_text(plan).encode(), mode=0o644)
    return playbook, inventory
