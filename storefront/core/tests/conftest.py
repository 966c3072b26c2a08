"""Fixtures shared by the core tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def rates(settings):
    """Set throttle rates for one test (DRF reloads its settings on change);
    a rate of None turns that throttle off."""

    def set_rates(**rates: str | None) -> None:
        base = {"anon": "1000/min", "user": "1000/min", "auth": "1000/min"}
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**base, **rates},
        }

    return set_rates
