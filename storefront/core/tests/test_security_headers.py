"""Security headers, the Content-Security-Policy, CORS and `check --deploy`.

* Every response (JSON, problem, HTML, health) carries nosniff, a referrer
  policy, X-Frame-Options and the CSP.
* The CSP allows scripts from this server only (no inline script): Swagger UI
  and ReDoc comply, since their assets come from drf-spectacular-sidecar and
  Swagger UI's start-up script is its own request.
* CORS: no origin is allowed unless CORS_ALLOWED_ORIGINS names it.
* `manage.py check --deploy` is clean under production settings.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

PAGES = [
    "/healthz",
    "/api/",
    "/api/v1/",
    "/api/v1/products/",
    "/api/v1/orders/",  # 401 problem
    "/api/v1/nowhere/",  # 404 problem from Django's handler
    "/api/schema/",
    "/api/docs/",
    "/api/docs/?script=",
    "/api/redoc/",
    "/admin/login/",
]


def _csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize("url", PAGES)
def test_every_response_carries_the_security_headers(url):
    response = Client().get(url)

    assert response.status_code < 500, response.status_code
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    csp = _csp(response)
    assert csp["script-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]


@pytest.mark.parametrize(
    "url", ["/api/docs/", "/api/redoc/", "/admin/login/", "/api/v1/?format=api"]
)
def test_html_pages_have_no_inline_script_the_policy_would_block(url, settings):
    settings.WHITENOISE_USE_FINDERS = True
    client = Client()
    html = client.get(url, HTTP_ACCEPT="text/html").content.decode()

    for tag in re.findall(r"<script\b[^>]*>", html):
        if 'type="application/json"' in tag:  # data, never executed
            continue
        src = re.search(r'src="([^"]+)"', tag)
        assert src, f"{url} has an inline script: {tag}"
        assert src.group(1).startswith("/"), f"{url} loads a script from elsewhere: {tag}"
        assert client.get(src.group(1)).status_code == 200, src.group(1)
    assert " on" not in re.sub(r"<script\b.*?</script>", "", html, flags=re.S).split(">")[0]


def test_swagger_start_up_script_is_javascript_from_this_server():
    response = Client().get("/api/docs/?script=")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()


def test_hsts_is_sent_on_https_when_https_only(settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = Client().get("/healthz", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in Client().get("/healthz")  # never on plain HTTP


# --- CORS ---------------------------------------------------------------------


def _preflight(origin: str):
    return Client().options(
        "/api/v1/orders/",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key",
    )


def test_no_origin_is_allowed_by_default():
    assert settings.CORS_ALLOWED_ORIGINS == [] or os.environ.get("CORS_ALLOWED_ORIGINS")
    response = Client().get("/api/v1/products/", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Origin" not in _preflight("https://evil.example")


def test_an_allowed_origin_may_call_the_api(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://shop.example.com"]

    preflight = _preflight("https://shop.example.com")
    simple = Client().get("/api/v1/products/", HTTP_ORIGIN="https://shop.example.com")
    other = Client().get("/api/v1/products/", HTTP_ORIGIN="https://evil.example")

    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == "https://shop.example.com"
    allowed = preflight["Access-Control-Allow-Headers"]
    for header in ("authorization", "content-type", "idempotency-key"):
        assert header in allowed
    assert "Access-Control-Allow-Credentials" not in preflight
    assert simple["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "x-request-id" in simple["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in other


def test_cors_is_limited_to_the_api(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://shop.example.com"]
    response = Client().get("/admin/login/", HTTP_ORIGIN="https://shop.example.com")
    assert "Access-Control-Allow-Origin" not in response


# --- check --deploy -----------------------------------------------------------


def _check_deploy(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "HTTPS_ONLY"}}
    clean.update(
        DJANGO_SETTINGS_MODULE="storefront.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="api.example.com",
        DATABASE_URL=os.environ["DATABASE_URL"],
        REDIS_URL=os.environ["REDIS_URL"],
        **env,
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=clean,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_deploy_is_clean_under_production_settings():
    result = _check_deploy(HTTPS_ONLY="true")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_flags_a_deployment_without_https():
    result = _check_deploy(HTTPS_ONLY="false")
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout  # no HSTS
