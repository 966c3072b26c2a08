"""Liveness (/healthz) and readiness (/readyz) probes.

Liveness says the process answers; readiness says its dependencies do:
database, cache and broker. A failing dependency makes /readyz answer 503 and
name it, so a load balancer stops sending traffic and an operator knows why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from storefront.core.exceptions import problem
from storefront.core.serializers import ProblemSerializer

logger = logging.getLogger("storefront.health")

OK = "ok"
SKIPPED = "skipped"


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return OK


def check_cache() -> str:
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.startswith("django_redis"):
        # The raw client: the cache itself ignores Redis errors by design.
        from django_redis import get_redis_connection

        get_redis_connection("default").ping()
        return OK
    cache.set("readyz", "1", 5)
    if cache.get("readyz") != "1":
        raise RuntimeError("cache did not return what was stored")
    return OK


def check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER or settings.CELERY_BROKER_URL.startswith("memory"):
        return SKIPPED  # embedded mode: tasks run in-process, there is no broker
    from storefront.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.HEALTH_CHECK_TIMEOUT)
    return OK


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
}


def run_checks() -> dict[str, str]:
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:
            logger.warning("readiness check %s failed: %r", name, exc)
            results[name] = f"unavailable ({type(exc).__name__})"
    return results


_Status = inline_serializer(
    "HealthStatus",
    fields={
        "status": serializers.CharField(),
        "checks": serializers.DictField(child=serializers.CharField(), required=False),
    },
)


class _ProbeView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes: list = []
    versioning_class = None


class LivenessView(_ProbeView):
    @extend_schema(
        summary="Liveness probe",
        description="200 while the process can answer. Checks nothing else.",
        responses={200: _Status},
        tags=["health"],
    )
    def get(self, request):
        return Response({"status": OK})


class ReadinessView(_ProbeView):
    @extend_schema(
        summary="Readiness probe",
        description=(
            "Checks the database, the cache and the broker. 200 when all answer; "
            "503 naming the failed dependency otherwise. `skipped` means the "
            "dependency is not used in this mode (embedded mode has no broker)."
        ),
        responses={
            200: _Status,
            (503, "application/problem+json"): OpenApiResponse(
                ProblemSerializer,
                description="A dependency is down: `checks` names it "
                "(code `dependency_unavailable`).",
            ),
        },
        tags=["health"],
    )
    def get(self, request):
        checks = run_checks()
        failed = [name for name, result in checks.items() if result not in {OK, SKIPPED}]
        if not failed:
            return Response({"status": OK, "checks": checks})
        body = problem(
            status_code=503,
            code="dependency_unavailable",
            detail=f"Unavailable: {', '.join(failed)}.",
            instance=request.path,
            checks=checks,
        )
        response = Response(body, status=503)
        response.is_problem = True
        return response
