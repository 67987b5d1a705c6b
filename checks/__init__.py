"""The check catalog: one module per area, each registering its checks into a Registry."""

from __future__ import annotations

from checks import declared, system
from checks.registry import Registry

AREAS = (declared, system)


def default_registry() -> Registry:
    registry = Registry()
    for area in AREAS:
        area.register(registry)
    return registry
