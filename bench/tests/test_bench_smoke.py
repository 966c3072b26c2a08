"""`make bench` on a tiny catalog: every endpoint answers, no errors, valid results.

CI never judges a timing here: the durations are a fraction of a second. It
uses its own databases (storefront_bench_ci_*, dropped after) and Redis db 5
of the test server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_bench_harness_runs_every_endpoint_without_errors(tmp_path):
    redis = urllib.parse.urlsplit(settings.REDIS_URL)
    database = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    environ = {
        **os.environ,
        "BENCH_DATABASE_URL": urllib.parse.urlunsplit(database._replace(path="/")),
        "BENCH_REDIS_URL": urllib.parse.urlunsplit(redis._replace(path="/5")),
        "BENCH_DB_NAME": f"storefront_bench_ci_{os.getpid()}",
    }
    for name in ("DJANGO_SETTINGS_MODULE", "BENCH_COUNT_QUERIES"):
        environ.pop(name, None)
    out = subprocess.run(
        [
            *(sys.executable, "-m", "bench.run", "--products", "300", "--small-products", "60"),
            *("--duration", "0.3", "--warmup", "0.1", "--concurrency", "2"),
            *("--out", str(tmp_path), "--serialization-pages", "2"),
        ],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    results = json.loads((tmp_path / "latest.json").read_text())

    app = results["measures"]["app"]
    expected = {
        "list_page1",
        "list_page1_cached",
        "list_deep",
        "feed_deep",
        "detail",
        "detail_cached",
        "search_common",
        "search_selective",
        "category_subtree",
        "v2_list",
        "order_create",
        "search_selective_1client",
        "order_create_1client",
    }
    assert set(app) == expected
    for target, measures in results["measures"].items():
        for name, measure in measures.items():
            assert measure["requests"] > 0, (target, name)
            assert measure["errors"] == 0, (target, name, measure)
            assert set(measure["statuses"]) <= {"200", "201"}, (target, name, measure)
    assert set(results["measures"]["limit"]) == expected - {
        "list_page1_cached",
        "detail_cached",
        "order_create",
        "search_selective_1client",
        "order_create_1client",
    }
    # Counted by the server, equal at both sizes; a cache hit runs no SQL.
    counts = results["sql_queries"]
    assert counts["identical"], counts
    assert counts["large"]["list_page1_cached"] == counts["large"]["detail_cached"] == 0
    assert all(n > 0 for name, n in counts["large"].items() if not name.endswith("_cached"))
    # The limit answers with the app's JSON (the feed's cursor links aside).
    same = results["same_json"]["limit"]
    assert all(same[name] is True for name in same if name != "feed_deep"), same
    assert not results["orders_check"]["oversold"]
    assert results["orders_check"]["scarce_sold"] == results["fixtures"]["scarce_stock"]
    assert "list_page1" in results["explain"]
    # The three serialisation strategies made the same bytes (else it exits 1).
    assert set(results["serialization"]["ms_per_page"]) == {"drf_generic", "written_out", "values"}
    assert "| target |" in (tmp_path / "latest.md").read_text()
