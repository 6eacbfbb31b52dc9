"""Helpers for live-mode CLI tests: a fake engine seeded with runs and dead letters, and the
tandemctl runner pointed at it (real HTTP on 127.0.0.1)."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import Result
from tests.remote import engine_rows as rows
from tests.remote.fake_engine import FakeEngine

TOKEN = "tk_live_secret_0123456789abcdef"
RESUME_PLAN = "/stateful-runtime/runs/{run_id}/resume-plan"
RELIABILITY = "/stateful-runtime/reliability"
TENANT_HEADERS = ("x-tandem-org-id", "x-tenant-org-id", "x-tandem-workspace-id", "x-tenant-workspace-id",
                  "x-tandem-actor-id", "x-user-id")


@dataclass
class Live:
    engine: FakeEngine
    run: Callable[..., Result]

    def cli(self, *args: str, env: dict[str, str] | None = None, token: str | None = TOKEN,
            input: str | None = None) -> Result:
        """`tandemctl --live --engine-url URL ARGS`, the token in TANDEM_API_TOKEN (unless None)."""
        full_env = {"TANDEM_API_TOKEN": token} if token is not None else {}
        full_env.update(env or {})
        return self.run("--live", "--engine-url", self.engine.url, *args, env=full_env, input=input)

    def posts(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.engine.requests_to("POST", RESUME_PLAN)]


def seed(engine: FakeEngine, dead_letters: list[dict[str, Any]] | None = None) -> None:
    engine.write_runs([rows.run("run-a"), rows.run("run-b")])
    engine.write_store(dead_letters=dead_letters if dead_letters is not None else [
        rows.dead_letter("dead-open", created=1000),
        rows.dead_letter("dead-ignored", status="ignored", created=1100, run_id="run-b"),
        rows.dead_letter("dead-retry", status="retry_requested", created=1200),
    ])


def all_text_under(root: Path) -> list[tuple[Path, bytes]]:
    return [(path, path.read_bytes()) for path in root.rglob("*") if path.is_file()]
