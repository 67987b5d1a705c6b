"""Shared test fixtures. The lab fixture lives in tests/labfixture.py."""

from __future__ import annotations

import pytest

from checks import default_registry
from scanner.i18n import default_catalog


@pytest.fixture(scope="session")
def registry():
    return default_registry()


@pytest.fixture(scope="session")
def catalog():
    return default_catalog()
