"""The per-invocation context built from flags, env and config: paths, tenant, clock."""

import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from tandemctl.commands.config import load_file_settings, login_user, parse_tenant
from tandemctl.commands.durations import parse_duration_ms
from tandemctl.commands.filters import parse_source_type, parse_statuses
from tandemctl.commands.options import RootOptions as RootOptions
from tandemctl.commands.options import SelectorOptions as SelectorOptions
from tandemctl.constants import (
    DEFAULT_LIMIT,
    DEFAULT_TENANT,
    ENV_ENGINE_URL,
    ENV_MODE,
    ENV_NOW_MS,
    ENV_TENANT,
    OutputFormat,
)
from tandemctl.engine.dispositions import tenant_label
from tandemctl.engine.query import DeadLetterQuery
from tandemctl.engine.stale import succeeded_effects
from tandemctl.errors import UsageError
from tandemctl.stores.base import Store, StoreSelection
from tandemctl.stores.open import open_store
from tandemctl.stores.paths import StatePaths, resolve_state_paths

DEFAULT_LOCK_TIMEOUT = 10.0


@dataclass(frozen=True)
class Invocation:
    paths: StatePaths
    tenant: dict[str, str] | None
    tenant_explicit: bool
    output: OutputFormat
    actor: str
    now_ms: int
    verbose: int
    quiet: bool
    lock_timeout: float
    engine_url: str | None
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(repr=False)
    selection: StoreSelection = field(default_factory=StoreSelection)
    options: RootOptions = field(default_factory=RootOptions)  # as given, for `config show` and `doctor`

    notify: Callable[[str], None] | None = field(default=None, repr=False, compare=False)

    def store(self) -> Store:
        """The store this invocation reads and writes (the storage seam), opened once."""
        return self._store

    @cached_property
    def _store(self) -> Store:
        # Detection (and a database connection) happens once per invocation, and so do its notes.
        store = open_store(self.paths, self.env, self.selection)
        if self.notify is not None and not self.quiet:
            for note in store.info.notes:
                self.notify(note)
        return store

    def with_max_rps(self, max_rps: float | None) -> "Invocation":
        """This invocation with a rate limit for the store's writes (before the store is opened)."""
        return replace(self, selection=replace(self.selection, max_rps=max_rps))


def _first_set(*values: float | None) -> float:
    return next(value for value in values if value is not None)


def read_now_ms(env: Mapping[str, str]) -> int:
    """The one clock read of an invocation; TANDEMCTL_NOW_MS pins it."""
    pinned = env.get(ENV_NOW_MS, "").strip()
    if pinned:
        if not pinned.isdigit():
            raise UsageError(f"{ENV_NOW_MS}: expected integer milliseconds, got {pinned!r}")
        return int(pinned)
    return time.time_ns() // 1_000_000


def resolve(options: RootOptions, env: Mapping[str, str] | None = None, *,
            notify: Callable[[str], None] | None = None) -> Invocation:
    env = dict(os.environ) if env is None else env
    settings = load_file_settings(Path(options.config) if options.config else None, env)
    state_dir = options.state_dir if options.state_dir is not None else settings.state_dir
    paths = resolve_state_paths(env, state_dir=state_dir,
                                reliability_file=options.reliability_file or settings.reliability_file,
                                journal_file=settings.journal_file)
    tenant_text, tenant_source = _tenant_text(options, settings.tenant, env)
    if options.all_tenants and options.tenant:
        raise UsageError("--tenant and --all-tenants cannot be used together")
    tenant = None if options.all_tenants else parse_tenant(tenant_text or DEFAULT_TENANT, option=tenant_source)
    live_why = _live_why(options, env, settings.mode)
    # Flags > environment > config: TANDEM_ENGINE_URL (read in remote/endpoint.py) beats config `engine_url`.
    config_url = None if env.get(ENV_ENGINE_URL, "").strip() else settings.engine_url
    engine_url = options.engine_url or config_url
    url_source = "--engine-url" if options.engine_url else "config engine_url" if config_url else ""
    return Invocation(
        paths=paths, tenant=tenant, tenant_explicit=tenant_text is not None and not options.all_tenants,
        output=options.output or settings.output or OutputFormat.TABLE,
        actor=(options.actor or settings.actor or login_user(env)).strip() or "operator",
        now_ms=read_now_ms(env), verbose=options.verbose, quiet=options.quiet,
        lock_timeout=_first_set(options.lock_timeout, settings.lock_timeout, DEFAULT_LOCK_TIMEOUT),
        engine_url=engine_url, argv=options.argv, env=env,
        selection=StoreSelection(
            storage_backend=options.storage_backend, postgres_url=options.postgres_url,
            live=bool(live_why), live_why=live_why,
            engine_url=engine_url, api_token_file=options.api_token_file, engine_url_source=url_source,
        ),
        options=options,
        notify=notify,
    )


def _live_why(options: RootOptions, env: Mapping[str, str], config_mode: str | None) -> str:
    """Which setting chose live mode ("" = offline): --live, else TANDEMCTL_MODE, else config `mode`."""
    if options.live:
        return "--live"
    mode = env.get(ENV_MODE, "").strip().lower()
    if mode not in ("", "live", "offline"):
        raise UsageError(f"{ENV_MODE}={mode!r}: expected live or offline")
    if mode:
        return f"{ENV_MODE}=live" if mode == "live" else ""
    return 'config mode = "live"' if config_mode == "live" else ""


def _tenant_text(options: RootOptions, configured: str | None, env: Mapping[str, str]) -> tuple[str | None, str]:
    """The tenant and where it came from (flag > environment > config), so a bad value blames its source."""
    if options.tenant:
        return options.tenant, "--tenant"
    if env.get(ENV_TENANT, "").strip():
        return env[ENV_TENANT], ENV_TENANT
    return configured, "--tenant"  # a bad config value was already reported naming the file


def build_query(inv: Invocation, sel: SelectorOptions, *, after_id: str | None = None,
                before_created_at_ms: int | None = None, limit: int = DEFAULT_LIMIT) -> DeadLetterQuery:
    after = inv.now_ms - parse_duration_ms(sel.since, option="--since") if sel.since else None
    before = inv.now_ms - parse_duration_ms(sel.older_than, option="--older-than") if sel.older_than else None
    pattern = None
    if sel.reason_match is not None:
        try:
            pattern = re.compile(sel.reason_match)
        except re.error as exc:
            raise UsageError(f"--reason-match: invalid regular expression: {exc}") from None
    if limit < 0:
        raise UsageError("--limit: must be 0 (all) or a positive number")
    # --stale needs the tool effects: read through the seam, the rule is the engine mirror's.
    stale = succeeded_effects(inv.store().load_collection("tool_effects")) if sel.stale else None
    return DeadLetterQuery(
        tenant=inv.tenant, statuses=parse_statuses(sel.statuses), run_id=sel.run_id,
        source_type=parse_source_type(sel.source_type),
        active_only=sel.active_only, created_after_ms=after, created_before_ms=before,
        reason_pattern=pattern, after_id=after_id, before_created_at_ms=before_created_at_ms, limit=limit,
        stale_effects=stale,
    )


def describe_paths(inv: Invocation) -> list[str]:
    p = inv.paths
    lines: list[Any] = [
        f"data dir: {p.data_dir} (from {p.source})",
        f"reliability store: {p.reliability_file}",
        f"runs file: {p.runs_file}",
        f"journal: {p.journal_file}",
        f"tenant: {'all tenants' if inv.tenant is None else tenant_label(inv.tenant)}",
    ]
    info = inv.store().info
    lines.append(f"store: {info.kind} {info.location} ({info.why})")
    return [str(line) for line in lines]
