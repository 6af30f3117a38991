"""Quality-test fixtures: GX context creation is slow-ish, so one validator per module."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def validator():
    from tasks.quality.gx_runner import GxValidator

    return GxValidator()


@pytest.fixture(scope="session")
def suites():
    from tasks.quality.suites import load_suites

    return load_suites()
