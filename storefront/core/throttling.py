"""Throttles whose rates come from settings at request time (Redis-backed in
full mode through the default cache; a cache outage fails open)."""

from __future__ import annotations

from rest_framework import throttling
from rest_framework.settings import api_settings


class _SettingsRateMixin:
    scope: str

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonRateThrottle(_SettingsRateMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_SettingsRateMixin, throttling.UserRateThrottle):
    pass


class AuthRateThrottle(_SettingsRateMixin, throttling.SimpleRateThrottle):
    """Strict per-client limit on login and registration (brute force, spam)."""

    scope = "auth"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
