"""Settings: safe defaults, and a clear error for every bad value.

The settings module is imported in a fresh interpreter for each case: reloading
it inside the test process would disturb the configured test settings.
"""

import json
import os
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from storefront import settings as settings_module
from storefront.settings import BASE_DIR

_PROBE = (
    "import json, django\n"
    "from django.conf import settings\n"
    "django.setup()\n"
    "print(json.dumps({'DEBUG': settings.DEBUG, 'EMBEDDED': settings.EMBEDDED,"
    " 'hashers': settings.PASSWORD_HASHERS, 'key': bool(settings.SECRET_KEY),"
    " 'cookie_secure': settings.SESSION_COOKIE_SECURE,"
    " 'hsts': settings.SECURE_HSTS_SECONDS, 'page_size': settings.REST_FRAMEWORK['PAGE_SIZE'],"
    " 'hosts': settings.ALLOWED_HOSTS}))\n"
)
_FULL = {
    "DATABASE_URL": "postgres://root@127.0.0.1:5432/sf_settings_probe",
    "REDIS_URL": "redis://127.0.0.1:6379/13",
}


def _load(tmp_path, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "BROKER_URL"}
    }
    clean.update(
        DJANGO_SETTINGS_MODULE="storefront.settings", STOREFRONT_VAR_DIR=str(tmp_path), **env
    )
    return subprocess.run(
        [sys.executable, "-c", _PROBE],
        env=clean,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _values(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_full_mode_without_secret_key_refuses_to_start(tmp_path):
    result = _load(tmp_path, **_FULL)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set" in result.stderr


def test_full_mode_with_debug_generates_a_key_under_var(tmp_path):
    values = _values(_load(tmp_path, DEBUG="true", **_FULL))

    assert values["DEBUG"] is True
    assert values["key"] is True
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # private to its owner


def test_embedded_mode_keeps_its_generated_key_across_starts(tmp_path):
    _values(_load(tmp_path))
    first = (tmp_path / "secret_key").read_text()

    values = _values(_load(tmp_path))

    assert values["EMBEDDED"] is True
    assert (tmp_path / "secret_key").read_text() == first


def test_defaults_are_the_safe_ones(tmp_path):
    values = _values(_load(tmp_path, SECRET_KEY="k" * 50, **_FULL))

    assert values["DEBUG"] is False
    assert values["EMBEDDED"] is False
    assert values["hashers"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert values["hosts"] == ["localhost", "127.0.0.1", "[::1]"]


def test_https_only_turns_on_secure_cookies_and_hsts(tmp_path):
    values = _values(_load(tmp_path, SECRET_KEY="k", HTTPS_ONLY="yes", **_FULL))

    assert values["cookie_secure"] is True
    assert values["hsts"] == 31536000


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG must be a boolean"),
        ({"API_PAGE_SIZE": "twenty"}, "API_PAGE_SIZE must be an integer"),
        ({"HTTPS_ONLY": "2"}, "HTTPS_ONLY must be a boolean"),
    ],
)
def test_a_malformed_value_is_an_improperly_configured_error(tmp_path, env, message):
    result = _load(tmp_path, SECRET_KEY="k", **_FULL, **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_the_loaded_module_puts_argon2_first():
    # the test suite swaps in MD5 for speed; the module's own value is Argon2
    assert settings_module.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    assert settings.PASSWORD_HASHERS != settings_module.PASSWORD_HASHERS


class TestEnvParsers:
    def test_env_bool(self, monkeypatch):
        for raw, expected in [("1", True), ("Yes", True), (" on ", True), ("off", False)]:
            monkeypatch.setenv("X_FLAG", raw)
            assert settings_module.env_bool("X_FLAG") is expected
        monkeypatch.setenv("X_FLAG", "")
        assert settings_module.env_bool("X_FLAG", True) is True
        monkeypatch.setenv("X_FLAG", "nope")
        with pytest.raises(ImproperlyConfigured, match="X_FLAG must be a boolean"):
            settings_module.env_bool("X_FLAG")

    def test_env_int(self, monkeypatch):
        monkeypatch.delenv("X_NUM", raising=False)
        assert settings_module.env_int("X_NUM", 7) == 7
        monkeypatch.setenv("X_NUM", "42")
        assert settings_module.env_int("X_NUM", 7) == 42
        monkeypatch.setenv("X_NUM", "4.2")
        with pytest.raises(ImproperlyConfigured, match="X_NUM must be an integer"):
            settings_module.env_int("X_NUM", 7)

    def test_env_list_trims_and_drops_empty_items(self, monkeypatch):
        monkeypatch.setenv("X_LIST", " a.example , ,b.example,")
        assert settings_module.env_list("X_LIST") == ["a.example", "b.example"]
        monkeypatch.delenv("X_LIST")
        assert settings_module.env_list("X_LIST", "x") == ["x"]


# --- .env.example ------------------------------------------------------------


def _variables_read_by_settings() -> set[str]:
    source = (BASE_DIR / "storefront" / "settings.py").read_text()
    pattern = r'(?:env_(?:str|bool|int|list)|os\.environ\.get)\(\s*"([A-Z][A-Z0-9_]*)"'
    return set(re.findall(pattern, source))


def test_every_environment_variable_the_settings_read_is_documented_in_env_example():
    # given the variables settings.py reads and those .env.example lists
    read = _variables_read_by_settings()
    documented = set(
        re.findall(r"^([A-Z][A-Z0-9_]*)=", (BASE_DIR / ".env.example").read_text(), re.M)
    )

    # then none is missing from the documentation
    assert len(read) > 30  # the pattern above still finds them
    assert read - documented == set()
