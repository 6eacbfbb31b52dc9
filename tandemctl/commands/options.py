"""Global and selector options exactly as given on the command line (no heavy imports)."""

from dataclasses import dataclass

from tandemctl.constants import OutputFormat


@dataclass(frozen=True)
class RootOptions:
    """Global options exactly as given (None = not given); resolved lazily in `resolve`."""

    state_dir: str | None = None
    reliability_file: str | None = None
    tenant: str | None = None
    all_tenants: bool = False
    output: OutputFormat | None = None
    actor: str | None = None
    config: str | None = None
    lock_timeout: float | None = None
    verbose: int = 0
    quiet: bool = False
    storage_backend: str | None = None
    postgres_url: str | None = None
    live: bool = False
    engine_url: str | None = None
    api_token_file: str | None = None
    argv: tuple[str, ...] = ()
    # Where each given global option came from: (name, "flag" | "env"); for `config show` and `doctor`.
    sources: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SelectorOptions:
    """The selector flags shared by `list` and every bulk action."""

    statuses: tuple[str, ...] = ()
    run_id: str | None = None
    source_type: str | None = None
    active_only: bool = False
    since: str | None = None
    older_than: str | None = None
    reason_match: str | None = None
    stale: bool = False  # untouched open rows whose source effect succeeded (spec 03 §1.3 B4)
