"""`manage.py serve`: what `make run` runs.

Migrates, collects static files, loads demo data on first start, then serves
the ASGI application with granian (storefront/core/server.py). In full mode
(DATABASE_URL and REDIS_URL set) it also starts a Celery worker and Celery
beat. One Ctrl-C or SIGTERM
stops every process it started; if one of them dies, the others are stopped
too and the command exits non-zero.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand

from storefront.core.server import web_command

STOP_TIMEOUT = 15  # seconds a child gets to shut down before SIGKILL


class Command(BaseCommand):
    help = "Serve the API (and, in full mode, Celery worker and beat) until Ctrl-C."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("WEB_CONCURRENCY", "1")),
            help="web worker processes (embedded mode always uses 1: SQLite, locmem).",
        )
        parser.add_argument(
            "--demo-products",
            type=int,
            default=int(os.environ.get("DEMO_PRODUCTS", "200")),
            help="Products in the first-start demo catalog.",
        )
        parser.add_argument("--no-demo", action="store_true", help="Load no demo data.")

    def handle(self, *args, **options) -> None:
        self._stopping = False
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        accounts = [] if options["no_demo"] else self._demo_data(options["demo_products"])

        host, port = options["host"], options["port"]
        workers = 1 if settings.EMBEDDED else max(1, options["workers"])
        python = sys.executable
        commands = {
            "web": web_command(host=host, port=port, workers=workers, python=python),
        }
        if not settings.EMBEDDED and not settings.CELERY_TASK_ALWAYS_EAGER:
            beat_schedule = Path(settings.VAR_DIR) / "celerybeat-schedule"
            beat_schedule.parent.mkdir(parents=True, exist_ok=True)
            commands["worker"] = [
                python, "-m", "celery", "-A", "storefront", "worker",
                "--loglevel", "INFO", "--concurrency", os.environ.get("CELERY_CONCURRENCY", "2"),
            ]  # fmt: skip
            commands["beat"] = [
                python, "-m", "celery", "-A", "storefront", "beat",
                "--loglevel", "INFO", "--schedule", str(beat_schedule),
            ]  # fmt: skip

        self._banner(host, port, accounts, list(commands))
        processes = {
            # Own sessions: Ctrl-C reaches only us, and we stop the children in order.
            name: subprocess.Popen(cmd, start_new_session=True)  # noqa: S603
            for name, cmd in commands.items()
        }
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._request_stop)

        exit_code = 0
        while not self._stopping:
            for name, proc in processes.items():
                if proc.poll() is not None:
                    self.stderr.write(f"{name} exited with code {proc.returncode}; stopping.")
                    exit_code = proc.returncode or 1
                    self._stopping = True
                    break
            time.sleep(0.2)

        self.stdout.write("Stopping...")
        for proc in processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for proc in processes.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.stdout.write("Stopped.")
        if exit_code:
            sys.exit(exit_code)

    def _request_stop(self, signum, frame) -> None:
        self._stopping = True

    def _demo_data(self, products: int) -> list[dict[str, str]]:
        from storefront.accounts.demo import demo_accounts_ensure

        accounts = demo_accounts_ensure(
            credentials_file=Path(settings.VAR_DIR) / "demo_accounts.json"
        )
        if "seed_demo" in get_commands():
            call_command("seed_demo", products=products, if_empty=True, verbosity=0)
        return accounts

    def _banner(self, host: str, port: int, accounts, processes: list[str]) -> None:
        base = f"http://{host}:{port}"
        mode = "embedded (SQLite, in-process tasks)" if settings.EMBEDDED else "full"
        lines = [
            "",
            f"storefront is starting in {mode} mode: {', '.join(processes)}",
            f"  API root   {base}/api/v1/",
            f"  API docs   {base}/api/docs/   (ReDoc: {base}/api/redoc/)",
            f"  admin      {base}/admin/",
            f"  health     {base}/healthz  {base}/readyz",
        ]
        if accounts:
            lines.append("  demo accounts (e-mail / password / role):")
            lines += [f"    {a['email']}  {a['password']}  {a['role']}" for a in accounts]
        lines += ["Press Ctrl-C to stop.", ""]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
